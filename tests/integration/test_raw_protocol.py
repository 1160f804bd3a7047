"""(g) Robustness of the gateway against bad frames, over raw sockets."""

import re
import socket
import struct
import time

import pytest

import kg

MAX_FRAME = 1024 * 1024


@pytest.fixture(scope="module")
def small_gw(gateway_factory):
    """A gateway of its own with max_frame_bytes = 1 MiB."""
    return gateway_factory.start("gw-raw", limits__max_frame_bytes=MAX_FRAME)


def _ports(gw):
    return {"bootstrap": gw.bootstrap_port, "broker1": gw.advertised[1][1]}


def _ok_api_versions(sock, corr):
    sock.sendall(kg.api_versions_request(corr, 0))
    c, err, apis = kg.parse_api_versions_response(kg.recv_frame(sock), 0)
    assert c == corr, f"correlation id {c} != {corr}"
    assert err == 0, f"ApiVersions v0 error {err}"
    assert 18 in apis and 3 in apis and 0 in apis, f"ApiVersions v0 list lacks basics: {sorted(apis)}"


BAD_REQUESTS = {
    # size is valid (matches the bytes that follow) but the content is garbage
    "garbage-after-size": kg.frame(bytes([0xFF, 0x13, 0x37, 0x00, 0xDE, 0xAD, 0xBE, 0xEF] * 4)),
    # Metadata v1 header whose client_id claims 30000 bytes in a 14-byte frame
    "truncated-header": kg.frame(struct.pack(">hhih", 3, 1, 77, 30000) + b"abcd"),
    # frame smaller than any request header
    "tiny-frame": kg.frame(b"\x00\x03"),
    # negative size
    "negative-size": struct.pack(">i", -5) + b"\x00" * 16,
    "unknown-api-key-9999": kg.frame(kg.request_header(9999, 0, 78) + b"\x00" * 8),
    "metadata-v999": kg.frame(kg.request_header(3, 999, 79) + b"\x00\x00\x00\x00"),
    # claims 2 MiB > max_frame_bytes (1 MiB); only the size and a few bytes are sent
    "oversized-frame": struct.pack(">i", 2 * 1024 * 1024) + kg.request_header(0, 9, 80) + b"\x00" * 64,
}


@pytest.mark.parametrize("port_kind", ["bootstrap", "broker1"])
@pytest.mark.parametrize("bad", list(BAD_REQUESTS))
def test_bad_request_closes_only_that_connection(small_gw, bad, port_kind):
    port = _ports(small_gw)[port_kind]
    with socket.create_connection((kg.HOST, port), timeout=10) as good:
        _ok_api_versions(good, 1001)
        with socket.create_connection((kg.HOST, port), timeout=10) as evil:
            evil.sendall(BAD_REQUESTS[bad])
            how = kg.wait_closed(evil, timeout=5.0)
            assert how in ("eof", "reset")
        # the connection opened before still works
        good.settimeout(10)
        _ok_api_versions(good, 1002)
    small_gw.assert_alive(f"after bad request {bad}")
    # and new connections are accepted
    with socket.create_connection((kg.HOST, port), timeout=10) as s:
        _ok_api_versions(s, 1003)


def test_api_versions_v3_subset_of_broker(small_gw):
    corr, err, gw_apis = kg.api_versions(kg.HOST, small_gw.bootstrap_port, version=3, corr=4243)
    assert corr == 4243 and err == 0, (corr, err)
    _, berr, broker_apis = kg.api_versions(*kg.BROKER_DIRECT[1], version=3, corr=1)
    assert berr == 0
    assert gw_apis, "gateway advertised no APIs"
    unknown = set(gw_apis) - kg.KNOWN_API_KEYS
    assert not unknown, f"gateway advertises unknown API keys {sorted(unknown)}"
    not_in_broker = set(gw_apis) - set(broker_apis)
    assert not not_in_broker, f"gateway advertises API keys the broker lacks: {sorted(not_in_broker)}"
    for k, (lo, hi) in gw_apis.items():
        blo, bhi = broker_apis[k]
        assert lo <= hi, f"api {k}: min {lo} > max {hi}"
        assert hi <= bhi, f"api {k}: gateway max v{hi} > broker max v{bhi}"
        assert lo >= blo, f"api {k}: gateway min v{lo} < broker min v{blo}"
    for k in (0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18, 19):  # produce..findcoordinator, groups, create topics
        assert k in gw_apis, f"gateway does not advertise essential API {k}"
    # the same on a broker port of the gateway
    corr, err, gw_apis_b = kg.api_versions(kg.HOST, small_gw.advertised[1][1], version=3, corr=4244)
    assert corr == 4244 and err == 0 and set(gw_apis_b) <= set(broker_apis)


def test_api_versions_unsupported_version_gets_error(small_gw):
    """KIP-511: ApiVersions with a too-new version is answered with UNSUPPORTED_VERSION (35)
    in a v0-format response (so the client can downgrade) - not a closed connection."""
    with socket.create_connection((kg.HOST, small_gw.bootstrap_port), timeout=10) as s:
        s.sendall(kg.frame(kg.request_header(18, 127, 555, flexible=True) + b"\x00\x00\x00"))
        resp = kg.recv_frame(s)
        corr, err = struct.unpack(">ih", resp[:6])
        assert corr == 555 and err == 35, (corr, err)
        _ok_api_versions(s, 556)


# --- address rewriting in every protocol version the gateway advertises ------------------------

def _addresses_in(resp: bytes):
    """(host, port) pairs of broker structs in a Metadata/FindCoordinator response: every
    b'127.0.0.1' is a host string directly followed by the int32 port."""
    out = []
    host = kg.HOST.encode()
    i = resp.find(host)
    while i >= 0:
        (port,) = struct.unpack(">i", resp[i + len(host):i + len(host) + 4])
        out.append((kg.HOST, port))
        i = resp.find(host, i + 1)
    return out


def _metadata_request(v, corr, topics=None):
    flex = v >= 9
    body = b""
    if flex:
        if topics is None:
            body += kg.uvarint(0)
        else:
            body += kg.uvarint(len(topics) + 1)
            for t in topics:
                if v >= 10:
                    body += b"\x00" * 16
                body += kg.uvarint(len(t) + 1) + t.encode() + kg.uvarint(0)
    else:
        if topics is None:
            body += struct.pack(">i", -1 if v >= 1 else 0)
        else:
            body += struct.pack(">i", len(topics)) + b"".join(struct.pack(">h", len(t)) + t.encode() for t in topics)
    if v >= 4:
        body += b"\x00"          # allow_auto_topic_creation
    if 8 <= v <= 10:
        body += b"\x00"          # include_cluster_authorized_operations
    if v >= 8:
        body += b"\x00"          # include_topic_authorized_operations
    if flex:
        body += kg.uvarint(0)
    return kg.frame(kg.request_header(3, v, corr, flexible=flex) + body)


def _find_coordinator_request(v, corr, group):
    g = group.encode()
    if v <= 2:
        body = struct.pack(">h", len(g)) + g + (b"\x00" if v >= 1 else b"")
        return kg.frame(kg.request_header(10, v, corr) + body)
    if v == 3:
        body = kg.uvarint(len(g) + 1) + g + b"\x00" + kg.uvarint(0)
    else:
        body = b"\x00" + kg.uvarint(2) + kg.uvarint(len(g) + 1) + g + kg.uvarint(0)
    return kg.frame(kg.request_header(10, v, corr, flexible=True) + body)


def _roundtrip(port, req, corr):
    with socket.create_connection((kg.HOST, port), timeout=10) as s:
        s.sendall(req)
        resp = kg.recv_frame(s)
    (c,) = struct.unpack(">i", resp[:4])
    assert c == corr, f"correlation id {c} != {corr}"
    return resp


def test_metadata_all_versions_rewritten(small_gw):
    _, _, apis = kg.api_versions(kg.HOST, small_gw.bootstrap_port, version=3)
    lo, hi = apis[3]
    allowed = {small_gw.advertised[n] for n in (1, 2, 3)}
    for port in (small_gw.bootstrap_port, small_gw.advertised[2][1]):
        for v in range(lo, hi + 1):
            for topics in (None, [], ["__consumer_offsets"]):
                resp = _roundtrip(port, _metadata_request(v, 500 + v, topics), 500 + v)
                addrs = _addresses_in(resp)
                assert len(addrs) == 3, f"Metadata v{v} topics={topics}: brokers {addrs}"
                assert set(addrs) == allowed, f"Metadata v{v} topics={topics} via port {port}: {addrs}"
    small_gw.assert_alive()


def test_find_coordinator_all_versions_rewritten(small_gw):
    import time
    _, _, apis = kg.api_versions(kg.HOST, small_gw.bootstrap_port, version=3)
    lo, hi = apis[10]
    allowed = {small_gw.advertised[n] for n in (1, 2, 3)}
    for v in range(lo, hi + 1):
        deadline = time.monotonic() + 20
        while True:
            resp = _roundtrip(small_gw.bootstrap_port, _find_coordinator_request(v, 700 + v, f"kg-raw-g{v}"),
                              700 + v)
            addrs = _addresses_in(resp)
            if addrs or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # COORDINATOR_NOT_AVAILABLE while __consumer_offsets is created
        assert len(addrs) == 1 and addrs[0] in allowed, f"FindCoordinator v{v}: {addrs} not in {allowed}"


def test_librdkafka_216_all_topics_metadata_with_trailing_bytes(small_gw, kafka_version):
    """librdkafka 2.16 (confluent-kafka 2.16.1, AdminClient.list_topics()) sends an all-topics
    Metadata v13 request with 3 bytes after the body. Kafka brokers ignore trailing bytes
    after a request body; the gateway must not drop such a client."""
    captured = bytes.fromhex("0003000d00000003000772646b61666b610000000000010000")
    if int(kafka_version.split(".")[0]) < 4:
        # Kafka 3.x knows Metadata up to v12 (same body layout as v13 here).
        captured = captured[:2] + b"\x00\x0c" + captured[4:]
    with socket.create_connection((kg.HOST, small_gw.bootstrap_port), timeout=10) as s:
        s.sendall(kg.frame(captured))
        resp = kg.recv_frame(s)
    (corr,) = struct.unpack(">i", resp[:4])
    assert corr == 3
    assert set(_addresses_in(resp)) == {small_gw.advertised[n] for n in (1, 2, 3)}


def test_broker_configs_hide_addresses_and_listeners_stay(gateway, kafka):
    """DescribeConfigs of a broker through the gateway answers its listener, controller and
    ZooKeeper settings as sensitive (value null), as a broker does for a password: clients
    never learn a broker's real address. Changing them through the gateway is refused with
    POLICY_VIOLATION (where the gateway connects follows them); other broker configs pass."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

    def describe(bootstrap):
        a = AdminClient({"bootstrap.servers": bootstrap})
        res = ConfigResource(ConfigResource.Type.BROKER, "1")
        return a.describe_configs([res])[res].result(timeout=30)

    direct, via = describe(kg.DIRECT_BOOTSTRAP), describe(gateway.bootstrap)
    assert "127.0.0.1:29092" in (direct["listeners"].value or ""), direct["listeners"]
    for name in ("listeners", "advertised.listeners", "controller.quorum.voters",
                 "zookeeper.connect"):
        if name in direct and direct[name].value:
            assert via[name].value is None and via[name].is_sensitive, (name, via[name])
    for name, e in via.items():
        assert "2909" not in (e.value or ""), f"{name} = {e.value} names a broker port"
    # everything else is as the broker said
    assert via["log.dirs"].value == direct["log.dirs"].value
    assert via["num.network.threads"].value == direct["num.network.threads"].value

    a = AdminClient({"bootstrap.servers": gateway.bootstrap})
    res = ConfigResource(ConfigResource.Type.BROKER, "1", incremental_configs=[
        ConfigEntry("advertised.listeners", "PLAINTEXT://evil.example:9092",
                    incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as e:
        a.incremental_alter_configs([res], validate_only=True)[res].result(timeout=30)
    assert "POLICY_VIOLATION" in str(e.value) or "olicy" in str(e.value), str(e.value)
    ok = ConfigResource(ConfigResource.Type.BROKER, "1", incremental_configs=[
        ConfigEntry("log.cleaner.threads", "1", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([ok], validate_only=True)[ok].result(timeout=30)


def test_brokers_outside_allowed_hosts_are_not_used(gateway_factory):
    """Where the gateway connects is what the brokers advertise; only within
    upstream.allowed_hosts (the bootstrap hosts always). Bootstrapped by the name localhost,
    allowed only that name: the brokers' advertised 127.0.0.1 is refused, logged, never
    connected to; allowing the network lets them in."""
    from confluent_kafka.admin import AdminClient
    boot = [f"localhost:{p}" for _, p in kg.BROKER_DIRECT.values()]
    g = gateway_factory.start("gw-allowed-hosts-name", upstream__bootstrap_servers=boot,
                              upstream__allowed_hosts=["localhost"])
    deadline = time.monotonic() + 20
    while "0 brokers upstream" not in g.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = g.log_path.read_text()
    assert re.search(r"broker node \d advertises 127\.0\.0\.1:\d+, outside upstream\.allowed_hosts",
                     log), g.log_tail(20)
    assert "metadata refresh: 0 brokers upstream" in log, g.log_tail(20)
    assert "for broker node" not in log, "a listener was opened for a refused broker"
    g2 = gateway_factory.start("gw-allowed-hosts-net", upstream__bootstrap_servers=boot,
                               upstream__allowed_hosts=["localhost", "127.0.0.0/8"])
    md = AdminClient({"bootstrap.servers": g2.bootstrap}).list_topics(timeout=20)
    assert sorted(md.brokers) == [1, 2, 3], md.brokers
