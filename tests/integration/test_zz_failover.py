"""(f) Broker failures, last (they disturb the cluster): a broker that hangs (SIGSTOP: its ports
still accept, nothing is answered) is given up after upstream.request_timeout_ms plus the
request's own wait, so clients fail over promptly; a broker that dies (SIGKILL) while a
producer runs through the gateway."""

import re
import socket
import struct
import threading
import time

import pytest

import kg

N = 20_000
VICTIM = 2


@pytest.mark.last
def test_hung_broker_request_timeout(kafka, gateway_factory, names):
    g = gateway_factory.start("gw-request-timeout", upstream__request_timeout_ms=2000)
    topic = names.topic()
    kg.create_topic(g.bootstrap, topic, 3, 3)
    from confluent_kafka import Consumer
    # a consumer whose fetches wait 4 s on an empty topic: longer than the request timeout,
    # within its own wait, so never cut
    c = Consumer({"bootstrap.servers": g.bootstrap, "group.id": names.group(),
                  "fetch.wait.max.ms": 4000, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    from confluent_kafka import KafkaError
    t_end = time.monotonic() + 12
    while time.monotonic() < t_end:
        m = c.poll(0.5)
        if m is None:
            continue
        # a topic just created may not be in every broker's metadata yet: the client reports
        # it once as an event; anything else (a record, a cut fetch) is a failure
        assert m.error() is not None, f"a record on an empty topic: {m.value()!r}"
        assert m.error().code() == KafkaError.UNKNOWN_TOPIC_OR_PART, str(m.error())
    c.close()
    log = g.log_path.read_text()
    assert "did not answer" not in log, "a fetch waiting its own MaxWaitMs was cut:\n" + g.log_tail(20)

    host, port = g.advertised[VICTIM]
    paused = False
    try:
        s = socket.create_connection((kg.HOST, port), timeout=10)
        s.sendall(kg.api_versions_request(1, 0))  # connects upstream, answered before the pause
        kg.recv_frame(s)
        kafka.bed("pause-node", str(VICTIM), timeout=30)
        paused = True
        t0 = time.monotonic()
        s.sendall(kg.metadata_request(2, 9))
        s.settimeout(20)
        try:
            got = s.recv(100)
        except (ConnectionResetError, socket.timeout) as e:
            got = repr(e).encode()
        took = time.monotonic() - t0
        s.close()
        print(f"\nhung broker: request failed after {took:.2f} s (request_timeout_ms 2000)")
        assert got == b"", f"expected the gateway to close, got {got!r}"
        assert 1.8 <= took <= 4.0, f"closed after {took:.2f}s, request_timeout_ms is 2000"
        text = g.log_path.read_text()
        assert re.search(r"broker did not answer Metadata v9 \(correlation id 2\) in time", text), \
            g.log_tail(20)
        g.assert_alive("after a hung broker")
    finally:
        if paused:
            kafka.bed("resume-node", str(VICTIM), timeout=30)
    # the broker is back: the same port works again
    s = socket.create_connection((kg.HOST, port), timeout=10)
    s.sendall(kg.metadata_request(3, 9))
    s.settimeout(30)
    assert struct.unpack(">i", kg.recv_frame(s)[:4])[0] == 3
    s.close()


@pytest.mark.last
def test_broker_killed_mid_produce(kafka, gateway, names):
    gw = gateway.bootstrap
    topic, group = names.topic(), names.group()
    kg.create_topic(gw, topic, 6, 3)
    recs = [(f"f{i:06d}".encode(), f"value-{i}-".encode() * 4) for i in range(N)]

    result = {}

    def producer():
        from confluent_kafka import Producer
        errors, delivered = [], []

        def cb(err, msg):
            (errors if err else delivered).append(str(err) if err else msg.key())

        p = Producer({"bootstrap.servers": gw, "acks": "all", "enable.idempotence": True,
                      "retries": 2147483647, "message.timeout.ms": 180000,
                      "linger.ms": 5, "batch.num.messages": 200})
        try:
            t0 = time.monotonic()
            for i, (k, v) in enumerate(recs):
                while True:
                    try:
                        p.produce(topic, key=k, value=v, on_delivery=cb)
                        break
                    except BufferError:
                        p.poll(0.1)
                p.poll(0)
                if i % 500 == 0:
                    # pace it so the kill lands in the middle: ~16 s for the whole run
                    time.sleep(max(0.0, t0 + i * 0.0008 - time.monotonic()))
            result["left"] = p.flush(200)
        except Exception as e:  # noqa: BLE001
            result["exception"] = repr(e)
        result["errors"], result["delivered"] = errors, delivered

    th = threading.Thread(target=producer, daemon=True)
    killed = False
    try:
        th.start()
        time.sleep(5)
        assert th.is_alive(), f"producer finished before the broker kill: {result.get('exception')}"
        kafka.bed("kill-node", str(VICTIM), timeout=30)
        killed = True
        th.join(240)
        assert not th.is_alive(), "producer still running 240 s after the broker kill"
        gateway.assert_alive("after broker kill")
        assert "exception" not in result, result["exception"]
        assert result["left"] == 0, f"{result['left']} messages undelivered; errors {result['errors'][:5]}"
        assert not result["errors"], f"{len(result['errors'])} delivery errors, e.g. {result['errors'][:5]}"
        assert len(result["delivered"]) == N

        # consume everything while the node is still down
        msgs, committed = kg.consume(gw, topic, group, N, timeout=120)
        got = sorted((k, v) for _, _, k, v in msgs)
        assert got == sorted(recs), "data read back after broker failure differs (loss or duplicates)"
        gateway.assert_alive("after consuming with a broker down")
    finally:
        if killed:
            kafka.bed("start-node", str(VICTIM), timeout=200)
    # wait for the node to rejoin all ISRs (through the gateway) so the bed is healthy again
    kg.wait_topic_ready(gw, topic, 6, timeout=120, full_isr=True)
    gateway.assert_alive("after broker restart")
    # leadership returns to the restarted node (preferred leader election through the gateway),
    # and traffic through its gateway port works again
    kafka.tool("leader-election", "--bootstrap-server", gw, "--election-type", "PREFERRED",
               "--all-topic-partitions", check=False)
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": gw})
    deadline = time.monotonic() + 60
    while True:
        md = admin.list_topics(topic, timeout=15)
        led = [p for p, pm in md.topics[topic].partitions.items() if pm.leader == VICTIM]
        if led:
            break
        assert time.monotonic() < deadline, f"node {VICTIM} leads no partition of {topic} 60 s after restart"
        time.sleep(1)
    delivered = kg.produce(gw, topic, [(b"after-restart", b"ok")], partition=led[0])
    assert delivered and delivered[0][0] == led[0]
