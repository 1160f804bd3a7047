"""(b) (c) (d) (e) librdkafka clients (confluent-kafka and kcat) through the gateway."""

import json
import os
import random

import pytest

import kg

N = 10_000


def _binary_records(n, seed):
    rng = random.Random(seed)
    recs = []
    for i in range(n):
        key = f"k{i:05d}".encode() + rng.randbytes(rng.randrange(0, 8))
        value = rng.randbytes(rng.randrange(0, 600))  # arbitrary bytes incl. NUL, non-UTF-8
        recs.append((key, value))
    return recs


def test_confluent_kafka_roundtrip(kafka, gateway, names):
    gw = gateway.bootstrap
    topic, group = names.topic(), names.group()
    kg.create_topic(gw, topic, 6, 3)
    stats = kg.StatsCollector()
    recs = _binary_records(N, topic)
    delivered = kg.produce(gw, topic, recs, conf={"acks": "all", **stats.conf()})
    assert len(delivered) == N
    by_part = {}
    for p, off, k in delivered:
        by_part.setdefault(p, []).append(off)
    assert len(by_part) == 6, f"keyed records landed in partitions {sorted(by_part)} only"

    msgs, committed = kg.consume(gw, topic, group, N, conf=stats.conf())
    sent = sorted(recs)
    got = sorted((k, v) for _, _, k, v in msgs)
    assert got == sent, "consumed (key, value) bytes differ from the produced ones"
    # partition/offset of each key as reported at delivery == as consumed
    d_pos = {k: (p, o) for p, o, k in delivered}
    c_pos = {k: (p, o) for p, o, k, _ in msgs}
    assert d_pos == c_pos, "delivery report positions differ from consumed positions"

    hw = kg.watermarks(gw, topic, range(6))
    assert committed == {p: hw[p][1] for p in range(6)}, f"committed {committed} != high watermarks {hw}"
    assert sum(h for _, h in hw.values()) == N
    stats.assert_only(gateway, "confluent-kafka producer/consumer")


def _kcat(args, input=None, timeout=120):
    return kg.run(["kcat", *args], input=input, timeout=timeout)


def test_kcat_roundtrip(kafka, gateway, names):
    gw = gateway.bootstrap
    topic, group = names.topic(), names.group()
    kg.create_topic(gw, topic, 6, 3)
    rng = random.Random(topic)
    lines = []
    for i in range(N):
        v = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 ,.;-_=+/") for _ in range(rng.randrange(1, 120)))
        lines.append(b"key%05d:" % i + b"%d|" % i + v)
    _kcat(["-P", "-b", gw, "-t", topic, "-K:", "-X", "acks=all", "-X", "enable.idempotence=true",
           "-X", "linger.ms=5"], input=b"\n".join(lines) + b"\n")
    cp = _kcat(["-C", "-b", gw, "-G", group, "-o", "beginning", "-c", str(N), "-f", "%k:%s\n",
                "-X", "auto.offset.reset=earliest", "-X", "enable.auto.commit=true",
                "-X", "auto.commit.interval.ms=500", topic], timeout=180)
    got = cp.stdout.splitlines()
    assert len(got) == N, f"kcat consumed {len(got)} of {N}; stderr: {cp.stderr.decode()[-2000:]}"
    assert sorted(got) == sorted(lines), "kcat consumed bytes differ from produced ones"
    kg.assert_no_direct_address(cp.stderr.decode(errors="replace"), "kcat consumer stderr")

    # kcat closes the consumer, which commits the final offsets: check lag 0 via the gateway
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": gw, "group.id": group, "enable.auto.commit": False})
    try:
        committed = {tp.partition: tp.offset
                     for tp in c.committed([TopicPartition(topic, p) for p in range(6)], timeout=20)}
    finally:
        c.close()
    hw = kg.watermarks(gw, topic, range(6))
    assert committed == {p: hw[p][1] for p in range(6)}, f"kcat group committed {committed}, high watermarks {hw}"


def test_metadata_only_gateway_addresses_admin(kafka, gateway, names):
    """(c) AdminClient metadata and group coordinator carry only gateway addresses."""
    from confluent_kafka.admin import AdminClient
    gw = gateway.bootstrap
    topic = names.topic()
    kg.create_topic(gw, topic, 6, 3)
    stats = kg.StatsCollector()
    a = AdminClient({"bootstrap.servers": gw, **stats.conf()})
    import time
    deadline = time.monotonic() + 30
    while True:  # all-topics metadata; brokers learn about the new topic asynchronously
        md = a.list_topics(timeout=15)
        if topic in md.topics or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    brokers = {b.id: (b.host, b.port) for b in md.brokers.values()}
    assert brokers == gateway.advertised, f"metadata brokers {brokers} != gateway addresses {gateway.advertised}"
    assert md.controller_id in (1, 2, 3)
    assert topic in md.topics
    # group coordinator through FindCoordinator
    group = names.group()
    kg.produce(gw, topic, [(b"k", b"v")])
    kg.consume(gw, topic, group, 1)
    res = a.describe_consumer_groups([group])[group].result(30)
    coord = res.coordinator
    assert (coord.host, coord.port) == gateway.advertised[coord.id], (
        f"group coordinator {coord.host}:{coord.port} (id {coord.id}) is not the gateway address")
    a.poll(1)  # the AdminClient delivers statistics only from poll()
    stats.assert_only(gateway, "AdminClient")


def test_metadata_only_gateway_addresses_kcat(kafka, gateway, names):
    """(c) kcat -L -J shows only gateway addresses."""
    gw = gateway.bootstrap
    cp = _kcat(["-L", "-J", "-b", gw], timeout=60)
    md = json.loads(cp.stdout)
    brokers = {b["id"]: b["name"] for b in md["brokers"]}
    want = {n: f"{h}:{p}" for n, (h, p) in gateway.advertised.items()}
    assert brokers == want, f"kcat brokers {brokers} != {want}"
    ob = md["originating_broker"]["name"]
    assert ob.split("/")[0] in gateway.addresses, f"originating broker {ob}"
    text = cp.stdout.decode() + cp.stderr.decode()
    kg.assert_no_direct_address(text, "kcat -L -J output")


def test_leaders_on_all_brokers_reached(kafka, gateway, names):
    """(d) partition leaders cover nodes 1,2,3 and producing to every partition succeeds."""
    gw = gateway.bootstrap
    topic = names.topic()
    kg.create_topic(gw, topic, 6, 3)
    # (brokers learn about a new topic asynchronously: retry until the answering one knows it)
    md = kg.wait_topic_ready(gw, topic, 6)
    leaders = {p: pm.leader for p, pm in md.topics[topic].partitions.items()}
    assert set(leaders.values()) == {1, 2, 3}, f"leaders {leaders} do not cover all brokers"
    stats = kg.StatsCollector()
    for p in range(6):
        delivered = kg.produce(gw, topic, [(f"p{p}-{i}".encode(), os.urandom(64)) for i in range(50)],
                               partition=p, conf=stats.conf())
        assert len(delivered) == 50 and {d[0] for d in delivered} == {p}, delivered[:3]
        assert sorted(d[1] for d in delivered) == list(range(50)), f"partition {p} offsets"
    hw = kg.watermarks(gw, topic, range(6))
    assert all(hw[p] == (0, 50) for p in range(6)), hw
    stats.assert_only(gateway, "per-partition producers")
    # the producer talked to each leader's gateway port
    used = {n for n in stats.nodenames}
    for node in (1, 2, 3):
        h, port = gateway.advertised[node]
        assert f"{h}:{port}" in used, f"no connection to node {node} via gateway port {port}: {used}"


@pytest.mark.parametrize("client", ["confluent-kafka", "kcat"])
def test_acks0(kafka, gateway, names, client):
    """(e) acks=0 produce requests (no response from the broker) through the gateway."""
    gw = gateway.bootstrap
    topic = names.topic()
    kg.create_topic(gw, topic, 3, 3)
    # With acks=0 a broker answers an error (e.g. a leader not elected yet)
    # by closing the connection, and the records are lost by design: wait
    # until every partition has its leader and full ISR first.
    kg.wait_topic_ready(gw, topic, 3)
    n = 5000
    recs = [(f"a0-{i}".encode(), f"value-{i}".encode() * 3) for i in range(n)]
    if client == "confluent-kafka":
        kg.produce(gw, topic, recs, conf={"acks": 0, "enable.idempotence": False})
    else:
        _kcat(["-P", "-b", gw, "-t", topic, "-K:", "-X", "acks=0"],
              input=b"".join(k + b":" + v + b"\n" for k, v in recs))
    # after acks=0 traffic, an acks=all request on the same connections must still work
    kg.produce(gw, topic, [(b"after-acks0", b"x")], conf={"acks": "all"})
    msgs, _ = kg.consume(gw, topic, names.group(), n + 1)
    assert sorted((k, v) for _, _, k, v in msgs) == sorted(recs + [(b"after-acks0", b"x")])


def test_one_mib_messages(kafka, gateway, names):
    """(e) 1 MiB values through the gateway, byte-compared."""
    gw = gateway.bootstrap
    topic = names.topic()
    kg.create_topic(gw, topic, 3, 3, config={"max.message.bytes": str(4 * 1024 * 1024)})
    recs = [(f"big-{i}".encode(), os.urandom(1048576)) for i in range(6)]
    kg.produce(gw, topic, recs, conf={"message.max.bytes": 4 * 1024 * 1024, "acks": "all",
                                      "compression.type": "none"})
    msgs, _ = kg.consume(gw, topic, names.group(), len(recs),
                         conf={"fetch.max.bytes": 8 * 1024 * 1024,
                               "max.partition.fetch.bytes": 4 * 1024 * 1024,
                               "receive.message.max.bytes": 16 * 1024 * 1024})
    assert sorted((k, v) for _, _, k, v in msgs) == sorted(recs)
    # kcat too (librdkafka 2.0 from Debian)
    cp = kg.run(["kcat", "-C", "-b", gw, "-t", topic, "-o", "beginning", "-e", "-f", "%k %S\n",
                 "-X", "fetch.max.bytes=8388608", "-X", "receive.message.max.bytes=16777216",
                 "-X", "max.partition.fetch.bytes=4194304"], timeout=60)
    assert sorted(line for line in cp.stdout.decode().splitlines()) == sorted(
        f"{k.decode()} {len(v)}" for k, v in recs), cp.stdout.decode()
