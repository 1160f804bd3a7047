"""(a) + (c) Apache Kafka's own Java tools (the broker version's clients) through the gateway."""

import random
import re
import string

import kg

N = 10_000


def _lines(n, seed):
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "!#$%&()*+,-./;<=>?@[]^_{|}~ "
    out = []
    for i in range(n):
        vlen = rng.randrange(1, 200)
        value = "".join(rng.choice(alphabet) for _ in range(vlen)).strip() or "x"
        out.append((f"key-{i:05d}-{rng.randrange(1 << 30):x}", f"{i}|{value}"))
    return out


def parse_group_describe(text):
    """Rows of `consumer-groups --describe --group G` -> {(topic, partition): (current, leo, lag)}."""
    rows = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 6 and f[0] != "GROUP" and f[2].isdigit():
            cur = int(f[3]) if f[3].lstrip("-").isdigit() else None
            leo = int(f[4]) if f[4].isdigit() else None
            lag = int(f[5]) if f[5].lstrip("-").isdigit() else None
            rows[(f[1], int(f[2]))] = (cur, leo, lag)
    return rows


def test_java_tools_roundtrip(kafka, gateway, names):
    topic, group = names.topic(), names.group()
    gw = gateway.bootstrap
    outputs = []

    cp = kafka.tool("topics", "--bootstrap-server", gw, "--create", "--topic", topic,
                    "--partitions", 6, "--replication-factor", 3)
    outputs.append(cp.stdout + cp.stderr)
    assert f"Created topic {topic}" in cp.stdout.decode(), cp.stdout.decode()

    cp = kafka.tool("topics", "--bootstrap-server", gw, "--describe", "--topic", topic)
    outputs.append(cp.stdout + cp.stderr)
    desc = cp.stdout.decode()
    assert "PartitionCount: 6" in desc and "ReplicationFactor: 3" in desc, desc
    leaders = {int(m) for m in re.findall(r"Leader: (\d+)", desc)}
    assert leaders == {1, 2, 3}, f"partition leaders {leaders} do not cover brokers 1,2,3:\n{desc}"
    kg.wait_topic_ready(gw, topic, 6)

    # all-topics metadata (Java AdminClient listTopics)
    cp = kafka.tool("topics", "--bootstrap-server", gw, "--list")
    outputs.append(cp.stdout + cp.stderr)
    assert topic in cp.stdout.decode().split(), cp.stdout.decode()

    records = _lines(N, topic)
    data = "".join(f"{k}\t{v}\n" for k, v in records).encode()
    cp = kafka.tool("console-producer", "--bootstrap-server", gw, "--topic", topic,
                    kafka.reader_prop_flag(), "parse.key=true",
                    kafka.reader_prop_flag(), "key.separator=\t",
                    kafka.producer_prop_flag(), "acks=all",
                    kafka.producer_prop_flag(), "linger.ms=20",
                    kafka.producer_prop_flag(), "retries=2147483647",
                    input=data, timeout=240)
    outputs.append(cp.stdout + cp.stderr)
    assert b"ERROR" not in cp.stderr and b"Exception" not in cp.stderr, cp.stderr.decode()[-3000:]

    cp = kafka.tool("console-consumer", "--bootstrap-server", gw, "--topic", topic,
                    "--group", group, "--from-beginning", "--max-messages", N, "--timeout-ms", 60000,
                    kafka.formatter_prop_flag(), "print.key=true",
                    kafka.formatter_prop_flag(), "key.separator=\t",
                    kafka.consumer_prop_flag(), "auto.offset.reset=earliest",
                    timeout=240)
    outputs.append(cp.stdout + cp.stderr)
    got = cp.stdout.decode().splitlines()
    assert len(got) == N, f"consumed {len(got)} lines, expected {N}; stderr:\n{cp.stderr.decode()[-3000:]}"
    expected = sorted(f"{k}\t{v}" for k, v in records)
    got_sorted = sorted(got)
    if got_sorted != expected:
        missing = set(expected) - set(got_sorted)
        extra = set(got_sorted) - set(expected)
        raise AssertionError(f"consumed data differs: {len(missing)} missing (e.g. {sorted(missing)[:3]}), "
                             f"{len(extra)} unexpected (e.g. {sorted(extra)[:3]})")
    cp = kafka.tool("consumer-groups", "--bootstrap-server", gw, "--describe", "--group", group)
    outputs.append(cp.stdout + cp.stderr)
    rows = parse_group_describe(cp.stdout.decode())
    mine = {p: v for (t, p), v in rows.items() if t == topic}
    assert sorted(mine) == list(range(6)), f"group describe rows: {cp.stdout.decode()}"
    assert sum(v[1] for v in mine.values()) == N, f"log end offsets do not sum to {N}: {mine}"
    for p, (cur, leo, lag) in mine.items():
        assert cur == leo and lag == 0, f"partition {p}: committed {cur}, log end {leo}, lag {lag}"
    assert sum(1 for v in mine.values() if v[1] > 0) >= 3, f"keyed data not spread over partitions: {mine}"

    # (c) the group coordinator (FindCoordinator) is reported as a gateway address
    cp = kafka.tool("consumer-groups", "--bootstrap-server", gw, "--describe", "--group", group, "--state")
    outputs.append(cp.stdout + cp.stderr)
    m = re.search(r"^\S+\s+(\S+):(\d+)\s+\((\d+)\)", cp.stdout.decode(), re.M)
    assert m, f"no coordinator in:\n{cp.stdout.decode()}"
    host, port, node = m.group(1), int(m.group(2)), int(m.group(3))
    assert (host, port) == gateway.advertised[node], (
        f"coordinator {host}:{port} (node {node}) is not the gateway address {gateway.advertised[node]}")

    for o in outputs:
        kg.assert_no_direct_address(o.decode(errors="replace"), "Java tool output")


def test_java_producer_perf_acks0_and_1mib(kafka, gateway, names):
    """(e) Java producer with acks=0 and with 1 MiB records through the gateway."""
    gw = gateway.bootstrap
    topic = names.topic()
    kg.create_topic(gw, topic, 3, 3, config={"max.message.bytes": str(4 * 1024 * 1024)})
    n0 = 3000
    cp = kafka.tool("producer-perf", "--topic", topic, "--num-records", n0, "--record-size", 200,
                    "--throughput", -1, "--producer-props", f"bootstrap.servers={gw}", "acks=0",
                    "linger.ms=5")
    out = cp.stdout.decode()
    assert f"{n0} records sent" in out, out + cp.stderr.decode()
    n1 = 4
    cp = kafka.tool("producer-perf", "--topic", topic, "--num-records", n1, "--record-size", 1048576,
                    "--throughput", -1, "--producer-props", f"bootstrap.servers={gw}", "acks=all",
                    "max.request.size=3145728", "batch.size=1048576")
    out = cp.stdout.decode()
    assert f"{n1} records sent" in out, out + cp.stderr.decode()
    kg.assert_no_direct_address(cp.stderr.decode(), "producer-perf stderr")
    msgs, _ = kg.consume(gw, topic, names.group(), n0 + n1,
                         conf={"fetch.max.bytes": 8 * 1024 * 1024,
                               "max.partition.fetch.bytes": 4 * 1024 * 1024,
                               "receive.message.max.bytes": 16 * 1024 * 1024})
    sizes = sorted(len(v) for _, _, _, v in msgs)
    assert sizes.count(200) == n0 and sizes.count(1048576) == n1, f"record sizes: {sizes[:3]}...{sizes[-6:]}"
