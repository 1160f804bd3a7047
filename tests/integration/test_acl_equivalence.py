"""The gateway's ACLs behave like a broker's StandardAuthorizer.

One description of permissions (ROLES below: rules per principal) becomes both the gateway's
policy file and the equivalent Kafka ACLs, created as the super user admin on the bed's
SASL_PLAINTEXT listener (127.0.0.1:29492-29494, StandardAuthorizer, allow.everyone.if.no.acl.found
=false). The same operations then run twice with the same clients and principals (SCRAM-SHA-512):
once through the gateway (SASL at the gateway, upstream PLAINTEXT as the super user ANONYMOUS,
so only the gateway's policy decides), once directly against the brokers' SASL listener (only
the broker's ACLs decide). The normalised outcomes (error names/codes per topic, group,
transactional id, resource; visible sets of the test's own topics and groups; exit status and
authorization exception classes of the Java tools) must be equal. A mismatch prints both.

The broker side also has to show the expected denials (each test asserts a few of them), so
that a test cannot pass because nothing was denied anywhere.

Resources that an operation changes (created, deleted, altered topics; groups that get offsets
or are deleted; transactional ids) have one copy per side (suffix -gw / -br, normalised to -S
before comparing); everything else is shared.

Development aid: KG_ACL_SIDES=broker runs only the broker side (and its expectations)."""

from __future__ import annotations

import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

import acl_util as au
from acl_util import allow, deny, role
import kg

RUN = uuid.uuid4().hex[:6]
R = f"kgacl-{RUN}-"          # every topic, group and transactional id of this module
SIDE_SUFFIX = {"gateway": "gw", "broker": "br"}
SIDES = [s.strip() for s in os.environ.get("KG_ACL_SIDES", "gateway,broker").split(",") if s.strip()]
SEED = 3                       # records per shared topic (partition 0)


def T(name):
    return R + name


# ---------------------------------------------------------------------------------------------
# THE permissions (one description -> gateway policy file and Kafka ACLs)

ROLES = [
    role("app-a", ["User:alice"], [
        allow("topic", ["READ", "WRITE", "CREATE", "DELETE", "DESCRIBE_CONFIGS"], prefix=T("a.")),
        deny("topic", ["ALL"], name=T("a.secret")),
        deny("topic", ["READ"], name=T("a.noread")),         # deny READ does not deny DESCRIBE
        allow("topic", ["ALTER", "ALTER_CONFIGS"], prefix=T("a.alter")),
        allow("topic", ["READ"], name=T("shared")),
        allow("group", ["READ"], prefix=T("ga.")),
        deny("group", ["ALL"], prefix=T("ga.blocked")),
        allow("transactional_id", ["WRITE"], prefix=T("txa.")),
    ]),
    role("app-b", ["User:bob"], [
        allow("topic", ["ALL"], prefix=T("b.")),
        allow("topic", ["DESCRIBE"], name=T("shared")),
        deny("topic", ["ALL"], name=T("b.hostdeny"), hosts=["127.0.0.1/32"]),
        deny("topic", ["ALL"], name=T("b.otherhost"), hosts=["10.1.2.3/32"]),
        allow("group", ["ALL"], prefix=T("gb.")),
        allow("transactional_id", ["DESCRIBE"], name=T("txb.1")),
    ]),
    role("ops", ["User:carol"], [
        allow("cluster", ["CREATE", "DESCRIBE"]),
        allow("topic", ["DESCRIBE"], name="*"),
        deny("topic", ["DESCRIBE"], prefix=T("a.")),
        allow("group", ["DESCRIBE"], name="*"),
    ]),
    role("everyone", ["User:*"], [
        allow("topic", ["READ", "DESCRIBE"], name=T("public")),
        # one literal group per side (a consumer commits in it)
        allow("group", ["READ"], name=T("public-g") + "-gw"),
        allow("group", ["READ"], name=T("public-g") + "-br"),
    ]),
]

SHARED_TOPICS = ["a.data", "a.secret", "a.noread", "shared", "b.data", "b.hostdeny", "b.otherhost",
                 "public", "c.data"]
PER_SIDE_TOPICS = ["a.alter", "a.del", "b.del"]
SEEN_GROUPS = ["ga.seen", "gb.seen", "gc.seen"]      # have committed offsets (made by ANONYMOUS)
PER_SIDE_GROUPS = ["ga.del", "gb.del"]


def sname(side: str, name: str) -> str:
    """The side's own copy of a resource."""
    return f"{T(name)}-{SIDE_SUFFIX[side]}"


_SUFFIX_RE = re.compile(r"-(gw|br)\b")


def norm(x):
    """Strip the run prefix and the side suffix from every string (keys included)."""
    if isinstance(x, str):
        return _SUFFIX_RE.sub("-S", x.replace(R, ""))
    if isinstance(x, dict):
        return {norm(k): norm(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(norm(v) for v in x)
    if isinstance(x, (set, frozenset)):
        return sorted(norm(v) for v in x)
    return x


# ---------------------------------------------------------------------------------------------
# fixtures

def _plain_admin():
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": kg.DIRECT_BOOTSTRAP})


def _all_module_topics():
    return ([T(t) for t in SHARED_TOPICS]
            + [f"{T(t)}-{s}" for t in PER_SIDE_TOPICS for s in SIDE_SUFFIX.values()])


def _seed_groups(groups, topic):
    """Commit offset 1 of topic[0] in each group, as ANONYMOUS on PLAINTEXT (super user)."""
    from confluent_kafka import TopicPartition
    for g in groups:
        au.commit_offsets(g, [TopicPartition(topic, 0, 1)])


def _wait_acls_applied(kafka, timeout=30):
    """Each broker applies the ACL records from the metadata log on its own: wait until every
    broker shows a few of the expected decisions."""
    checks = [("alice", T("a.data"), 0), ("alice", T("a.secret"), 29), ("bob", T("b.data"), 0),
              ("bob", T("b.hostdeny"), 29), ("carol", T("c.data"), 0), ("carol", T("public"), 0),
              ("carol", T("a.data"), 29)]
    deadline = time.monotonic() + timeout
    for h, p in kg.BROKER_DIRECT.values():
        for user, topic, want in checks:
            while True:
                with au.Raw(h, p + 400, user, au.PASSWORDS[user]) as r:
                    got = r.request("Metadata", topics=[{"name": topic}],
                                    allow_auto_topic_creation=False).topics[0].error_code
                if got == want:
                    break
                assert time.monotonic() < deadline, (
                    f"ACLs not applied on broker {h}:{p}: {user} Metadata {topic} -> {got}, want {want}")
                time.sleep(0.2)


@pytest.fixture(scope="module")
def env(kafka, request, tmp_path_factory):
    """Topics, seeded records and groups, Kafka ACLs, the policy file and the gateway."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import NewTopic
    if "broker" in SIDES:
        kafka.ensure_scram_users()
        kafka.delete_acls_of(au.TEST_PRINCIPALS)  # leftovers of an interrupted run
    tmp = tmp_path_factory.mktemp("acl-eq")
    a = _plain_admin()
    fs = a.create_topics([NewTopic(t, num_partitions=2, replication_factor=3) for t in _all_module_topics()],
                         operation_timeout=30)
    for t, f in fs.items():
        f.result(60)
    for t in _all_module_topics():
        kg.wait_topic_ready(kg.DIRECT_BOOTSTRAP, t, 2, full_isr=False)
    p = Producer({"bootstrap.servers": kg.DIRECT_BOOTSTRAP, "acks": "all"})
    for t in SHARED_TOPICS:
        for i in range(SEED):
            p.produce(T(t), key=f"k{i}".encode(), value=f"{t}-{i}".encode(), partition=0)
    assert p.flush(60) == 0
    _seed_groups([T(g) for g in SEEN_GROUPS]
                 + [f"{T(g)}-{s}" for g in PER_SIDE_GROUPS for s in SIDE_SUFFIX.values()], T("a.data"))
    policy = au.write_policy(tmp / "policy.json", ROLES)
    gw = None
    if "broker" in SIDES:
        kafka.create_acls(au.kafka_bindings(ROLES))
        _wait_acls_applied(kafka)
    if "gateway" in SIDES:
        if request.getfixturevalue("gateway_bin") is None:
            pytest.skip("KG_DIRECT=1: the ACL comparison needs a gateway")
        gw = au.start_acl_gateway(request.getfixturevalue("gateway_factory"), "gw-acl-eq", tmp, policy)
    sides = {}
    if "gateway" in SIDES:
        sides["gateway"] = au.gateway_side(kafka, gw, tmp)
    if "broker" in SIDES:
        sides["broker"] = au.broker_side(kafka, tmp)
    yield sides
    if "broker" in SIDES:
        kafka.delete_acls_of(au.TEST_PRINCIPALS)
    fs = _plain_admin().delete_topics([t for t in kafka_topics_with_prefix(R)], operation_timeout=30)
    for f in fs.values():
        try:
            f.result(60)
        except Exception:  # noqa: BLE001 - best effort
            pass


def kafka_topics_with_prefix(prefix):
    md = _plain_admin().list_topics(timeout=20)
    return [t for t in md.topics if t.startswith(prefix)]


def compare(env, what, fn, expect=None):
    """Run fn(side) on every side (one after the other: some resources, e.g. the literal group
    public-g, are shared), normalise, compare; `expect(result)` checks the broker's (reference)
    result on its own."""
    res = {name: norm(fn(side)) for name, side in env.items()}
    for name, r in res.items():  # shown with -s / on failure
        print(f"{what} [{name}]: {r}")
    if "broker" in res and expect is not None:
        expect(res["broker"])
    if "gateway" in res and expect is not None and "broker" not in res:
        expect(res["gateway"])
    if len(res) == 2:
        au.assert_same(what, res["gateway"], res["broker"])
    return res


# ---------------------------------------------------------------------------------------------
# confluent-kafka: producer

def _produce_results(side, user, topics, timeout=12.0, **conf):
    from confluent_kafka import Producer
    errs, logs = [], _LogCapture()
    p = Producer(side.conf(user, **{"acks": "all", "message.timeout.ms": int(timeout * 1000),
                                    "error_cb": lambda e: errs.append(e), "logger": logs.logger, **conf}))
    res = {}

    def cb(err, msg):
        res[msg.topic()] = au.err_name(err)

    for t in topics:
        try:
            p.produce(t, key=b"k", value=b"v", on_delivery=cb)
        except Exception as e:  # noqa: BLE001 - e.g. a fatal idempotence error
            res[t] = au.err_name(e)
    deadline = time.monotonic() + timeout + 5
    while len(res) < len(topics) and time.monotonic() < deadline:
        try:  # not flush(): after a fatal error it may raise SystemError or never return
            p.poll(0.2)
        except Exception:  # noqa: BLE001
            pass
        if any(e.fatal() for e in errs):
            break
    for _ in range(3):  # serve error_cb (a fatal error comes after the purged delivery report)
        try:
            p.poll(0.2)
        except Exception:  # noqa: BLE001
            pass
    for t in topics:
        res.setdefault(t, "NOT_DELIVERED")
    fatal = {au.err_name(e) for e in errs if e.fatal() or "AUTHORIZATION" in au.err_name(e)}
    fatal |= {m.group(1) for m in re.finditer(r"Fatal error: Broker: ([A-Za-z ]+)", logs.text())}
    return res, sorted(fatal)


class _LogCapture:
    """A logging.Logger for librdkafka's "logger" setting that keeps what it gets."""

    def __init__(self):
        import logging
        self.lines = []
        self.logger = logging.getLogger(f"kg-acl-rdkafka-{uuid.uuid4().hex[:8]}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        h = logging.Handler()
        h.emit = lambda rec: self.lines.append(rec.getMessage())
        self.logger.addHandler(h)

    def text(self):
        return "\n".join(self.lines)


def test_producer_per_topic(env):
    def run(side):
        s = SIDE_SUFFIX[side.name]
        out = {}
        for user, topics in {
            "alice": [T("a.data"), T("a.noread"), T("a.secret"), T("shared"), T("b.data"), T("public"),
                      T("zz.none"), f"{T('a.auto')}-{s}", f"{T('b.auto')}-{s}"],
            "bob": [T("b.data"), T("b.hostdeny"), T("b.otherhost"), T("shared"), T("a.data")],
            "carol": [T("c.data"), f"{T('c.auto')}-{s}", T("public")],
        }.items():
            out[user] = _produce_results(side, user, topics)[0]
        return out

    def expect(b):
        assert b["alice"]["a.data"] == "NONE" and b["alice"]["a.noread"] == "NONE", b
        assert b["alice"]["a.secret"] == "TOPIC_AUTHORIZATION_FAILED", b
        assert b["alice"]["zz.none"] == "TOPIC_AUTHORIZATION_FAILED", b
        assert b["alice"]["a.auto-S"] == "NONE", b          # auto-created with TOPIC:CREATE
        assert b["bob"]["b.hostdeny"] == "TOPIC_AUTHORIZATION_FAILED", b
        assert b["bob"]["b.otherhost"] == "NONE", b
    compare(env, "produce per topic", run, expect)


def test_idempotent_producer(env):
    """Idempotence without CLUSTER:IDEMPOTENT_WRITE: allowed with WRITE on some topic (alice, bob),
    CLUSTER_AUTHORIZATION_FAILED without (carol)."""
    def run(side):
        return {u: _produce_results(side, u, [t], timeout=10, **{"enable.idempotence": True})
                for u, t in [("alice", T("a.data")), ("bob", T("b.data")), ("carol", T("c.data"))]}

    def expect(b):
        assert b["alice"][0] == {"a.data": "NONE"}, b
        assert b["carol"][0]["c.data"] != "NONE", b
        assert "Cluster authorization failed" in str(b["carol"][1]), b
    compare(env, "idempotent producer", run, expect)


# ---------------------------------------------------------------------------------------------
# confluent-kafka: transactions

def _txn(side, user, txn_id, topic, group=None):
    """init -> begin -> produce -> (send offsets of group) -> commit; returns the step and the
    error name of the first failure, or ('commit', 'NONE')."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    p = Producer(side.conf(user, **{"transactional.id": txn_id, "transaction.timeout.ms": 10000,
                                    "message.timeout.ms": 10000}))
    step = "init"
    try:
        p.init_transactions(15)
        step = "begin"
        p.begin_transaction()
        step = "produce"
        res = []
        p.produce(topic, key=b"t", value=b"txn", on_delivery=lambda e, m: res.append(au.err_name(e)))
        p.flush(12)
        if res and res[0] != "NONE":
            return step, res[0]
        if group is not None:
            step = "send_offsets"
            c = Consumer(side.conf(user, **{"group.id": group}))
            try:
                p.send_offsets_to_transaction([TopicPartition(topic, 0, 1)], c.consumer_group_metadata(), 15)
            finally:
                c.close()
        step = "commit"
        p.commit_transaction(15)
        return step, "NONE"
    except Exception as e:  # noqa: BLE001
        return step, au.err_name(e)


def test_transactional_producer(env):
    def run(side):
        return {
            "alice txa ok": _txn(side, "alice", sname(side.name, "txa.1"), T("a.data"), sname(side.name, "ga.txn")),
            "alice txb denied": _txn(side, "alice", T("txb.1"), T("a.data")),
            "bob txb describe only": _txn(side, "bob", T("txb.1"), T("b.data")),
            "alice txa, topic denied": _txn(side, "alice", sname(side.name, "txa.2"), T("b.data")),
            "alice txa, group denied": _txn(side, "alice", sname(side.name, "txa.3"), T("a.data"), T("gb.x")),
        }

    def expect(b):
        assert b["alice txa ok"] == ("commit", "NONE"), b
        assert b["alice txb denied"][1] == "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", b
        assert b["bob txb describe only"][1] == "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", b
        assert b["alice txa, topic denied"][1] == "TOPIC_AUTHORIZATION_FAILED", b
        assert b["alice txa, group denied"][1] == "GROUP_AUTHORIZATION_FAILED", b
    compare(env, "transactional producer", run, expect)


# ---------------------------------------------------------------------------------------------
# confluent-kafka: consumers in groups

def _consume(side, user, group, topic, want=SEED, timeout=12.0):
    """'OK:n' (n = records read, committed) or the first error's name."""
    from confluent_kafka import Consumer, KafkaError
    c = Consumer(side.conf(user, **{"group.id": group, "auto.offset.reset": "earliest",
                                    "enable.auto.commit": False, "session.timeout.ms": 10000}))
    got = 0
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + timeout
        while got < want and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                return au.err_name(m.error())
            got += 1
        if got:
            c.commit(asynchronous=False)
        return f"OK:{got}"
    except Exception as e:  # noqa: BLE001
        return au.err_name(e)
    finally:
        c.close()


def test_consumer_groups(env):
    def run(side):
        cases = {
            "alice ga a.data": ("alice", sname(side.name, "ga.c1"), T("a.data")),
            "alice shared": ("alice", sname(side.name, "ga.c2"), T("shared")),
            "alice blocked group": ("alice", sname(side.name, "ga.blocked1"), T("a.data")),
            "alice bob's group": ("alice", sname(side.name, "gb.c1"), T("a.data")),
            "alice a.noread": ("alice", sname(side.name, "ga.c3"), T("a.noread")),
            "alice a.secret": ("alice", sname(side.name, "ga.c4"), T("a.secret")),
            "bob b.hostdeny": ("bob", sname(side.name, "gb.c2"), T("b.hostdeny")),
            "bob b.otherhost": ("bob", sname(side.name, "gb.c3"), T("b.otherhost")),
            "carol public, other group": ("carol", sname(side.name, "public-h"), T("public")),
            "carol public": ("carol", sname(side.name, "public-g"), T("public")),
        }
        with ThreadPoolExecutor(len(cases)) as ex:
            futs = {k: ex.submit(_consume, side, *v) for k, v in cases.items()}
            return {k: f.result() for k, f in futs.items()}

    def expect(b):
        assert b["alice ga a.data"] == f"OK:{SEED}", b
        assert b["alice blocked group"] == "GROUP_AUTHORIZATION_FAILED", b
        assert b["alice a.secret"] == "TOPIC_AUTHORIZATION_FAILED", b
        assert b["bob b.otherhost"] == f"OK:{SEED}", b
    compare(env, "consumers in groups", run, expect)


# ---------------------------------------------------------------------------------------------
# confluent-kafka: AdminClient

def _fs(fs, key=str, timeout=30):
    return {key(k): au.future_result(f, timeout) for k, f in fs.items()}


def test_admin_create_delete_topics(env):
    from confluent_kafka.admin import NewTopic

    def run(side):
        s = SIDE_SUFFIX[side.name]
        out = {}
        for user, names in {"alice": [f"{T('a.new')}-{s}", f"{T('b.new')}-{s}"],
                            "bob": [f"{T('b.new2')}-{s}", f"{T('c.new')}-{s}"],
                            "carol": [f"{T('c.new2')}-{s}"]}.items():
            a = side.admin(user)
            out[f"create {user}"] = _fs(a.create_topics([NewTopic(n, 1, 3) for n in names],
                                                        operation_timeout=20, request_timeout=25))
        a = side.admin("alice")
        out["delete alice"] = _fs(a.delete_topics([sname(side.name, "a.del"), sname(side.name, "b.del"),
                                                   T("zz.none"), T("a.none")],
                                                  operation_timeout=20, request_timeout=25))
        return out

    def expect(b):
        assert b["create alice"] == {"a.new-S": "NONE", "b.new-S": "TOPIC_AUTHORIZATION_FAILED"}, b
        assert b["create carol"] == {"c.new2-S": "NONE"}, b     # CLUSTER:CREATE
        assert b["delete alice"]["a.del-S"] == "NONE", b
        assert b["delete alice"]["b.del-S"] == "TOPIC_AUTHORIZATION_FAILED", b
        assert b["delete alice"]["zz.none"] == "TOPIC_AUTHORIZATION_FAILED", b
        assert b["delete alice"]["a.none"] == "UNKNOWN_TOPIC_OR_PART", b
    compare(env, "create/delete topics", run, expect)


def test_admin_configs_and_partitions(env):
    from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions,
                                       ResourceType)

    def run(side):
        a = side.admin("alice")
        out = {}
        res = [ConfigResource(ResourceType.TOPIC, T("a.data")), ConfigResource(ResourceType.TOPIC, T("b.data")),
               ConfigResource(ResourceType.TOPIC, T("a.secret")), ConfigResource(ResourceType.BROKER, "1")]
        out["describe_configs"] = {f"{r.restype.name.lower()}:{r.name}": au.future_result(f)
                                   for r, f in a.describe_configs(res, request_timeout=20).items()}
        inc = [ConfigResource(ResourceType.TOPIC, n, incremental_configs=[
            ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])
            for n in (sname(side.name, "a.alter"), T("a.data"), T("b.data"))]
        out["incremental_alter_configs"] = {r.name: au.future_result(f)
                                            for r, f in a.incremental_alter_configs(inc, request_timeout=20).items()}
        leg = [ConfigResource(ResourceType.TOPIC, n, set_config={"retention.ms": "7200000"})
               for n in (sname(side.name, "a.alter"), T("a.data"))]
        out["alter_configs"] = {r.name: au.future_result(f)
                                for r, f in a.alter_configs(leg, request_timeout=20).items()}
        out["create_partitions"] = _fs(a.create_partitions(
            [NewPartitions(sname(side.name, "a.alter"), 3), NewPartitions(T("a.data"), 3),
             NewPartitions(T("b.data"), 3)], operation_timeout=20, request_timeout=25))
        return out

    def expect(b):
        d = b["describe_configs"]
        assert d["topic:a.data"] == "NONE" and d["topic:b.data"] == "TOPIC_AUTHORIZATION_FAILED", b
        assert d["broker:1"] == "CLUSTER_AUTHORIZATION_FAILED", b
        assert b["incremental_alter_configs"] == {"a.alter-S": "NONE", "a.data": "TOPIC_AUTHORIZATION_FAILED",
                                                  "b.data": "TOPIC_AUTHORIZATION_FAILED"}, b
        assert b["create_partitions"]["a.alter-S"] == "NONE", b
        assert b["create_partitions"]["a.data"] == "TOPIC_AUTHORIZATION_FAILED", b
    compare(env, "configs and partitions", run, expect)


def test_admin_visibility(env):
    """Metadata listing: only describable topics (restricted to this module's shared names);
    ListGroups filtering; DescribeGroups; offsets of a denied group; DeleteGroups."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    ours_t = {T(t) for t in SHARED_TOPICS}
    ours_g = {T(g) for g in SEEN_GROUPS}

    def run(side):
        out = {}
        for user in ("alice", "bob", "carol"):
            a = side.admin(user)
            md = a.list_topics(timeout=15)
            out[f"topics {user}"] = sorted(set(md.topics) & ours_t)
            groups = a.list_consumer_groups(request_timeout=15).result(20)
            out[f"groups {user}"] = sorted({g.group_id for g in groups.valid} & ours_g)
            out[f"describe groups {user}"] = _fs(a.describe_consumer_groups(sorted(ours_g), request_timeout=15))
            out[f"offsets {user}"] = {g: au.future_result(
                a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)], request_timeout=15)[g])
                for g in sorted(ours_g)}
        # (AdminClient.delete_consumer_groups retries a denied FindCoordinator until its timeout)
        with side.raw("alice") as r:
            resp = r.request("DeleteGroups", groups_names=[sname(side.name, "ga.del"), sname(side.name, "gb.del")])
            out["delete groups alice"] = {g.group_id: g.error_code for g in resp.results}
        bob = side.admin("bob")  # (the handle must outlive its futures)
        out["delete groups bob"] = _fs(bob.delete_consumer_groups([sname(side.name, "gb.del")], request_timeout=15))
        return out

    def expect(b):
        assert b["topics alice"] == sorted(["a.data", "a.noread", "shared", "public"]), b
        assert "a.data" not in b["topics carol"] and "c.data" in b["topics carol"], b
        assert b["groups alice"] == ["ga.seen"], b
        assert b["groups carol"] == sorted(["ga.seen", "gb.seen", "gc.seen"]), b
        assert b["describe groups alice"]["gb.seen"] == "GROUP_AUTHORIZATION_FAILED", b
        assert b["offsets alice"]["gb.seen"] == "GROUP_AUTHORIZATION_FAILED", b
        assert b["offsets alice"]["ga.seen"] == "NONE", b
        assert b["delete groups alice"] == {"ga.del-S": 30, "gb.del-S": 30}, b
        assert b["delete groups bob"] == {"gb.del-S": "NONE"}, b
    compare(env, "visibility, groups", run, expect)


# ---------------------------------------------------------------------------------------------
# raw protocol: exact error codes

def _topic_id(topic):
    from confluent_kafka import TopicCollection
    a = _plain_admin()
    md = a.describe_topics(TopicCollection([topic]), request_timeout=15)
    u = md[topic].result(20).topic_id
    return uuid.UUID(int=((u.get_most_significant_bits() & (2**64 - 1)) << 64)
                     | (u.get_least_significant_bits() & (2**64 - 1)))


def _batch():
    from kafka.record.memory_records import MemoryRecordsBuilder
    b = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=100000)
    b.append(timestamp=None, key=b"k", value=b"raw", headers=[])
    b.close()
    return bytes(b.buffer())


def test_raw_error_codes(env):
    tid_secret = _topic_id(T("a.secret"))
    tid_data = _topic_id(T("a.data"))
    tid_b = _topic_id(T("b.data"))

    def run(side):
        out = {}
        with side.raw("alice") as r:
            md = r.request("Metadata", topics=[{"name": T(n)} for n in ("a.secret", "zz.none", "a.data", "a.none", "b.data")],
                           allow_auto_topic_creation=False)
            out["metadata by name"] = {t.name: t.error_code for t in md.topics}
            if r.version("Metadata") >= 12:
                md = r.request("Metadata", topics=[{"topic_id": tid_secret, "name": None},
                                                   {"topic_id": tid_data, "name": None}],
                               allow_auto_topic_creation=False)
                out["metadata by id"] = sorted((str(t.topic_id), t.name, t.error_code) for t in md.topics)
            resp = r.request("FindCoordinator", key_type=0, coordinator_keys=[T("gb.seen"), T("ga.seen"), T("gc.seen")])
            out["find group coordinator"] = {c.key: c.error_code for c in resp.coordinators}
            resp = r.request("FindCoordinator", key_type=1, coordinator_keys=[T("txb.1"), T("txa.any")])
            out["find txn coordinator"] = {c.key: c.error_code for c in resp.coordinators}
            resp = r.request("OffsetCommit", group_id=T("gb.seen"), generation_id_or_member_epoch=-1, member_id="",
                             topics=[{"name": T("a.data"), "partitions": [{"partition_index": 0, "committed_offset": 1},
                                                                          {"partition_index": 1, "committed_offset": 1}]}])
            out["offset commit denied group"] = sorted((t.name, p.partition_index, p.error_code)
                                                       for t in resp.topics for p in t.partitions)
            parts = [{"index": 0, "records": _batch()}, {"index": 1, "records": _batch()}]
            if r.version("Produce") >= 13:  # Kafka 4.1+: topics by id (KIP-516)
                ids = {"a.secret": tid_secret, "b.data": tid_b, "unknown-id": uuid.UUID(int=12345)}
                label = {v: k for k, v in ids.items()}
                resp = r.request("Produce", transactional_id=None, acks=1, timeout_ms=5000, topic_data=[
                    {"topic_id": i, "partition_data": parts} for i in ids.values()])
                out["produce denied"] = sorted((label.get(t.topic_id, str(t.topic_id)), p.index, p.error_code)
                                               for t in resp.responses for p in t.partition_responses)
            else:
                resp = r.request("Produce", transactional_id=None, acks=1, timeout_ms=5000, topic_data=[
                    {"name": T(n), "partition_data": parts} for n in ("a.secret", "b.data", "zz.none")])
                out["produce denied"] = sorted((t.name, p.index, p.error_code)
                                               for t in resp.responses for p in t.partition_responses)
            # (only denied groups: an allowed one needs its coordinator, NOT_COORDINATOR elsewhere)
            resp = r.request("DescribeGroups", groups=[T("gc.seen"), T("gb.seen")])
            out["describe groups"] = {g.group_id: g.error_code for g in resp.groups}
            resp = r.request("ListOffsets", replica_id=-1, isolation_level=0, topics=[
                {"name": T("a.secret"), "partitions": [{"partition_index": 0, "timestamp": -1}]},
                {"name": T("b.data"), "partitions": [{"partition_index": 0, "timestamp": -1}]}])
            out["list offsets denied"] = sorted((t.name, p.partition_index, p.error_code)
                                                for t in resp.topics for p in t.partitions)
            resp = r.request("DeleteRecords", timeout_ms=5000, topics=[
                {"name": T("b.data"), "partitions": [{"partition_index": 0, "offset": 0}]},
                {"name": T("a.secret"), "partitions": [{"partition_index": 0, "offset": 0}]}])
            out["delete records denied"] = sorted((t.name, p.partition_index, p.error_code)
                                                  for t in resp.topics for p in t.partitions)
            if r.version("Fetch") >= 13:
                resp = r.request("Fetch", replica_id=-1, max_wait_ms=100, min_bytes=0, max_bytes=1 << 20,
                                 isolation_level=0, session_id=0, session_epoch=-1, topics=[
                                     {"topic_id": tid_secret, "partitions": [{"partition": 0, "fetch_offset": 0,
                                                                              "partition_max_bytes": 1 << 20}]}])
                out["fetch by id denied"] = (resp.error_code, sorted((str(t.topic_id), p.partition_index, p.error_code)
                                                                     for t in resp.responses for p in t.partitions))
        return out

    def expect(b):
        assert b["metadata by name"] == {"a.secret": 29, "zz.none": 29, "a.data": 0, "a.none": 3, "b.data": 29}, b
        assert b["find group coordinator"]["gb.seen"] == 30, b
        assert b["find group coordinator"]["ga.seen"] == 0, b
        assert b["find txn coordinator"] == {"txb.1": 53, "txa.any": 0}, b
        assert {e for *_, e in b["offset commit denied group"]} == {30}, b
        pd = {(n, e) for n, _, e in b["produce denied"]}
        assert len(b["produce denied"]) == 6 and ("a.secret", 29) in pd and ("b.data", 29) in pd, b
        assert ("unknown-id", 100) in pd or ("zz.none", 29) in pd, b
        assert b["describe groups"] == {"gc.seen": 30, "gb.seen": 30}, b
        assert {e for *_, e in b["list offsets denied"]} == {29}, b
        assert {e for *_, e in b["delete records denied"]} == {29}, b
        if "fetch by id denied" in b:
            assert {e for *_, e in b["fetch by id denied"][1]} == {29}, b
    compare(env, "raw protocol error codes", run, expect)


def _kip848_proto(tmp_path):
    """The KIP-848 message classes, from the kafka-clients jar of the 4.3.1 bed."""
    libs = kg.Path(os.environ.get("KG_CACHE", kg.Path.home() / ".cache" / "kafka-gateway")) / "kafka-4.3.1" / "libs"
    if not libs.is_dir():
        kg.run([str(kg.BED), "fetch", "4.3.1"], timeout=600)
    au.kip848_proto(next(libs.glob("kafka-clients-*.jar")), tmp_path)


def test_kafka4_group_and_partition_apis(env, tmp_path):
    """Kafka 4.x APIs against StandardAuthorizer: ConsumerGroupHeartbeat (KIP-848) for a group
    alice may not read, and for her own group subscribing to a topic she may not describe;
    ConsumerGroupDescribe of groups she may not describe; DescribeTopicPartitions naming
    allowed, hidden and missing topics, and (no names) listing what she sees. Only answers that
    do not depend on which broker coordinates a group are compared."""
    if side_kafka_major(env) < 4:
        pytest.skip("KIP-848 groups and DescribeTopicPartitions as compared here need Kafka 4.x")
    _kip848_proto(tmp_path)

    def heartbeat(r, group, topics):
        return r.request("ConsumerGroupHeartbeat", 0, group_id=group, member_id=uuid.uuid4().hex[:22],
                         member_epoch=0, rebalance_timeout_ms=30000, subscribed_topic_names=topics,
                         topic_partitions=[]).error_code

    def run(side):
        out = {}
        with side.raw("alice") as r:
            out["heartbeat denied group"] = heartbeat(r, sname(side.name, "gb.hb"), [T("a.data")])
            out["heartbeat blocked group"] = heartbeat(r, sname(side.name, "ga.blocked.hb"), [T("a.data")])
            out["heartbeat hidden topic"] = heartbeat(r, sname(side.name, "ga.hb"), [T("a.data"), T("b.data")])
            out["heartbeat hidden secret"] = heartbeat(r, sname(side.name, "ga.hb2"), [T("a.secret")])
            resp = r.request("ConsumerGroupDescribe", 0, group_ids=[T("gb.seen"), T("gc.seen")],
                             include_authorized_operations=False)
            out["describe groups denied"] = {g.group_id: (g.error_code, len(g.members)) for g in resp.groups}
            resp = r.request("DescribeTopicPartitions", 0, topics=[{"name": T(n)} for n in
                             ("a.data", "a.secret", "b.data", "a.none", "zz.none")],
                             response_partition_limit=2000, cursor=None)
            out["describe topic partitions"] = {t.name: (t.error_code, len(t.partitions)) for t in resp.topics}
            seen, cursor = set(), None
            for _ in range(500):
                resp = r.request("DescribeTopicPartitions", 0, topics=[], response_partition_limit=1,
                                 cursor=cursor)
                seen |= {t.name for t in resp.topics if t.name.startswith(R)}
                if resp.next_cursor is None:
                    break
                cursor = {"topic_name": resp.next_cursor.topic_name,
                          "partition_index": resp.next_cursor.partition_index}
            out["describe topic partitions walk"] = sorted(seen)
        return out

    def expect(b):
        assert b["heartbeat denied group"] == 30, b
        assert b["heartbeat blocked group"] == 30, b
        assert b["heartbeat hidden topic"] == 29, b
        assert b["heartbeat hidden secret"] == 29, b
        assert all(e == 30 and n == 0 for e, n in b["describe groups denied"].values()), b
        d = b["describe topic partitions"]
        assert d["a.data"] == (0, 2) and d["a.secret"][0] == 29 and d["b.data"][0] == 29, b
        assert "b.data" not in b["describe topic partitions walk"], b
        assert "a.data" in b["describe topic partitions walk"], b
    compare(env, "Kafka 4.x group and partition APIs", run, expect)


def _topic_ids():
    """Topic id (str of a uuid.UUID, as kafka-python decodes it) -> name, for every topic of this module (read on
    PLAINTEXT as ANONYMOUS, a super user)."""
    from confluent_kafka import TopicCollection
    names = kafka_topics_with_prefix(R)
    admin = _plain_admin()   # kept alive until the futures are done
    fs = admin.describe_topics(TopicCollection(names))
    out = {}
    mask = (1 << 64) - 1
    for name, f in fs.items():
        tid = f.result(timeout=20).topic_id
        u = uuid.UUID(int=((tid.get_most_significant_bits() & mask) << 64)
                      | (tid.get_least_significant_bits() & mask))
        out[str(u)] = name
    return out


def _assigned(resp, ids):
    """Topic names of a ConsumerGroupHeartbeat answer's assignment (None: no assignment)."""
    if resp.assignment is None:
        return None
    return sorted(ids.get(str(t.topic_id), "?unknown-id") for t in resp.assignment.topic_partitions)


def test_kafka4_regex_subscription_and_group_describe(env, tmp_path):
    """Kafka 4.x ConsumerGroupHeartbeat with a regex, and ConsumerGroupDescribe of a group alice
    may describe, compared with StandardAuthorizer: requests go to the group's coordinator
    (found with FindCoordinator on each side), so the answers are the coordinator's own.
    - alice subscribes with the regex `<run prefix>.*` (every topic of this module): she is
      assigned exactly the topics she may describe (a 4.x coordinator resolves a regex for the
      member's principal; the gateway resolves it itself), and describing her group shows them;
    - a super user joins a group alice may describe, subscribed to a topic she may not
      (b.data): describing that group, alice gets 29 and no members."""
    if side_kafka_major(env) < 4:
        pytest.skip("KIP-848 groups need Kafka 4.x")
    _kip848_proto(tmp_path)
    ids = _topic_ids()

    def heartbeat(r, group, member, epoch, **sub):
        return r.request("ConsumerGroupHeartbeat", 1, group_id=group, member_id=member,
                         member_epoch=epoch, rebalance_timeout_ms=30000, topic_partitions=[],
                         **sub)

    def join_until_assigned(r, group, timeout=30.0, **sub):
        """Heartbeats (the first with the subscription) until an assignment arrives."""
        member, epoch = uuid.uuid4().hex[:22], 0
        resp = heartbeat(r, group, member, epoch, **sub)
        deadline = time.monotonic() + timeout
        while resp.error_code == 0 and time.monotonic() < deadline:
            member, epoch = resp.member_id or member, resp.member_epoch
            got = _assigned(resp, ids)
            if got:
                return resp.error_code, got, member, epoch
            time.sleep(0.5)   # a 4.x coordinator resolves regexes in the background
            resp = heartbeat(r, group, member, epoch)
        return resp.error_code, _assigned(resp, ids), member, epoch

    def leave(r, group, member):
        heartbeat(r, group, member, -1)

    def run(side):
        out = {}
        mine, mixed = sname(side.name, "ga.re"), sname(side.name, "ga.mixed")
        with side.raw_coordinator("alice", mine) as r:
            err, got, member, _ = join_until_assigned(
                r, mine, subscribed_topic_regex=f"{re.escape(R)}.*", server_assignor=None)
            out["regex heartbeat"] = (err, got)
            d = r.request("ConsumerGroupDescribe", 0, group_ids=[mine],
                          include_authorized_operations=False).groups[0]
            out["describe own group"] = (d.error_code, [
                sorted(tp.topic_name for tp in m.assignment.topic_partitions) for m in d.members])
            leave(r, mine, member)
        with side.raw_coordinator("admin", mixed) as a:
            err, got, member, _ = join_until_assigned(a, mixed, subscribed_topic_names=[T("b.data")])
            assert (err, got) == (0, [T("b.data")]), (side.name, err, got)
            with side.raw_coordinator("alice", mixed) as r:
                d = r.request("ConsumerGroupDescribe", 0, group_ids=[mixed],
                              include_authorized_operations=False).groups[0]
                out["describe group with a hidden topic"] = (d.error_code, len(d.members))
            leave(a, mixed, member)
        return out

    def expect(b):
        err, got = b["regex heartbeat"]
        assert err == 0 and got, b
        assert "a.data" in got and "shared" in got and "public" in got, b
        assert not {"a.secret", "b.data", "c.data"} & set(got), b
        assert b["describe own group"] == (0, [got]), b
        assert b["describe group with a hidden topic"] == (29, 0), b
    compare(env, "Kafka 4.x regex subscription and group describe", run, expect)


# ---------------------------------------------------------------------------------------------
# Kafka's Java tools

def _java(side, user, tool, *args, input=None, timeout=60):
    k = side.kafka
    return k.tool(tool, "--bootstrap-server", side.bootstrap, *args, input=input, timeout=timeout, check=False)


def side_kafka_major(env):
    return next(iter(env.values())).kafka.major


def test_java_tools(env):
    def run(side):
        k = side.kafka
        s = SIDE_SUFFIX[side.name]
        pa, pb, pc = side.java_props("alice"), side.java_props("bob"), side.java_props("carol")
        jobs = {
            "alice produce a.secret": lambda: _java(
                side, "alice", "console-producer", "--topic", T("a.secret"), k.producer_config_flag(), pa,
                k.producer_prop_flag(), "max.block.ms=8000", k.producer_prop_flag(), "delivery.timeout.ms=8000",
                k.producer_prop_flag(), "request.timeout.ms=5000", input=b"x\n"),
            "alice consume blocked group": lambda: _java(
                side, "alice", "console-consumer", "--topic", T("a.data"), k.consumer_config_flag(), pa,
                "--group", f"{T('ga.blocked.j')}-{s}", "--from-beginning", "--max-messages", 1,
                "--timeout-ms", 10000),
            "alice consume a.data": lambda: _java(
                side, "alice", "console-consumer", "--topic", T("a.data"), k.consumer_config_flag(), pa,
                "--group", f"{T('ga.j')}-{s}", "--from-beginning", "--max-messages", SEED, "--timeout-ms", 15000),
            "bob describe group ga.seen": lambda: _java(
                side, "bob", "consumer-groups", "--command-config", pb, "--describe", "--group", T("ga.seen")),
            "alice describe configs b.data": lambda: _java(
                side, "alice", "configs", "--command-config", pa, "--describe", "--entity-type", "topics",
                "--entity-name", T("b.data")),
            "bob create topic a.j": lambda: _java(
                side, "bob", "topics", "--command-config", pb, "--create", "--topic", f"{T('a.j')}-{s}",
                "--partitions", 1, "--replication-factor", 3),
            "carol list topics": lambda: _java(side, "carol", "topics", "--command-config", pc, "--list"),
            "alice list groups": lambda: _java(side, "alice", "consumer-groups", "--command-config", pa, "--list"),
        }
        with ThreadPoolExecutor(4) as ex:
            futs = {name: ex.submit(fn) for name, fn in jobs.items()}
            cps = {name: f.result() for name, f in futs.items()}
        out = {name: au.java_outcome(cp) for name, cp in cps.items()}
        out["carol list topics (ours)"] = sorted(
            ln for ln in cps["carol list topics"].stdout.decode().split() if ln in {T(t) for t in SHARED_TOPICS})
        out["alice list groups (ours)"] = sorted(
            ln for ln in cps["alice list groups"].stdout.decode().split() if ln in {T(g) for g in SEEN_GROUPS})
        out["alice consume a.data lines"] = len(cps["alice consume a.data"].stdout.decode().splitlines())
        return out

    def expect(b):
        assert b["alice produce a.secret"][1] == ("TopicAuthorizationException",), b
        assert b["alice consume blocked group"][1] == ("GroupAuthorizationException",), b
        assert b["bob describe group ga.seen"][1] == ("GroupAuthorizationException",), b
        if side_kafka_major(env) < 4:  # (4.x ConfigCommand prints nothing for it)
            assert b["alice describe configs b.data"][1] == ("TopicAuthorizationException",), b
        assert b["bob create topic a.j"][1] == ("TopicAuthorizationException",), b
        assert "c.data" in b["carol list topics (ours)"] and "a.data" not in b["carol list topics (ours)"], b
        assert b["alice consume a.data lines"] == SEED, b
    compare(env, "Java tools", run, expect)
