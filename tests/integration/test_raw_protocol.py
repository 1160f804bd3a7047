"""(g) Robustness of the gateway against bad frames, over raw sockets."""

import socket
import struct

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
