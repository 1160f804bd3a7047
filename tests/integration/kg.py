"""Helpers for the kafka-gateway integration tests: the Kafka test bed, the gateway
process, Java tools, kcat, confluent-kafka clients and the raw Kafka wire protocol."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BED = REPO / "tests" / "kafka" / "kafka-bed.sh"
HOST = "127.0.0.1"
BROKER_DIRECT = {1: (HOST, 29092), 2: (HOST, 29093), 3: (HOST, 29094)}
DIRECT_BOOTSTRAP = ",".join(f"{h}:{p}" for h, p in BROKER_DIRECT.values())
DIRECT_PORTS = {p for _, p in BROKER_DIRECT.values()} | {29192, 29193, 29194}
# Any of the real broker/controller ports in a text ("127.0.0.1:29093", "localhost:29192", ...).
DIRECT_ADDR_RE = re.compile(r"[:\s](2909[2-4]|2919[2-4])\b")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def tail(path: Path, n: int = 60) -> str:
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(lines[-n:])


def run(cmd, *, input=None, timeout=120, check=True, env=None, cwd=None) -> subprocess.CompletedProcess:
    """Run a command; on failure raise AssertionError with its full output."""
    try:
        cp = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"")[-4000:].decode(errors="replace")
        err = (e.stderr or b"")[-4000:].decode(errors="replace")
        raise AssertionError(f"command timed out after {timeout}s: {cmd!r}\nstdout:\n{out}\nstderr:\n{err}")
    if check and cp.returncode != 0:
        raise AssertionError(
            f"command failed (rc={cp.returncode}): {cmd!r}\n"
            f"stdout:\n{cp.stdout[-4000:].decode(errors='replace')}\n"
            f"stderr:\n{cp.stderr[-4000:].decode(errors='replace')}")
    return cp


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _bindable(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port_block(count: int) -> int:
    """A base port such that base..base+count-1 are all free. Chosen outside the Linux
    ephemeral range (32768-60999) and away from the test bed's 29xxx ports."""
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(20000, 28800 - count)
        if all(_bindable(base + i) for i in range(count)):
            return base
    raise AssertionError(f"no block of {count} free loopback ports found")


# ---------------------------------------------------------------------------------------------
# Kafka test bed

@dataclass
class Kafka:
    version: str        # the test bed: "3.6.2", "4.3.1", or "3.6.2-zk" (brokers with ZooKeeper)

    @property
    def release(self) -> str:
        """The Kafka release the bed runs ("3.6.2" for "3.6.2-zk")."""
        return self.version.removesuffix("-zk")

    @property
    def zookeeper(self) -> bool:
        return self.version.endswith("-zk")

    @property
    def major(self) -> int:
        return int(self.release.split(".")[0])

    def bed(self, *args, timeout=240, check=True) -> subprocess.CompletedProcess:
        return run([str(BED), args[0], self.version, *args[1:]], timeout=timeout, check=check)

    def tool(self, name, *args, input=None, timeout=180, check=True) -> subprocess.CompletedProcess:
        return run([str(BED), "tool", self.version, name, *map(str, args)], input=input,
                   timeout=timeout, check=check)

    # Option names of the console tools changed in 4.x (old ones print a deprecation
    # warning to stdout there, which would corrupt the consumed data).
    def producer_prop_flag(self):
        return "--command-property" if self.major >= 4 else "--producer-property"

    def reader_prop_flag(self):
        return "--reader-property" if self.major >= 4 else "--property"

    def consumer_prop_flag(self):
        return "--command-property" if self.major >= 4 else "--consumer-property"

    def formatter_prop_flag(self):
        return "--formatter-property" if self.major >= 4 else "--property"

    def ssl_info(self) -> dict:
        """The bed's broker SSL listener: {"bootstrap", "ca", "truststore", "password"}."""
        out = self.bed("ssl", timeout=60).stdout.decode()
        kv = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return {k[len("KG_BED_SSL_"):].lower(): v for k, v in kv.items()}

    # The bed's SASL_PLAINTEXT listener (127.0.0.1:29492-29494) has Kafka's StandardAuthorizer:
    # super users User:admin (and User:ANONYMOUS, i.e. the PLAINTEXT listener the gateway uses).
    def sasl_info(self) -> dict:
        """{"bootstrap": "127.0.0.1:29492,...", "mechanisms": [...], "users": {name: password}}."""
        if "_sasl_info" not in self.__dict__:
            out = self.bed("sasl", timeout=60).stdout.decode()
            kv = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
            self._sasl_info = {"bootstrap": kv["KG_BED_SASL_BOOTSTRAP"],
                               "mechanisms": kv["KG_BED_SASL_MECHANISMS"].split(","),
                               "users": dict(u.split(":", 1) for u in kv["KG_BED_SASL_USERS"].split())}
        return self._sasl_info

    def sasl_conf(self, user: str, mechanism: str = "SCRAM-SHA-512") -> dict:
        """librdkafka settings for `user` on the bed's SASL listener (SCRAM needs
        ensure_scram_users first; PLAIN users are static)."""
        info = self.sasl_info()
        return {"bootstrap.servers": info["bootstrap"], "security.protocol": "sasl_plaintext",
                "sasl.mechanisms": mechanism, "sasl.username": user,
                "sasl.password": info["users"][user]}

    def ensure_scram_users(self, timeout=60):
        """SCRAM-SHA-512 credentials for the SASL listener's users (AlterUserScramCredentials as
        ANONYMOUS on PLAINTEXT, only for users that have none yet); waits until each one can
        log in on every broker (credentials travel through the metadata log)."""
        from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism,
                                           UserScramCredentialUpsertion)
        users = self.sasl_info()["users"]
        a = AdminClient({"bootstrap.servers": DIRECT_BOOTSTRAP})
        have = set()
        for u, f in a.describe_user_scram_credentials(list(users)).items():
            try:
                if any(ci.mechanism == ScramMechanism.SCRAM_SHA_512 for ci in f.result(30).scram_credential_infos):
                    have.add(u)
            except Exception:  # noqa: BLE001 - RESOURCE_NOT_FOUND: no credentials yet
                pass
        ups = [UserScramCredentialUpsertion(u, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096),
                                            pw.encode()) for u, pw in users.items() if u not in have]
        if ups:
            for u, f in a.alter_user_scram_credentials(ups).items():
                f.result(30)
        deadline = time.monotonic() + timeout
        for u, pw in users.items():
            for h, p in BROKER_DIRECT.values():
                while True:
                    err = scram_login_error(h, p + 400, u, pw)
                    if err is None:
                        break
                    if time.monotonic() > deadline:
                        raise AssertionError(f"SCRAM-SHA-512 login of {u} on {h}:{p + 400}: {err}")
                    time.sleep(0.3)

    def acl_admin(self):
        """AdminClient as the super user admin on the SASL listener (for Create/DeleteAcls)."""
        from confluent_kafka.admin import AdminClient
        return AdminClient(self.sasl_conf("admin", "PLAIN"))

    def create_acls(self, bindings, timeout=30):
        """Create confluent_kafka AclBindings (as admin); fails on any error."""
        if not bindings:
            return
        a = self.acl_admin()  # keep the handle alive until the futures are done
        for b, f in a.create_acls(list(bindings), request_timeout=timeout).items():
            f.result(timeout)

    def delete_acls(self, filters, timeout=30) -> list:
        """Delete the ACLs matching confluent_kafka AclBindingFilters; returns those deleted."""
        if not filters:
            return []
        out = []
        a = self.acl_admin()
        for flt, f in a.delete_acls(list(filters), request_timeout=timeout).items():
            out += f.result(timeout)
        return out

    def delete_acls_of(self, principals, timeout=30) -> list:
        """Delete every ACL of these principals ("User:alice", ...)."""
        from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType,
                                           ResourcePatternType, ResourceType)
        return self.delete_acls([AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, p, None,
                                                  AclOperation.ANY, AclPermissionType.ANY)
                                 for p in principals], timeout)

    # A client properties file for the console tools (security settings etc.).
    def producer_config_flag(self):
        return "--command-config" if self.major >= 4 else "--producer.config"

    def consumer_config_flag(self):
        return "--command-config" if self.major >= 4 else "--consumer.config"


# ---------------------------------------------------------------------------------------------
# Gateway process

@dataclass
class Gateway:
    """A running gateway (or, with KG_DIRECT=1, the brokers themselves)."""
    bootstrap_host: str
    bootstrap_port: int
    advertised: dict  # node id -> (host, port)
    config: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    config_path: Path | None = None
    direct: bool = False

    @property
    def bootstrap(self) -> str:
        return f"{self.bootstrap_host}:{self.bootstrap_port}"

    @property
    def addresses(self) -> set:
        """All host:port strings a client may legitimately see."""
        return {f"{h}:{p}" for h, p in self.advertised.values()} | {self.bootstrap}

    def alive(self) -> bool:
        return self.direct or (self.proc is not None and self.proc.poll() is None)

    def log_tail(self, n=80) -> str:
        return tail(self.log_path, n) if self.log_path else "<no gateway log (direct mode)>"

    def assert_alive(self, what=""):
        if self.direct:
            return
        rc = self.proc.poll()
        assert rc is None, (
            f"gateway process died{(' ' + what) if what else ''}: returncode {rc}"
            f"{' (signal ' + signal.Signals(-rc).name + ')' if rc is not None and rc < 0 else ''}\n"
            f"config {self.config_path}\n--- gateway log tail ---\n{self.log_tail()}")

    def stop(self, timeout=15.0) -> int | None:
        """SIGTERM, wait, SIGKILL. Returns the returncode the gateway exited with by itself
        (None if it had to be killed)."""
        if self.direct or self.proc is None:
            return 0
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return None


def gateway_config(bootstrap_port: int, broker_port_base: int, **overrides) -> dict:
    cfg = {
        "workers": 2,
        "log_level": "info",
        "listen": {
            "bind_host": HOST,
            "advertised_host": HOST,
            "bootstrap_port": bootstrap_port,
            "broker_port_base": broker_port_base,
        },
        "upstream": {
            "bootstrap_servers": [f"{h}:{p}" for h, p in BROKER_DIRECT.values()],
            "connect_timeout_ms": 5000,
            "metadata_refresh_ms": 30000,
        },
        "limits": {"max_frame_bytes": 104857600, "idle_timeout_ms": 600000},
        # Authorization is never off: tests that do not test it allow everything on purpose.
        "acl": {"policy_file": str(REPO / "conf" / "policy-allow-all.json")},
    }
    for dotted, value in overrides.items():
        node = cfg
        keys = dotted.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return cfg


def deep_merge(base: dict, extra: dict) -> dict:
    """Merge `extra` into `base` (nested dicts merged, anything else replaced); returns base."""
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        else:
            base[k] = v
    return base


def start_gateway(binary: Path, workdir: Path, name: str = "gw", **overrides) -> Gateway:
    """`a__b=value` overrides set one key; `merge={...}` deep-merges a nested dict
    (e.g. merge={"listen": {"tls": {...}}})."""
    merge = overrides.pop("merge", None)
    base = free_port_block(5)  # bootstrap = base, node N = base + N (N = 1..3), spare
    cfg = gateway_config(base, base, **overrides)
    if merge:
        deep_merge(cfg, merge)
    workdir.mkdir(parents=True, exist_ok=True)
    cfg_path = workdir / f"{name}.json"
    cfg_path.write_text(json.dumps(cfg, indent=2))
    log_path = workdir / f"{name}.log"
    logf = open(log_path, "wb")
    proc = subprocess.Popen([str(binary), "run", "-c", str(cfg_path)], stdout=logf,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    logf.close()
    adv_host = cfg["listen"]["advertised_host"]
    gw = Gateway(HOST, cfg["listen"]["bootstrap_port"],
                 {n: (adv_host, cfg["listen"]["broker_port_base"] + n) for n in (1, 2, 3)},
                 cfg, proc, log_path, cfg_path)
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"gateway exited during startup with returncode {proc.returncode}\n"
                                 f"command: {binary} run -c {cfg_path}\nconfig:\n{cfg_path.read_text()}\n"
                                 f"--- gateway log ---\n{gw.log_tail()}")
        if port_accepts(HOST, gw.bootstrap_port):
            break
        if time.monotonic() > deadline:
            gw.stop()
            raise AssertionError(f"gateway bootstrap port {gw.bootstrap_port} not accepting after 20s\n"
                                 f"--- gateway log ---\n{gw.log_tail()}")
        time.sleep(0.1)
    # The broker ports open once the first metadata refresh has learned the brokers; wait for
    # its log line (either outcome) rather than probing, which would show up in logs and audit.
    while time.monotonic() < deadline and proc.poll() is None:
        text = log_path.read_bytes()
        m = re.search(rb"metadata refresh: (\d+) brokers upstream", text)
        if b"metadata refresh: no upstream" in text or (
                m and text.count(b"for broker node") >= int(m.group(1))):
            break
        time.sleep(0.05)
    return gw


def direct_gateway() -> Gateway:
    return Gateway(HOST, 29092, dict(BROKER_DIRECT), direct=True)


def assert_no_direct_address(text: str, what: str):
    m = DIRECT_ADDR_RE.search(text)
    assert m is None, f"{what} mentions a real broker port {m.group(1)} (must only see the gateway):\n{text[-3000:]}"


# ---------------------------------------------------------------------------------------------
# confluent-kafka helpers

class StatsCollector:
    """Collects the broker connections librdkafka reports in its statistics
    (statistics.interval.ms) and everything it logs, to prove which addresses it used."""

    def __init__(self):
        self.nodenames = set()
        self.logs = []
        self.errors = []
        self.lock = threading.Lock()

    def stats_cb(self, stats_json):
        st = json.loads(stats_json)
        with self.lock:
            for b in st.get("brokers", {}).values():
                if b.get("nodename"):
                    self.nodenames.add(b["nodename"])

    def error_cb(self, err):
        with self.lock:
            self.errors.append(str(err))

    def conf(self) -> dict:
        return {"statistics.interval.ms": 500, "stats_cb": self.stats_cb, "error_cb": self.error_cb}

    def assert_only(self, gw: Gateway, what: str):
        with self.lock:
            names = set(self.nodenames)
            errs = list(self.errors)
        assert names, f"{what}: librdkafka reported no broker connections in its statistics"
        bad = {n for n in names if n not in gw.addresses}
        assert not bad, (f"{what}: librdkafka connected to {sorted(bad)}, which are not gateway "
                         f"addresses {sorted(gw.addresses)}")
        for e in errs:
            assert_no_direct_address(e, f"{what} client error")


def produce(bootstrap: str, topic: str, records, *, conf=None, partition=None, flush_timeout=120):
    """Produce (key, value) pairs; returns the list of delivered messages' (partition, offset, key).
    Fails on any delivery error."""
    from confluent_kafka import Producer
    c = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
         "enable.idempotence": True, "message.timeout.ms": 120000}
    c.update(conf or {})
    p = Producer(c)
    delivered, errors = [], []

    def cb(err, msg):
        if err is not None:
            errors.append(f"{msg.topic()}[{msg.partition()}] key={msg.key()!r}: {err}")
        else:
            delivered.append((msg.partition(), msg.offset(), msg.key()))

    for k, v in records:
        while True:
            try:
                if partition is None:
                    p.produce(topic, key=k, value=v, on_delivery=cb)
                else:
                    p.produce(topic, key=k, value=v, partition=partition, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(flush_timeout)
    assert left == 0, f"{left} messages still undelivered after {flush_timeout}s (errors so far: {errors[:5]})"
    assert not errors, f"{len(errors)} delivery errors, e.g. {errors[:5]}"
    return delivered


def consume(bootstrap: str, topic: str, group: str, count: int, *, conf=None, timeout=90,
            commit=True):
    """Consume exactly `count` messages in a consumer group, commit synchronously, and return
    (messages, committed) where messages are (partition, offset, key, value) and committed is
    {partition: committed offset}. Fails on consumer errors or timeout."""
    from confluent_kafka import Consumer, TopicPartition, KafkaError
    c = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
         "enable.auto.commit": False, "session.timeout.ms": 10000}
    c.update(conf or {})
    cons = Consumer(c)
    out, errs = [], []
    try:
        cons.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            msgs = cons.consume(num_messages=1000, timeout=1.0)
            for m in msgs:
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    errs.append(str(m.error()))
                    continue
                out.append((m.partition(), m.offset(), m.key(), m.value()))
        assert not errs, f"consumer errors: {errs[:5]}"
        assert len(out) >= count, f"consumed only {len(out)} of {count} messages from {topic} in {timeout}s"
        # make sure nothing beyond `count` is there
        extra = cons.consume(num_messages=100, timeout=2.0)
        extra = [m for m in extra if not m.error()]
        assert not extra, f"more messages than expected in {topic}: {len(out) + len(extra)} > {count}"
        committed = {}
        if commit:
            cons.commit(asynchronous=False)
            assignment = cons.assignment()
            for tp in cons.committed(assignment, timeout=20):
                assert tp.error is None, f"committed() error for {tp}: {tp.error}"
                committed[tp.partition] = tp.offset
        return out, committed
    finally:
        cons.close()


def watermarks(bootstrap: str, topic: str, partitions, conf=None) -> dict:
    from confluent_kafka import Consumer, TopicPartition
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "kg-watermarks-unused",
                     "enable.auto.commit": False, **(conf or {})})
    try:
        return {p: cons.get_watermark_offsets(TopicPartition(topic, p), timeout=20) for p in partitions}
    finally:
        cons.close()


def create_topic(bootstrap: str, topic: str, partitions=6, rf=3, config=None, timeout=60, conf=None):
    """conf: extra client settings (e.g. TLS) for the AdminClient."""
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": bootstrap, **(conf or {})})
    fs = a.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=rf,
                                   config=config or {})], operation_timeout=30)
    fs[topic].result(timeout)
    wait_topic_ready(bootstrap, topic, partitions, conf=conf)


def wait_topic_ready(bootstrap: str, topic: str, partitions: int, timeout=60, full_isr=True, conf=None):
    """Wait until every partition has a leader (and, optionally, a full ISR of 3)."""
    from confluent_kafka.admin import AdminClient
    a = AdminClient({"bootstrap.servers": bootstrap, **(conf or {})})
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        md = a.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions:
            ok = all(pm.leader >= 0 and pm.error is None and (not full_isr or len(pm.isrs) == 3)
                     for pm in t.partitions.values())
            last = {p: (pm.leader, list(pm.isrs)) for p, pm in t.partitions.items()}
            if ok:
                return md
        time.sleep(0.5)
    raise AssertionError(f"topic {topic} not ready after {timeout}s: {last}")


def partition_leader(bootstrap: str, topic: str, partition=0, conf=None, timeout=60) -> int:
    """The partition's leader id, asked until a broker knows it: metadata reaches each broker of a
    KRaft cluster on its own time, so one answer right after CreateTopics may still lack the topic."""
    from confluent_kafka.admin import AdminClient
    a = AdminClient({"bootstrap.servers": bootstrap, **(conf or {})})
    deadline = time.monotonic() + timeout
    while True:
        t = a.list_topics(topic, timeout=10).topics.get(topic)
        pm = t.partitions.get(partition) if t is not None and t.error is None else None
        if pm is not None and pm.error is None and pm.leader >= 0:
            return pm.leader
        assert time.monotonic() < deadline, f"{topic}[{partition}] has no leader after {timeout} s"
        time.sleep(0.5)


# ---------------------------------------------------------------------------------------------
# Raw Kafka protocol

def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_uvarint(buf: bytes, pos: int):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def request_header(api_key: int, api_version: int, corr: int, client_id: str | None = "kg-test",
                   flexible: bool = False) -> bytes:
    h = struct.pack(">hhi", api_key, api_version, corr)
    if client_id is None:
        h += struct.pack(">h", -1)
    else:
        cid = client_id.encode()
        h += struct.pack(">h", len(cid)) + cid
    if flexible:
        h += uvarint(0)  # empty tagged fields
    return h


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def api_versions_request(corr: int, version: int = 0) -> bytes:
    if version >= 3:
        body = uvarint(len(b"kg-test") + 1) + b"kg-test" + uvarint(len(b"1.0") + 1) + b"1.0" + uvarint(0)
        return frame(request_header(18, version, corr, flexible=True) + body)
    return frame(request_header(18, version, corr))


class RawConn:
    """Base of the tests' raw Kafka connections: a socket `s`, correlation ids, and
    context-manager closing."""
    s: socket.socket
    corr: int = 0

    def _next(self) -> int:
        self.corr += 1
        return self.corr

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def recv_frame(sock: socket.socket) -> bytes:
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    return recv_exact(sock, size)


def parse_api_versions_response(resp: bytes, version: int):
    """Returns (correlation_id, error_code, {api_key: (min, max)}). ApiVersions responses always
    use response header v0 (no tagged fields), also for flexible versions."""
    corr, err = struct.unpack(">ih", resp[:6])
    pos = 6
    apis = {}
    if version >= 3:
        n, pos = read_uvarint(resp, pos)
        n -= 1
        for _ in range(max(n, 0)):
            k, lo, hi = struct.unpack(">hhh", resp[pos:pos + 6])
            pos += 6
            tags, pos = read_uvarint(resp, pos)
            for _ in range(tags):
                _tag, pos = read_uvarint(resp, pos)
                ln, pos = read_uvarint(resp, pos)
                pos += ln
            apis[k] = (lo, hi)
    else:
        (n,) = struct.unpack(">i", resp[pos:pos + 4])
        pos += 4
        for _ in range(max(n, 0)):
            k, lo, hi = struct.unpack(">hhh", resp[pos:pos + 6])
            pos += 6
            apis[k] = (lo, hi)
    return corr, err, apis


def api_versions(host: str, port: int, version: int = 3, corr: int = 4242, timeout=10.0):
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(api_versions_request(corr, version))
        return parse_api_versions_response(recv_frame(s), version)


def wait_closed(sock: socket.socket, timeout: float = 5.0) -> str:
    """Wait until the peer closes the connection. Returns 'eof' or 'reset'; raises
    AssertionError if the connection is still open after `timeout` or data arrives."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise AssertionError(f"connection still open after {timeout}s (received {len(received)} bytes "
                                 f"before: {received[:64]!r})")
        except (ConnectionResetError, BrokenPipeError):
            return "reset"
        if not chunk:
            return "eof"
        received += chunk
        # A response to a bad request (e.g. an error response) followed by a close is tolerated
        # only if the close follows; keep reading until then.
        if time.monotonic() > deadline:
            raise AssertionError(f"connection still open after {timeout}s, received {received[:64]!r}")


# Standard Kafka API keys (0..92 as of Kafka 4.x) - anything outside is unknown to everyone.
KNOWN_API_KEYS = set(range(0, 93))


# ---------------------------------------------------------------------------------------------
# TLS: development certificates (certs/mkcerts.sh), TLS probes, /etc/hosts entries

CERTS_DIR = REPO / "build" / "certs"
MKCERTS = REPO / "certs" / "mkcerts.sh"
KEYSTORE_PASSWORD = "changeit"


def ensure_certs(outdir: Path = CERTS_DIR) -> Path:
    """Run certs/mkcerts.sh OUTDIR (idempotent) and return OUTDIR."""
    run(["bash", str(MKCERTS), str(outdir)], timeout=120)
    return Path(outdir)


def cert_serial(pem_or_der) -> str:
    """Serial number (hex, as `openssl x509 -serial` prints it) of a certificate given as a PEM
    file path or as DER bytes (e.g. SSLSocket.getpeercert(binary_form=True))."""
    if isinstance(pem_or_der, (bytes, bytearray)):
        cp = run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=bytes(pem_or_der))
    else:
        cp = run(["openssl", "x509", "-in", str(pem_or_der), "-noout", "-serial"])
    return cp.stdout.decode().strip().split("=", 1)[1]


@dataclass
class TlsResult:
    """Outcome of tls_probe: ok = handshake done AND an ApiVersions request answered over it."""
    ok: bool
    stage: str                  # "connect", "handshake", "request" or "done"
    error: str = ""
    version: str | None = None  # negotiated TLS version
    peer_der: bytes | None = None
    apis: dict | None = None

    def __str__(self):
        return (f"TlsResult(ok={self.ok}, stage={self.stage}, version={self.version}, "
                f"error={self.error!r})")


def tls_context(ca, cert=None, key=None, min_version=None, max_version=None, check_hostname=True):
    import ssl
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    ctx.check_hostname = check_hostname
    if cert:
        ctx.load_cert_chain(str(cert), str(key))
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def tls_probe(host: str, port: int, *, ca, cert=None, key=None, server_hostname="localhost",
              min_version=None, max_version=None, timeout=10.0) -> TlsResult:
    """Connect, TLS handshake (SNI = server_hostname, verified against ca), then one ApiVersions
    v3 request. With TLS 1.3 a server rejects a client certificate only after the client's
    side of the handshake is complete, so 'refused' is decided by the request round trip."""
    import ssl
    ctx = tls_context(ca, cert, key, min_version, max_version)
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        return TlsResult(False, "connect", f"{type(e).__name__}: {e}")
    with raw:
        try:
            s = ctx.wrap_socket(raw, server_hostname=server_hostname)
        except (ssl.SSLError, OSError) as e:
            return TlsResult(False, "handshake", f"{type(e).__name__}: {e}")
        with s:
            res = TlsResult(False, "request", version=s.version(),
                            peer_der=s.getpeercert(binary_form=True))
            try:
                s.sendall(api_versions_request(777, 3))
                corr, err, apis = parse_api_versions_response(recv_frame(s), 3)
            except (ssl.SSLError, OSError, ConnectionError, struct.error, IndexError) as e:
                res.error = f"{type(e).__name__}: {e}"
                return res
            if corr != 777 or err != 0 or not apis:
                res.error = f"bad ApiVersions response: corr {corr} error {err} {len(apis)} apis"
                return res
            res.ok, res.stage, res.apis = True, "done", apis
            return res


def add_hosts_entries(names, tag: str, addr: str = HOST) -> list:
    """Make each name resolve to addr: append an /etc/hosts line (marked with tag) for every
    name that does not resolve to addr yet. Returns the names added (for remove_hosts_entries)."""
    missing = []
    for n in names:
        try:
            ok = addr in {ai[4][0] for ai in socket.getaddrinfo(n, None, socket.AF_INET)}
        except socket.gaierror:
            ok = False
        if not ok:
            missing.append(n)
    if missing:
        with open("/etc/hosts", "a") as f:  # in place: /etc/hosts may be a bind mount
            f.write("".join(f"{addr} {n} # {tag}\n" for n in missing))
    return missing


def remove_hosts_entries(tag: str):
    with open("/etc/hosts", "r+") as f:
        lines = f.readlines()
        keep = [ln for ln in lines if not ln.rstrip().endswith(f"# {tag}")]
        if keep != lines:
            f.seek(0)
            f.writelines(keep)
            f.truncate()


# ---------------------------------------------------------------------------------------------
# SASL at the gateway: users file (kafka-gateway user ...), raw SaslHandshake/SaslAuthenticate
# exchanges, a SCRAM client (RFC 5802 as Kafka speaks it)

API_METADATA, API_PRODUCE = 3, 0
API_SASL_HANDSHAKE, API_SASL_AUTHENTICATE = 17, 36
ERR_UNSUPPORTED_SASL_MECHANISM, ERR_ILLEGAL_SASL_STATE, ERR_SASL_AUTHENTICATION_FAILED = 33, 34, 58


def users_cmd(binary: Path, users_file: Path, *args, password: str | None = None) -> subprocess.CompletedProcess:
    """`kafka-gateway user ARGS... --users FILE` (the password, if any, on stdin)."""
    cmd = [str(binary), "user", args[0], "--users", str(users_file)]
    if password is not None:
        cmd.append("--password-stdin")
    cmd += [str(a) for a in args[1:]]
    return run(cmd, input=None if password is None else (password + "\n").encode(), timeout=60)


def _str16(s: str | None) -> bytes:
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _compact_bytes(b: bytes | None) -> bytes:
    return uvarint(0) if b is None else uvarint(len(b) + 1) + b


def sasl_handshake_request(corr: int, mechanism: str, version: int = 1) -> bytes:
    return frame(request_header(API_SASL_HANDSHAKE, version, corr) + _str16(mechanism))


def parse_sasl_handshake_response(resp: bytes):
    """Returns (correlation_id, error_code, [mechanisms])."""
    corr, err, n = struct.unpack(">ihi", resp[:10])
    pos, mechs = 10, []
    for _ in range(max(n, 0)):
        (ln,) = struct.unpack(">h", resp[pos:pos + 2])
        mechs.append(resp[pos + 2:pos + 2 + ln].decode())
        pos += 2 + ln
    return corr, err, mechs


def sasl_authenticate_request(corr: int, token: bytes, version: int = 1) -> bytes:
    if version >= 2:
        return frame(request_header(API_SASL_AUTHENTICATE, version, corr, flexible=True)
                     + _compact_bytes(token) + uvarint(0))
    return frame(request_header(API_SASL_AUTHENTICATE, version, corr) + struct.pack(">i", len(token)) + token)


@dataclass
class SaslAuthResponse:
    corr: int
    error: int
    message: str | None
    auth_bytes: bytes
    session_lifetime_ms: int | None  # v1+


def parse_sasl_authenticate_response(resp: bytes, version: int = 1) -> SaslAuthResponse:
    (corr,) = struct.unpack(">i", resp[:4])
    pos = 4
    if version >= 2:
        ntags, pos = read_uvarint(resp, pos)  # response header v1
        for _ in range(ntags):
            _t, pos = read_uvarint(resp, pos)
            ln, pos = read_uvarint(resp, pos)
            pos += ln
        (err,) = struct.unpack(">h", resp[pos:pos + 2])
        pos += 2
        ln, pos = read_uvarint(resp, pos)
        msg = None if ln == 0 else resp[pos:pos + ln - 1].decode()
        pos += max(ln - 1, 0)
        ln, pos = read_uvarint(resp, pos)
        ab = resp[pos:pos + ln - 1]
        pos += ln - 1
    else:
        err, ln = struct.unpack(">hh", resp[pos:pos + 4])
        pos += 4
        msg = None if ln < 0 else resp[pos:pos + ln].decode()
        pos += max(ln, 0)
        (ln,) = struct.unpack(">i", resp[pos:pos + 4])
        ab = resp[pos + 4:pos + 4 + ln]
        pos += 4 + ln
    life = None
    if version >= 1:
        (life,) = struct.unpack(">q", resp[pos:pos + 8])
    return SaslAuthResponse(corr, err, msg, ab, life)


def metadata_request(corr: int, version: int) -> bytes:
    """Metadata for all topics, no auto-creation, v1..v12."""
    if version <= 8:
        body = struct.pack(">i", -1)
        if version >= 4:
            body += b"\x00"
        if version >= 8:
            body += b"\x00\x00"
        return frame(request_header(API_METADATA, version, corr) + body)
    body = uvarint(0) + b"\x00" + (b"\x00" if version <= 10 else b"") + b"\x00" + uvarint(0)
    return frame(request_header(API_METADATA, version, corr, flexible=True) + body)


def produce_request(corr: int, version: int = 7) -> bytes:
    """A well-formed, empty Produce (v3..v8): no transactional id, acks=1, no topics."""
    return frame(request_header(API_PRODUCE, version, corr) + struct.pack(">hhii", -1, 1, 1000, 0))


class ScramClient:
    """The client side of SCRAM-SHA-256/512 (RFC 5802/7677, no channel binding), as Kafka's
    ScramSaslClient: client-first, client-final, then verification of the server signature."""

    def __init__(self, mechanism: str, user: str, password: str, nonce: str | None = None):
        import base64
        import hashlib
        self.b64 = base64
        self.hname = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
        self.hash = getattr(hashlib, self.hname)
        self.user, self.password = user, password
        self.nonce = nonce or base64.b64encode(os.urandom(24)).decode().replace(",", "-")
        self.server_signature = None

    def _hmac(self, key: bytes, msg: bytes) -> bytes:
        import hmac
        return hmac.new(key, msg, self.hname).digest()

    def first(self) -> bytes:
        name = self.user.replace("=", "=3D").replace(",", "=2C")
        self.first_bare = f"n={name},r={self.nonce}"
        return ("n,," + self.first_bare).encode()

    def final(self, server_first: bytes, nonce_prefix: str = "") -> bytes:
        """nonce_prefix: sent before the server's nonce in client-final's r= (the proof covers
        the message as sent). nonce_prefix=self.nonce is what librdkafka before 2.6.1 sends,
        r=<cnonce><cnonce><snonce>: Kafka 3.8.1-3.9 accept it (endsWith), Kafka 4.x and the
        gateway refuse it (equals)."""
        import hashlib
        sf = server_first.decode()
        attrs = dict(kv.split("=", 1) for kv in sf.split(","))
        nonce, salt, it = attrs["r"], self.b64.b64decode(attrs["s"]), int(attrs["i"])
        assert nonce.startswith(self.nonce) and len(nonce) > len(self.nonce), (
            f"server nonce {nonce!r} does not extend the client nonce {self.nonce!r}")
        nonce = nonce_prefix + nonce
        salted = hashlib.pbkdf2_hmac(self.hname, self.password.encode(), salt, it)
        client_key = self._hmac(salted, b"Client Key")
        stored_key = self.hash(client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        auth_msg = f"{self.first_bare},{sf},{without_proof}".encode()
        proof = bytes(a ^ b for a, b in zip(client_key, self._hmac(stored_key, auth_msg)))
        self.server_signature = self._hmac(self._hmac(salted, b"Server Key"), auth_msg)
        return f"{without_proof},p={self.b64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> bool:
        return server_final == b"v=" + self.b64.b64encode(self.server_signature)


def scram_login_error(host: str, port: int, user: str, password: str,
                      mechanism: str = "SCRAM-SHA-512", timeout=10.0) -> str | None:
    """A raw SaslHandshake v1 + SaslAuthenticate v1 SCRAM login: None on success, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(sasl_handshake_request(1, mechanism))
            _c, err, mechs = parse_sasl_handshake_response(recv_frame(s))
            if err:
                return f"SaslHandshake error {err} (mechanisms {mechs})"
            sc = ScramClient(mechanism, user, password)
            s.sendall(sasl_authenticate_request(2, sc.first()))
            r = parse_sasl_authenticate_response(recv_frame(s))
            if r.error:
                return f"SaslAuthenticate error {r.error}: {r.message}"
            s.sendall(sasl_authenticate_request(3, sc.final(r.auth_bytes)))
            r = parse_sasl_authenticate_response(recv_frame(s))
            if r.error:
                return f"SaslAuthenticate error {r.error}: {r.message}"
            return None if sc.verify(r.auth_bytes) else "server signature does not verify"
    except (OSError, ConnectionError, struct.error) as e:
        return f"{type(e).__name__}: {e}"
