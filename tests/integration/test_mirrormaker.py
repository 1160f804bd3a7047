"""MirrorMaker 2 through the gateway (issue 11): a topic and a consumer group's offsets replicated
from one cluster to another, first with the gateway (SASL/SCRAM, ACL policy) in front of the source,
then in front of the target; MirrorMaker of the newest release (4.3.1, KG_MM2_RELEASE) against the
bed's older brokers.

The source is the test bed (3 brokers); the target a one-node KRaft cluster of the same release,
started here in its own JVM. MirrorMaker 2 runs in dedicated mode (connect-mirror from Maven
Central), so its admin client, consumers, producers, offset syncs, checkpoints
and Connect's internal topics all pass the gateway on the side it stands on. Runs on the 3.6.2
ZooKeeper bed only (the legacy clusters MirrorMaker backs up; KG_MM2_BED names another), to keep
CI within its time."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import acl_util as au
from acl_util import allow, role
import kg

USER = "carol"


def _policy(path: Path) -> Path:
    return au.write_policy(path, [role("mirror", [f"User:{USER}"], [
        allow("topic", ["ALL"], name="*"), allow("group", ["ALL"], name="*"),
        allow("cluster", ["ALL"]), allow("transactional_id", ["ALL"], name="*")])])


class MiniCluster:
    """One broker+controller node (KRaft) of `release`, on its own ports."""

    def __init__(self, release: str, root: Path):
        self.release, self.root = release, root
        self.port = kg.free_port_block(2)      # broker, then controller
        self.cport = self.port + 1
        self.proc = None

    @property
    def bootstrap(self) -> str:
        return f"{kg.HOST}:{self.port}"

    def _java(self, libs: str, major: int, *args, out):
        cfg = kg.REPO / "tests" / "kafka" / "config"
        log = (f"-Dlog4j2.configurationFile={cfg}/log4j2-broker.properties" if major >= 4
               else f"-Dlog4j.configuration=file:{cfg}/log4j-broker.properties")
        return subprocess.Popen(["java", "-Xms128m", "-Xmx384m", "-XX:+UseSerialGC",
                                 "-XX:TieredStopAtLevel=1", f"-Dkafka.logs.dir={self.root}", log,
                                 "-cp", libs, *args], stdout=out, stderr=subprocess.STDOUT)

    def start(self, libs: str, major: int):
        self.root.mkdir(parents=True, exist_ok=True)
        props = self.root / "server.properties"
        props.write_text("\n".join([
            "process.roles=broker,controller", "node.id=1",
            f"controller.quorum.voters=1@{kg.HOST}:{self.cport}",
            f"listeners=PLAINTEXT://{kg.HOST}:{self.port},CONTROLLER://{kg.HOST}:{self.cport}",
            f"advertised.listeners=PLAINTEXT://{kg.HOST}:{self.port}",
            "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={self.root}/data", "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0", "num.partitions=1", ""]))
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        with open(self.root / "format.out", "wb") as out:
            assert self._java(libs, major, "kafka.tools.StorageTool", "format", "-t", cid, "-c",
                              str(props), out=out).wait(120) == 0, (self.root / "format.out").read_text()
        self.out = open(self.root / "node.out", "wb")
        self.proc = self._java(libs, major, "kafka.Kafka", str(props), out=self.out)
        deadline = time.monotonic() + 120
        from confluent_kafka.admin import AdminClient
        while True:
            assert self.proc.poll() is None, (self.root / "node.out").read_text()[-3000:]
            try:
                if AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=2).brokers:
                    return
            except Exception:   # noqa: BLE001 - not up yet
                pass
            assert time.monotonic() < deadline, "the target cluster did not start in 120 s"
            time.sleep(1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc:
            self.out.close()


@pytest.fixture(scope="module")
def mirror_env(kafka, gateway_factory, tmp_path_factory):
    if kafka.version != os.environ.get("KG_MM2_BED", "3.6.2-zk"):
        pytest.skip("MirrorMaker 2 runs on the 3.6.2 ZooKeeper bed (CI time)")
    if gateway_factory.binary is None:
        pytest.skip("KG_DIRECT=1: the gateway is what is tested here")
    # the newest MirrorMaker in front of the bed's (older) brokers: the pair users run when they
    # upgrade their replication before their clusters
    mm_release = os.environ.get("KG_MM2_RELEASE", "4.3.1")
    libs = kg.run([str(kg.BED), "mirror-libs", mm_release], timeout=600).stdout.decode().strip().splitlines()[-1]
    kafka.bed("fetch", timeout=600)
    cache = Path(os.environ.get("KG_CACHE", Path.home() / ".cache" / "kafka-gateway"))
    broker_libs = f"{cache}/kafka-{kafka.release}/libs/*"
    tmp = tmp_path_factory.mktemp("mm2")
    target = MiniCluster(kafka.release, tmp / "target")
    target.start(broker_libs, kafka.major)
    policy = _policy(tmp / "policy.json")
    yield {"libs": libs, "mm_release": mm_release, "mm_major": int(mm_release.split(".")[0]),
           "target": target, "tmp": tmp, "policy": policy}
    target.stop()


def _client_props(prefix: str, bootstrap: str, sasl: bool) -> list:
    lines = [f"{prefix}.bootstrap.servers = {bootstrap}"]
    if sasl:
        lines += [f"{prefix}.security.protocol = SASL_PLAINTEXT", f"{prefix}.sasl.mechanism = SCRAM-SHA-512",
                  f"{prefix}.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule "
                  f'required username="{USER}" password="{au.PASSWORDS[USER]}";']
    return lines


def _conf(bootstrap: str, sasl: bool) -> dict:
    c = {"bootstrap.servers": bootstrap}
    if sasl:
        c.update({"security.protocol": "sasl_plaintext", "sasl.mechanisms": "SCRAM-SHA-512",
                  "sasl.username": USER, "sasl.password": au.PASSWORDS[USER]})
    return c


def _committed(conf: dict, group: str, topic: str, partitions: int) -> dict:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient
    a = AdminClient(conf)
    req = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])]
    try:
        res = a.list_consumer_group_offsets(req)[group].result(20)
    except Exception:   # noqa: BLE001 - the group is not there (yet)
        return {}
    return {tp.partition: tp.offset for tp in res.topic_partitions if tp.offset >= 0}


@pytest.mark.parametrize("gateway_in_front_of", ["source", "target"])
def test_mirrormaker2_replicates_records_and_offsets(mirror_env, gateway_factory, gateway_in_front_of):
    env = mirror_env
    target, tmp = env["target"], env["tmp"]
    run = uuid.uuid4().hex[:6]
    topic, group = f"mm2.{run}.orders", f"mm2.{run}.billing"
    users = au.make_users_file(gateway_factory.binary, tmp / f"users-{run}.json")
    auth = {"listen": {"auth": {"mode": "sasl", "mechanisms": ["SCRAM-SHA-512"],
                                "users_file": str(users), "max_failures": 0}},
            "acl": {"policy_file": str(env["policy"])}}
    if gateway_in_front_of == "source":
        gw = gateway_factory.start(f"gw-mm2-src-{run}", merge=auth)
        src, dst = (gw.bootstrap, True), (target.bootstrap, False)
    else:
        gw = gateway_factory.start(f"gw-mm2-dst-{run}", merge=kg.deep_merge(
            auth, {"upstream": {"bootstrap_servers": [target.bootstrap]}}))
        src, dst = (kg.DIRECT_BOOTSTRAP, False), (gw.bootstrap, True)
    au.wait_sasl_ready(gw.bootstrap_host, gw.bootstrap_port, gw)
    # the source: 200 keyed records in 3 partitions, 120 of them consumed and committed by a group
    kg.create_topic(src[0], topic, 3, 3, conf=_conf(*src))
    recs = [(f"k{i}".encode(), os.urandom(16) + f"-v{i}".encode()) for i in range(200)]
    kg.produce(src[0], topic, recs, conf=_conf(*src))
    from confluent_kafka import Consumer
    c = Consumer({**_conf(*src), "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 60
    while got < 120 and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is not None and not m.error():
            got += 1
    c.commit(asynchronous=False)
    c.close()
    assert got == 120
    src_offsets = _committed(_conf(*src), group, topic, 3)
    assert sum(src_offsets.values()) == 120, src_offsets
    # MirrorMaker 2, dedicated mode
    props = tmp / f"mm2-{run}.properties"
    props.write_text("\n".join([
        "clusters = src, dst", *_client_props("src", *src), *_client_props("dst", *dst),
        "src->dst.enabled = true", "dst->src.enabled = false",
        f"src->dst.topics = mm2\\.{run}\\..*", f"src->dst.groups = mm2\\.{run}\\..*",
        "replication.factor = 1", "checkpoints.topic.replication.factor = 1",
        "heartbeats.topic.replication.factor = 1",
        "offset.storage.replication.factor = 1", "config.storage.replication.factor = 1",
        "status.storage.replication.factor = 1",
        "sync.group.offsets.enabled = true", "sync.group.offsets.interval.seconds = 1",
        "emit.checkpoints.interval.seconds = 1", "emit.heartbeats.interval.seconds = 1",
        "refresh.topics.interval.seconds = 2", "refresh.groups.interval.seconds = 2",
        # the default: a sync for each partition's first record, then every 100 records (a
        # sync for every record makes MirrorMaker's own sync store drop the low ones, and a
        # committed offset below every sync kept is not translated at all)
        "offset.lag.max = 100", ""]))
    cfg = kg.REPO / "tests" / "kafka" / "config"
    log = (f"-Dlog4j2.configurationFile={cfg}/log4j2-tools.properties" if env["mm_major"] >= 4
           else f"-Dlog4j.configuration=file:{cfg}/log4j-tools.properties")
    mm_out = open(tmp / f"mm2-{run}.out", "wb")
    mm = subprocess.Popen(["java", "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                           log, "-cp", env["libs"], "org.apache.kafka.connect.mirror.MirrorMaker",
                           str(props), "--clusters", "dst"],
                          stdout=mm_out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # the records arrive as src.<topic>, byte-exact
        remote = f"src.{topic}"
        out = []
        deadline = time.monotonic() + 180
        while len(out) < len(recs):
            assert mm.poll() is None, (tmp / f"mm2-{run}.out").read_text()[-4000:]
            assert time.monotonic() < deadline, \
                f"{len(out)} of {len(recs)} records replicated in 180 s\n" + \
                (tmp / f"mm2-{run}.out").read_text()[-4000:]
            try:
                out, _ = kg.consume(dst[0], remote, f"mm2-check-{run}", len(recs), conf=_conf(*dst),
                                    timeout=20, commit=False)
            except AssertionError:
                time.sleep(2)
        assert sorted((k, v) for _p, _o, k, v in out) == sorted(recs)
        # the group's offsets arrive translated for every partition it committed: past 0 and
        # never past where the group stood (MirrorMaker translates to the nearest offset sync at
        # or below, so a consumer that fails over re-reads rather than skips)
        deadline = time.monotonic() + 120
        want = {p for p, o in src_offsets.items() if o > 0}
        while True:
            dst_offsets = _committed(_conf(*dst), group, remote, 3)
            if {p for p, o in dst_offsets.items() if o > 0} >= want or time.monotonic() > deadline:
                break
            time.sleep(2)
        print(f"\nmm2 {env['mm_release']} ({gateway_in_front_of} behind the gateway): {len(out)} records, group offsets "
              f"source {src_offsets}, target {dst_offsets}")
        assert {p for p, o in dst_offsets.items() if o > 0} >= want, (src_offsets, dst_offsets)
        assert all(dst_offsets[p] <= src_offsets.get(p, 0) for p in dst_offsets), (src_offsets, dst_offsets)
        # MirrorMaker really went through the gateway on its side
        assert "authenticated as User:carol" in gw.log_path.read_text(), gw.log_tail(30)
    finally:
        os.killpg(mm.pid, signal.SIGTERM)
        try:
            mm.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(mm.pid, signal.SIGKILL)
        mm_out.close()
