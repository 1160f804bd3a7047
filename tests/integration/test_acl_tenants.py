"""Multi-tenant isolation through the gateway's ACL policy (SASL/SCRAM at the gateway).

Tenants A and B (principals User:tenant-a-app, User:tenant-b-app) own everything named
tenant-a.* / tenant-b.* (topics, groups, transactional ids). Each can do everything with its own
resources; neither can see, read, write, describe or alter the other's, through every API the
clients reach (confluent-kafka) and, where they do not, raw requests (kafka-python's message
classes): Metadata, DescribeTopicPartitions, ListGroups, DescribeGroups, ListTransactions,
DescribeTransactions, OffsetFetch for all topics, FindCoordinator, OffsetCommit, JoinGroup,
Heartbeat, OffsetDelete, ListOffsets, OffsetForLeaderEpoch, DescribeProducers, Fetch (by name
and by topic id), Produce, DeleteRecords, DeleteTopics, DeleteGroups, CreateTopics,
CreatePartitions, DescribeConfigs, IncrementalAlterConfigs, InitProducerId, AddPartitionsToTxn,
AddOffsetsToTxn, TxnOffsetCommit; cluster APIs (ElectLeaders, DescribeLogDirs,
ListPartitionReassignments) give 31.

Also: policy reload (SIGHUP and file change) applied to an existing connection; an invalid policy
keeps the old one and is logged; acks=0 produce to a denied topic closes the connection; a
rule limited to hosts 10.0.0.0/8 does not apply to clients on 127.0.0.1.

The brokers' own authorizer plays no part here: the gateway connects upstream as ANONYMOUS, a
super user of the bed."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

import acl_util as au
from acl_util import allow, deny, role
import kg

RUN = uuid.uuid4().hex[:6]
A, B = f"tenant-a.{RUN}.", f"tenant-b.{RUN}."
UA, UB = "tenant-a-app", "tenant-b-app"


def tenant_role(name, user, prefix):
    return role(name, [f"User:{user}"], [
        allow("topic", ["ALL"], prefix=prefix),
        allow("group", ["ALL"], prefix=prefix),
        allow("transactional_id", ["ALL"], prefix=prefix),
        allow("cluster", ["IDEMPOTENT_WRITE"]),
    ])


def base_roles():
    rb = tenant_role("tenant-b", UB, "tenant-b.")
    rb["rules"] += [
        # host-limited rules: 10.0.0.0/8 never matches 127.0.0.1, 127.0.0.0/8 does
        allow("topic", ["READ"], name=A + "hostonly", hosts=["10.0.0.0/8"]),
        deny("topic", ["ALL"], name=B + "hostdeny", hosts=["10.0.0.0/8"]),
        allow("topic", ["DESCRIBE"], name=A + "loopback", hosts=["127.0.0.0/8"]),
    ]
    return [tenant_role("tenant-a", UA, "tenant-a."), rb]


# ---------------------------------------------------------------------------------------------
# fixtures

def _plain_admin():
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": kg.DIRECT_BOOTSTRAP})


def _topic_id(topic):
    from confluent_kafka import TopicCollection
    a = _plain_admin()
    u = a.describe_topics(TopicCollection([topic]), request_timeout=15)[topic].result(20).topic_id
    return uuid.UUID(int=((u.get_most_significant_bits() & (2**64 - 1)) << 64)
                     | (u.get_least_significant_bits() & (2**64 - 1)))


@pytest.fixture(scope="module")
def tenv(kafka, gateway_factory, gateway_bin, tmp_path_factory):
    from confluent_kafka import Producer, TopicPartition
    from confluent_kafka.admin import NewTopic
    if gateway_bin is None:
        pytest.skip("KG_DIRECT=1: tenant isolation is enforced by the gateway")
    tmp = tmp_path_factory.mktemp("acl-tenants")
    topics = [A + "data", A + "hostonly", B + "data", B + "hostdeny"]
    a = _plain_admin()
    for t, f in a.create_topics([NewTopic(t, 2, 3) for t in topics], operation_timeout=30).items():
        f.result(60)
    for t in topics:
        kg.wait_topic_ready(kg.DIRECT_BOOTSTRAP, t, 2, full_isr=False)
    p = Producer({"bootstrap.servers": kg.DIRECT_BOOTSTRAP, "acks": "all"})
    for t in topics:
        for i in range(3):
            p.produce(t, key=b"k%d" % i, value=b"v", partition=0)
    assert p.flush(60) == 0
    # groups with offsets (as ANONYMOUS, a super user): A's group also holds an offset of B's topic
    for g, offs in {A + "g1": [TopicPartition(A + "data", 0, 1), TopicPartition(B + "data", 0, 1)],
                    B + "g1": [TopicPartition(B + "data", 0, 1)]}.items():
        au.commit_offsets(g, offs)
    policy = au.write_policy(tmp / "policy.json", base_roles())
    gw = au.start_acl_gateway(gateway_factory, "gw-acl-tenants", tmp, policy)
    side = au.gateway_side(kafka, gw, tmp)
    # a committed transaction of each tenant (ListTransactions / DescribeTransactions)
    for user, pre in ((UA, A), (UB, B)):
        tp = Producer(side.conf(user, **{"transactional.id": pre + "tx1"}))
        tp.init_transactions(20)
        tp.begin_transaction()
        tp.produce(pre + "data", value=b"txn", partition=1)
        tp.commit_transaction(20)
    yield {"gw": gw, "side": side, "policy": policy, "tmp": tmp}
    au.write_policy(policy, base_roles())


def _gw_raw(tenv, user, port=None):
    gw = tenv["gw"]
    return au.Raw(gw.bootstrap_host, port or gw.bootstrap_port, user, au.PASSWORDS[user])


def _fs(fs, timeout=30):
    return {str(k): au.future_result(f, timeout) for k, f in fs.items()}


def _consume(side, user, group, topic, timeout=12.0):
    from confluent_kafka import Consumer, KafkaError
    c = Consumer(side.conf(user, **{"group.id": group, "auto.offset.reset": "earliest",
                                    "enable.auto.commit": False}))
    got = 0
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + timeout
        while got < 3 and time.monotonic() < deadline:
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


def _produce(side, user, topic, timeout=10, **conf):
    from confluent_kafka import Producer
    p = Producer(side.conf(user, **{"acks": "all", "message.timeout.ms": timeout * 1000, **conf}))
    res = []
    p.produce(topic, key=b"k", value=b"v", on_delivery=lambda e, m: res.append(au.err_name(e)))
    p.flush(timeout + 5)
    return res[0] if res else "NOT_DELIVERED"


# ---------------------------------------------------------------------------------------------
# 1. own resources: everything works

@pytest.mark.parametrize("user,pre", [(UA, A), (UB, B)], ids=["tenant-a", "tenant-b"])
def test_tenant_owns_its_resources(tenv, user, pre):
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions,
                                       NewTopic, ResourceType)
    side = tenv["side"]
    adm = side.admin(user)
    new, grp, txn = pre + "own", pre + "own-g", pre + "own-tx"
    res = {}
    res["create topic"] = _fs(adm.create_topics([NewTopic(new, 1, 3)], operation_timeout=20))[new]
    kg.wait_topic_ready(side.bootstrap, new, 1, conf=side.conf(user), full_isr=False)
    res["produce idempotent"] = _produce(side, user, new, **{"enable.idempotence": True})
    res["produce data"] = _produce(side, user, pre + "data")
    res["consume+commit"] = _consume(side, user, grp, pre + "data")
    res["transaction"] = "NONE"
    try:
        from confluent_kafka import Producer
        tp = Producer(side.conf(user, **{"transactional.id": txn}))
        tp.init_transactions(20)
        tp.begin_transaction()
        tp.produce(new, value=b"t")
        tp.commit_transaction(20)
    except Exception as e:  # noqa: BLE001
        res["transaction"] = au.err_name(e)
    res["describe configs"] = list(_fs(adm.describe_configs([ConfigResource(ResourceType.TOPIC, new)])).values())[0]
    res["alter configs"] = list(_fs(adm.incremental_alter_configs([ConfigResource(
        ResourceType.TOPIC, new, incremental_configs=[ConfigEntry("retention.ms", "3600000",
                                                                  incremental_operation=AlterConfigOpType.SET)])])).values())[0]
    res["create partitions"] = _fs(adm.create_partitions([NewPartitions(new, 2)], operation_timeout=20))[new]
    res["delete records"] = list(_fs(adm.delete_records([TopicPartition(new, 0, 1)], request_timeout=15)).values())[0]
    res["describe group"] = list(_fs(adm.describe_consumer_groups([grp])).values())[0]
    res["delete group"] = list(_fs(adm.delete_consumer_groups([grp], request_timeout=15)).values())[0]
    res["delete topic"] = _fs(adm.delete_topics([new], operation_timeout=20))[new]
    bad = {k: v for k, v in res.items() if v not in ("NONE", "OK:3")}
    assert not bad, f"{user} on its own resources: {res}"
    assert res["consume+commit"] == "OK:3", res


# ---------------------------------------------------------------------------------------------
# 2. the other tenant's resources: invisible, denied everywhere

def _batch():
    from kafka.record.memory_records import MemoryRecordsBuilder
    b = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=100000)
    b.append(timestamp=None, key=b"k", value=b"x", headers=[])
    b.close()
    return bytes(b.buffer())


def _ptopic(r, name):
    """A Produce topic entry: by id from v13 (Kafka 4.1+, KIP-516), else by name."""
    return {"topic_id": _topic_id(name)} if r.version("Produce") >= 13 else {"name": name}


def test_other_tenant_invisible_and_denied_clients(tenv):
    """tenant A against tenant B's resources with confluent-kafka."""
    from confluent_kafka import Producer, TopicPartition, ConsumerGroupTopicPartitions
    from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions,
                                       NewTopic, ResourceType)
    side = tenv["side"]
    adm = side.admin(UA)
    got = {}
    md = adm.list_topics(timeout=15)
    got["listed own topic"] = A + "data" in md.topics
    got["listed B topics"] = sorted(t for t in md.topics if t.startswith("tenant-b."))
    groups = adm.list_consumer_groups(request_timeout=15).result(20)
    got["listed own group"] = A + "g1" in {g.group_id for g in groups.valid}
    got["listed B groups"] = sorted(g.group_id for g in groups.valid if g.group_id.startswith("tenant-b."))
    got["describe B group"] = list(_fs(adm.describe_consumer_groups([B + "g1"])).values())[0]
    got["B group offsets"] = au.future_result(
        adm.list_consumer_group_offsets([ConsumerGroupTopicPartitions(B + "g1")])[B + "g1"])
    got["produce B topic"] = _produce(side, UA, B + "data")
    got["consume B topic"] = _consume(side, UA, A + "c1", B + "data")
    got["consume in B group"] = _consume(side, UA, B + "c1", A + "data")
    rt = ConfigResource(ResourceType.TOPIC, B + "data")
    got["describe configs"] = list(_fs(adm.describe_configs([rt])).values())[0]
    got["alter configs"] = list(_fs(adm.incremental_alter_configs([ConfigResource(
        ResourceType.TOPIC, B + "data", incremental_configs=[ConfigEntry(
            "retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])])).values())[0]
    got["create partitions"] = _fs(adm.create_partitions([NewPartitions(B + "data", 4)], operation_timeout=20))[B + "data"]
    got["delete records"] = "denied" if list(_fs(adm.delete_records([TopicPartition(B + "data", 0, 1)], request_timeout=15)).values())[0] \
        in ("TOPIC_AUTHORIZATION_FAILED", "_NOENT") else "not denied"  # librdkafka: _NOENT (topic not visible)
    got["delete topic"] = _fs(adm.delete_topics([B + "data"], operation_timeout=20))[B + "data"]
    got["create topic in B's prefix"] = _fs(adm.create_topics([NewTopic(B + "new", 1, 3)], operation_timeout=20))[B + "new"]
    try:
        tp = Producer(side.conf(UA, **{"transactional.id": B + "tx1"}))
        tp.init_transactions(15)
        got["B transactional id"] = "NONE"
    except Exception as e:  # noqa: BLE001
        got["B transactional id"] = au.err_name(e)
    want = {
        "listed own topic": True, "listed B topics": [], "listed own group": True, "listed B groups": [],
        "describe B group": "GROUP_AUTHORIZATION_FAILED", "B group offsets": "GROUP_AUTHORIZATION_FAILED",
        "produce B topic": "TOPIC_AUTHORIZATION_FAILED", "consume B topic": "TOPIC_AUTHORIZATION_FAILED",
        "consume in B group": "GROUP_AUTHORIZATION_FAILED", "describe configs": "TOPIC_AUTHORIZATION_FAILED",
        "alter configs": "TOPIC_AUTHORIZATION_FAILED", "create partitions": "TOPIC_AUTHORIZATION_FAILED",
        "delete records": "denied", "delete topic": "TOPIC_AUTHORIZATION_FAILED",
        "create topic in B's prefix": "TOPIC_AUTHORIZATION_FAILED",
        "B transactional id": "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
    }
    assert got == want, "\n".join(f"{k}: got {got.get(k)!r}, want {v!r}" for k, v in want.items() if got.get(k) != v)
    # B's data is still there (nothing was deleted or altered)
    md = _plain_admin().list_topics(B + "data", timeout=15)
    assert len(md.topics[B + "data"].partitions) == 2


def test_other_tenant_invisible_and_denied_raw(tenv):
    """tenant A against tenant B's resources with raw requests: exact error codes."""
    gw = tenv["gw"]
    tid_b = _topic_id(B + "data")
    got, want = {}, {}
    with _gw_raw(tenv, UA) as r:
        md = r.request("Metadata", topics=[{"name": B + "data"}, {"name": B + "nothing"}, {"name": A + "data"}],
                       allow_auto_topic_creation=True)
        got["metadata named"] = {t.name: t.error_code for t in md.topics}
        want["metadata named"] = {B + "data": 29, B + "nothing": 29, A + "data": 0}
        md = r.request("Metadata", topics=None, allow_auto_topic_creation=False)
        names = {t.name for t in md.topics}
        got["metadata all: B hidden, A shown"] = (not any(n.startswith("tenant-b.") for n in names), A + "data" in names)
        want["metadata all: B hidden, A shown"] = (True, True)
        if r.version("Metadata") >= 12:
            md = r.request("Metadata", topics=[{"topic_id": tid_b, "name": None}], allow_auto_topic_creation=False)
            got["metadata by id"] = [(t.name, t.error_code) for t in md.topics]
            want["metadata by id"] = [(None, 29)]
            # a hidden id beside an allowed name: a broker answers for the ids only (the
            # names are ignored), so the hidden id gets 29 and nothing else is listed
            md = r.request("Metadata", topics=[{"topic_id": tid_b, "name": None}, {"name": A + "data"}],
                           allow_auto_topic_creation=False)
            got["metadata hidden id + allowed name"] = [(t.name, t.error_code) for t in md.topics]
            want["metadata hidden id + allowed name"] = [(None, 29)]
            md = r.request("Metadata", topics=[{"topic_id": tid_b, "name": None},
                                               {"topic_id": _topic_id(A + "data"), "name": None}],
                           allow_auto_topic_creation=False)
            got["metadata hidden id + allowed id"] = sorted((t.name or "", t.error_code) for t in md.topics)
            want["metadata hidden id + allowed id"] = [("", 29), (A + "data", 0)]
        if 75 in r.apis:  # DescribeTopicPartitions (Kafka 3.7+)
            resp = r.request("DescribeTopicPartitions", topics=[{"name": B + "data"}, {"name": A + "data"}],
                             response_partition_limit=100)
            got["DescribeTopicPartitions named"] = {t.name: t.error_code for t in resp.topics}
            want["DescribeTopicPartitions named"] = {B + "data": 29, A + "data": 0}
            resp = r.request("DescribeTopicPartitions", topics=[], response_partition_limit=2000)
            names = {t.name for t in resp.topics}
            got["DescribeTopicPartitions all"] = (not any(n.startswith("tenant-b.") for n in names), A + "data" in names)
            want["DescribeTopicPartitions all"] = (True, True)
        resp = r.request("FindCoordinator", key_type=0, coordinator_keys=[B + "g1", A + "g1"])
        got["FindCoordinator group"] = {c.key: c.error_code for c in resp.coordinators}
        want["FindCoordinator group"] = {B + "g1": 30, A + "g1": 0}
        resp = r.request("FindCoordinator", key_type=1, coordinator_keys=[B + "tx1", A + "tx1"])
        got["FindCoordinator txn"] = {c.key: c.error_code for c in resp.coordinators}
        want["FindCoordinator txn"] = {B + "tx1": 53, A + "tx1": 0}
        resp = r.request("DescribeGroups", groups=[B + "g1"])
        got["DescribeGroups"] = [g.error_code for g in resp.groups]
        want["DescribeGroups"] = [30]
        resp = r.request("OffsetCommit", group_id=B + "g1", generation_id_or_member_epoch=-1, member_id="",
                         topics=[{"name": A + "data", "partitions": [{"partition_index": 0, "committed_offset": 2}]}])
        got["OffsetCommit B group"] = [p.error_code for t in resp.topics for p in t.partitions]
        want["OffsetCommit B group"] = [30]
        resp = r.request("OffsetFetch", groups=[{"group_id": B + "g1", "topics": None}], require_stable=False) \
            if r.version("OffsetFetch") >= 8 else r.request("OffsetFetch", group_id=B + "g1", topics=None)
        got["OffsetFetch B group"] = [g.error_code for g in resp.groups] if r.version("OffsetFetch") >= 8 else resp.error_code
        want["OffsetFetch B group"] = [30] if r.version("OffsetFetch") >= 8 else 30
        resp = r.request("Heartbeat", group_id=B + "g1", generation_id=1, member_id="m")
        got["Heartbeat"] = resp.error_code
        want["Heartbeat"] = 30
        resp = r.request("JoinGroup", group_id=B + "g1", session_timeout_ms=10000, rebalance_timeout_ms=10000,
                         member_id="", protocol_type="consumer", protocols=[{"name": "range", "metadata": b""}])
        got["JoinGroup"] = resp.error_code
        want["JoinGroup"] = 30
        resp = r.request("OffsetDelete", group_id=B + "g1",
                         topics=[{"name": B + "data", "partitions": [{"partition_index": 0}]}])
        got["OffsetDelete"] = resp.error_code
        want["OffsetDelete"] = 30
        resp = r.request("DeleteGroups", groups_names=[B + "g1"])
        got["DeleteGroups"] = [g.error_code for g in resp.results]
        want["DeleteGroups"] = [30]
        resp = r.request("ListOffsets", replica_id=-1, isolation_level=0, topics=[
            {"name": B + "data", "partitions": [{"partition_index": 0, "timestamp": -1}]}])
        got["ListOffsets"] = [p.error_code for t in resp.topics for p in t.partitions]
        want["ListOffsets"] = [29]
        resp = r.request("OffsetForLeaderEpoch", replica_id=-2, topics=[
            {"topic": B + "data", "partitions": [{"partition": 0, "current_leader_epoch": -1, "leader_epoch": 0}]}])
        got["OffsetForLeaderEpoch"] = [p.error_code for t in resp.topics for p in t.partitions]
        want["OffsetForLeaderEpoch"] = [29]
        if 61 in r.apis:
            resp = r.request("DescribeProducers", topics=[{"name": B + "data", "partition_indexes": [0]}])
            got["DescribeProducers"] = [p.error_code for t in resp.topics for p in t.partitions]
            want["DescribeProducers"] = [29]
        resp = r.request("Produce", transactional_id=None, acks=1, timeout_ms=5000, topic_data=[
            {**_ptopic(r, B + "data"), "partition_data": [{"index": 0, "records": _batch()}]}])
        got["Produce"] = [p.error_code for t in resp.responses for p in t.partition_responses]
        want["Produce"] = [29]
        fv = r.version("Fetch")
        part = {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}
        topic = {"topic_id": tid_b, "partitions": [part]} if fv >= 13 else {"topic": B + "data", "partitions": [part]}
        resp = r.request("Fetch", replica_id=-1, max_wait_ms=100, min_bytes=0, max_bytes=1 << 20, isolation_level=0,
                         session_id=0, session_epoch=-1, topics=[topic])
        got[f"Fetch v{fv}"] = [p.error_code for t in resp.responses for p in t.partitions]
        want[f"Fetch v{fv}"] = [29]
        resp = r.request("DeleteRecords", timeout_ms=5000, topics=[
            {"name": B + "data", "partitions": [{"partition_index": 0, "offset": 0}]}])
        got["DeleteRecords"] = [p.error_code for t in resp.topics for p in t.partitions]
        want["DeleteRecords"] = [29]
        resp = r.request("DeleteTopics", timeout_ms=5000, topics=[{"name": B + "data", "topic_id": uuid.UUID(int=0)}],
                         topic_names=[B + "data"])
        got["DeleteTopics"] = [t.error_code for t in resp.responses]
        want["DeleteTopics"] = [29]
        if r.version("DeleteTopics") >= 6:
            # an allowed name with another tenant's id in the same item: refused at the
            # gateway (INVALID_REQUEST, as a broker answers), not forwarded on the name
            resp = r.request("DeleteTopics", timeout_ms=5000, topics=[
                {"name": A + "never-created", "topic_id": _topic_id(B + "data")}], topic_names=[])
            got["DeleteTopics name + hidden id"] = [t.error_code for t in resp.responses]
            want["DeleteTopics name + hidden id"] = [42]
        resp = r.request("CreatePartitions", topics=[{"name": B + "data", "count": 5, "assignments": None}],
                         timeout_ms=5000, validate_only=True)
        got["CreatePartitions"] = [t.error_code for t in resp.results]
        want["CreatePartitions"] = [29]
        resp = r.request("DescribeConfigs", resources=[{"resource_type": 2, "resource_name": B + "data",
                                                        "configuration_keys": None}])
        got["DescribeConfigs"] = [x.error_code for x in resp.results]
        want["DescribeConfigs"] = [29]
        resp = r.request("DescribeTransactions", transactional_ids=[B + "tx1"])
        got["DescribeTransactions"] = [t.error_code for t in resp.transaction_states]
        want["DescribeTransactions"] = [53]
        resp = r.request("AddPartitionsToTxn", 3, v3_and_below_transactional_id=A + "tx1",
                         v3_and_below_producer_id=0, v3_and_below_producer_epoch=0,
                         v3_and_below_topics=[{"name": B + "data", "partitions": [0]},
                                              {"name": A + "data", "partitions": [0]}])
        got["AddPartitionsToTxn"] = {t.name: [p.partition_error_code for p in t.results_by_partition]
                                     for t in resp.results_by_topic_v3_and_below}
        want["AddPartitionsToTxn"] = {B + "data": [29], A + "data": [55]}
        resp = r.request("AddOffsetsToTxn", transactional_id=A + "tx1", producer_id=0, producer_epoch=0,
                         group_id=B + "g1")
        got["AddOffsetsToTxn"] = resp.error_code
        want["AddOffsetsToTxn"] = 30
        resp = r.request("TxnOffsetCommit", transactional_id=A + "tx1", group_id=B + "g1", producer_id=0,
                         producer_epoch=0, topics=[{"name": A + "data", "partitions": [
                             {"partition_index": 0, "committed_offset": 1}]}])
        got["TxnOffsetCommit"] = [p.error_code for t in resp.topics for p in t.partitions]
        want["TxnOffsetCommit"] = [30]
        resp = r.request("ElectLeaders", election_type=0, topic_partitions=[{"topic": B + "data", "partitions": [0]}],
                         timeout_ms=5000)
        got["ElectLeaders"] = resp.error_code
        want["ElectLeaders"] = 31
        resp = r.request("ListPartitionReassignments", timeout_ms=5000, topics=None)
        got["ListPartitionReassignments"] = resp.error_code
        want["ListPartitionReassignments"] = 31
    # ListGroups / ListTransactions go to every broker: ask each through its gateway port
    groups, txns = set(), set()
    for _node, (_h, port) in gw.advertised.items():
        with _gw_raw(tenv, UA, port) as r:
            groups |= {g.group_id for g in r.request("ListGroups").groups}
            if 66 in r.apis:
                txns |= {t.transactional_id for t in r.request("ListTransactions", state_filters=[],
                                                                producer_id_filters=[]).transaction_states}
    got["ListGroups: B hidden, A shown"] = (not any(g.startswith("tenant-b.") for g in groups), A + "g1" in groups)
    want["ListGroups: B hidden, A shown"] = (True, True)
    got["ListTransactions: B hidden, A shown"] = (not any(t.startswith("tenant-b.") for t in txns), A + "tx1" in txns)
    want["ListTransactions: B hidden, A shown"] = (True, True)
    # OffsetFetch of A's own group for all topics: the offset it holds on B's topic is hidden
    id_names = {_topic_id(t): t for t in (A + "data", B + "data")}
    with tenv["side"].raw_coordinator(UA, A + "g1") as r:
        hi = r.version("OffsetFetch")
        for v in sorted({min(hi, 9), hi}):  # v10 (Kafka 4.x): topics by id, names empty
            if v >= 8:
                resp = r.request("OffsetFetch", v, groups=[{"group_id": A + "g1", "topics": None}], require_stable=False)
                topics = {t.name or id_names.get(t.topic_id, str(t.topic_id)) for g in resp.groups for t in g.topics}
            else:
                resp = r.request("OffsetFetch", v, group_id=A + "g1", topics=None)
                topics = {t.name for t in resp.topics}
            got[f"OffsetFetch v{v} all topics of own group"] = sorted(topics)
            want[f"OffsetFetch v{v} all topics of own group"] = [A + "data"]
    bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    assert not bad, "tenant A on tenant B's resources (got, want):\n" + "\n".join(
        f"  {k}: got {g!r}, want {w!r}" for k, (g, w) in bad.items())


# ---------------------------------------------------------------------------------------------
# 3. acks=0, host-limited rules

def _leader_raw(tenv, user, topic, partition=0):
    """A raw connection to the gateway port of the partition's leader (a broker closes an acks=0
    connection on any error, NOT_LEADER_OR_FOLLOWER included, so a denial must be proven on the
    leader's connection)."""
    leader = kg.partition_leader(kg.DIRECT_BOOTSTRAP, topic, partition)
    return _gw_raw(tenv, user, tenv["gw"].advertised[leader][1])


def test_describe_topic_partitions_cursor_walk(tenv):
    """Paging through all topics one partition at a time (DescribeTopicPartitions with
    ResponsePartitionLimit 1, Kafka 3.7+): neither the answers nor their cursors ever name a
    topic the tenant may not describe (the cursor used to list every topic of the cluster),
    and the walk still reaches the tenant's own topics."""
    with _gw_raw(tenv, UA) as r:
        if 75 not in r.apis:
            pytest.skip("DescribeTopicPartitions needs Kafka 3.7+")
        seen, cursors, cursor = set(), [], None
        for _ in range(200):
            resp = r.request("DescribeTopicPartitions", topics=[], response_partition_limit=1,
                             cursor=cursor)
            seen |= {t.name for t in resp.topics}
            nc = resp.next_cursor
            if nc is None:
                break
            cursors.append(nc.topic_name)
            cursor = {"topic_name": nc.topic_name, "partition_index": nc.partition_index}
        else:
            raise AssertionError(f"the walk did not end: cursors {cursors[-5:]}")
    foreign = sorted(n for n in seen | set(cursors) if not n.startswith("tenant-a."))
    assert not foreign, f"the walk named topics of others: {foreign}"
    assert {A + "data", A + "hostonly"} <= seen, sorted(seen)


def test_acks0_produce_to_denied_topic_closes(tenv):
    with _leader_raw(tenv, UA, A + "data") as r:  # allowed acks=0: the connection stays usable
        r.send("Produce", transactional_id=None, acks=0, timeout_ms=5000,
               topic_data=[{**_ptopic(r, A + "data"), "partition_data": [{"index": 0, "records": _batch()}]}])
        md = r.request("Metadata", topics=[{"name": A + "data"}], allow_auto_topic_creation=False)
        assert md.topics[0].error_code == 0
    with _leader_raw(tenv, UA, B + "data") as r:
        r.send("Produce", transactional_id=None, acks=0, timeout_ms=5000,
               topic_data=[{**_ptopic(r, B + "data"), "partition_data": [{"index": 0, "records": _batch()}]}])
        kg.wait_closed(r.s, 5.0)
    # the allowed acks=0 record arrived, the denied one did not
    lo, hi = kg.watermarks(kg.DIRECT_BOOTSTRAP, A + "data", [0])[0]
    assert hi >= 4, f"acks=0 record to {A}data not written (high watermark {hi})"
    lo, hi = kg.watermarks(kg.DIRECT_BOOTSTRAP, B + "data", [0])[0]
    assert hi == 3, f"the denied acks=0 record reached {B}data (high watermark {hi}, seeded 3)"


def test_host_limited_rules(tenv):
    """tenant B: allow READ on A's hostonly topic from 10.0.0.0/8 only (not for 127.0.0.1),
    deny ALL on its own hostdeny topic from 10.0.0.0/8 only (not for 127.0.0.1), allow DESCRIBE
    on A's loopback topic from 127.0.0.0/8 (applies)."""
    with _gw_raw(tenv, UB) as r:
        md = r.request("Metadata", topics=[{"name": A + "hostonly"}, {"name": B + "hostdeny"},
                                           {"name": A + "loopback"}], allow_auto_topic_creation=False)
        got = {t.name: t.error_code for t in md.topics}
    assert got == {A + "hostonly": 29, B + "hostdeny": 0, A + "loopback": 3}, got
    side = tenv["side"]
    assert _produce(side, UB, B + "hostdeny") == "NONE"
    assert _consume(side, UB, B + "hc", A + "hostonly") == "TOPIC_AUTHORIZATION_FAILED"


# ---------------------------------------------------------------------------------------------
# 4. policy reload (SIGHUP, file change), invalid policy keeps the old one

def _metadata_err(r, topic):
    md = r.request("Metadata", topics=[{"name": topic}], allow_auto_topic_creation=False)
    return md.topics[0].error_code


def _wait_err(r, topic, want, timeout):
    deadline = time.monotonic() + timeout
    while True:
        got = _metadata_err(r, topic)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_policy_reload_on_existing_connection(tenv):
    gw, policy = tenv["gw"], tenv["policy"]
    grant = base_roles()
    grant[0]["rules"].append(allow("topic", ["DESCRIBE"], name=B + "data"))
    try:
        with _gw_raw(tenv, UA) as r:
            assert _metadata_err(r, B + "data") == 29
            # allow, SIGHUP: the same connection is allowed
            au.write_policy(policy, grant)
            gw.proc.send_signal(signal.SIGHUP)
            assert _wait_err(r, B + "data", 0, 5) == 0, "the new policy (SIGHUP) was not applied"
            # back, file change only (polled)
            time.sleep(1.1)  # a different mtime second
            au.write_policy(policy, base_roles())
            assert _wait_err(r, B + "data", 29, 15) == 29, "the file change was not applied"
            # an invalid policy is refused, logged, and the old one stays in force
            off = au.log_size(gw)
            bad = base_roles()
            bad[0]["rules"].append({"effect": "allow", "resource": "topic", "prefix": "tenant-b.",
                                    "operations": ["REED"]})
            au.write_policy(policy, bad)
            gw.proc.send_signal(signal.SIGHUP)
            au.wait_log(gw, off, r"REED", timeout=10)
            assert _metadata_err(r, B + "data") == 29
            assert _metadata_err(r, A + "data") == 0
            gw.assert_alive("after an invalid policy")
    finally:
        au.write_policy(policy, base_roles())
        gw.proc.send_signal(signal.SIGHUP)
    with _gw_raw(tenv, UA) as r:
        assert _wait_err(r, A + "data", 0, 5) == 0


# ---------------------------------------------------------------------------------------------
# 5. KIP-848 consumer groups (Kafka 4.x): subscriptions, regex, describe

def _java_sasl_props(path: Path, user: str) -> Path:
    path.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
                    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                    f'username="{user}" password="{au.PASSWORDS[user]}";\n')
    return path


def test_kip848_consumer_groups(tenv, kafka, tmp_path):
    """Java 4.x consumers with group.protocol=consumer through the gateway as tenant A: an
    allowed subscription is assigned; one naming B's topic fails with
    TopicAuthorizationException (as a 4.x broker answers, 29); a regex subscription matching
    both tenants' topics is assigned only A's (the gateway resolves it for the principal: the
    brokers would resolve it as the gateway's own identity and assign every topic);
    describing A's group shows its member, describing one of A's groups whose member (a super
    user) holds B's topic fails without naming it."""
    if kafka.major < 4:
        pytest.skip("KIP-848 consumer groups need Kafka 4.x brokers")
    libs = Path(os.environ.get("KG_CACHE", Path.home() / ".cache" / "kafka-gateway")) / "kafka-4.3.1" / "libs"
    if not libs.is_dir():
        kg.run([str(kg.BED), "fetch", "4.3.1"], timeout=600)
    out = tmp_path / "java"
    out.mkdir()
    kg.run(["javac", "-nowarn", "-cp", f"{libs}/*", "-d", str(out),
            str(kg.REPO / "tests" / "compat" / "java" / "KgGroups848.java"),
            str(kg.REPO / "tests" / "compat" / "java" / "KgSteps.java")], timeout=180)
    cp = kg.run(["java", "-cp", f"{libs}/*:{out}", "KgGroups848",
                 "--props", str(_java_sasl_props(tmp_path / "ua.properties", UA)),
                 "--super-props", str(_java_sasl_props(tmp_path / "admin.properties", "admin")),
                 "--bootstrap", tenv["gw"].bootstrap, "--allowed", A + "data", "--hidden", B + "data",
                 "--regex", "tenant-.*", "--allowed-prefix", "tenant-a.", "--group-prefix", A],
                timeout=400, check=False)
    steps = [json.loads(l) for l in cp.stdout.decode().splitlines() if l.startswith("{")]
    bad = [s for s in steps if not s["ok"]]
    assert len(steps) == 7 and not bad and cp.returncode == 0, \
        f"KIP-848 steps failing: {bad or steps}\n{cp.stderr.decode()[-3000:]}"
