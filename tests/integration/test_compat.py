"""Clients of another Kafka release than the brokers, through the gateway (issue 11): the
Java clients and tools of the other release of the test bed's pair (4.3.1 tools in front of
3.6.2 brokers: new client -> old broker; 3.6.2 tools in front of 4.3.1: old client -> new
broker) over SASL_SSL, and ApiVersions negotiated against the gateway's and the brokers' ranges
on raw sockets.

A 4.x client sends ApiVersions v4; a 3.6 broker knows v0-3 and answers such a request in the v0
shape with UNSUPPORTED_VERSION and its range (KIP-511). The gateway used to forward v4 and then
fail to read that answer ("malformed response from broker"), so the client reconnected forever.
"""

from __future__ import annotations

import struct

import pytest

import kg
from test_sasl import ALICE, ALICE_PW, _text_records, certs, start_sasl_gateway, users_file  # noqa: F401

OTHER = {"3.6.2": "4.3.1", "4.3.1": "3.6.2"}
API_VERSIONS = 18
UNSUPPORTED_VERSION = 35


@pytest.fixture(scope="module")
def other_tools(kafka) -> kg.Kafka:
    return kg.Kafka(OTHER[kafka.release])


@pytest.fixture(scope="module")
def compat_gw(gateway_factory, users_file, certs):  # noqa: F811 - fixtures from test_sasl
    return start_sasl_gateway(gateway_factory, "gw-compat", users_file, certs)


def _broker_apis() -> dict:
    host, port = next(iter(kg.BROKER_DIRECT.values()))
    _, err, apis = kg.api_versions(host, port, version=0)
    assert err == 0
    return apis


def _broker_api_versions_max(kafka) -> int:
    return _broker_apis()[API_VERSIONS][1]


def test_other_release_java_tools(kafka, other_tools, compat_gw, names, tmp_path):
    g, t = compat_gw, other_tools
    props = g.java_props(tmp_path / "sasl.properties", "SCRAM-SHA-512")
    topic, group = names.topic(), names.group()
    cp = t.tool("topics", "--bootstrap-server", g.bootstrap, "--command-config", props, "--create",
                "--topic", topic, "--partitions", 3, "--replication-factor", 3, timeout=120)
    assert f"Created topic {topic}" in cp.stdout.decode(), (cp.stdout + cp.stderr).decode()[-3000:]
    cp = t.tool("topics", "--bootstrap-server", g.bootstrap, "--command-config", props, "--list",
                timeout=120)
    assert topic in cp.stdout.decode().split(), cp.stdout.decode()[-2000:]
    kg.wait_topic_ready(g.bootstrap, topic, 3, conf=g.rdkafka())
    records = _text_records(300, topic)
    data = "".join(f"{k}\t{v}\n" for k, v in records).encode()
    cp = t.tool("console-producer", "--bootstrap-server", g.bootstrap, "--topic", topic,
                t.producer_config_flag(), props, t.reader_prop_flag(), "parse.key=true",
                t.reader_prop_flag(), "key.separator=\t", t.producer_prop_flag(), "acks=all",
                input=data, timeout=180)
    assert b"ERROR" not in cp.stderr and b"Exception" not in cp.stderr, cp.stderr.decode()[-3000:]
    cp = t.tool("console-consumer", "--bootstrap-server", g.bootstrap, "--topic", topic,
                t.consumer_config_flag(), props, "--group", group, "--from-beginning",
                "--max-messages", len(records), "--timeout-ms", 60000,
                t.formatter_prop_flag(), "print.key=true", t.formatter_prop_flag(), "key.separator=\t",
                timeout=180)
    got = cp.stdout.decode().splitlines()
    assert sorted(got) == sorted(f"{k}\t{v}" for k, v in records), (
        f"consumed {len(got)} of {len(records)}; stderr:\n{cp.stderr.decode()[-3000:]}")
    cp = t.tool("consumer-groups", "--bootstrap-server", g.bootstrap, "--command-config", props,
                "--describe", "--group", group, timeout=120)
    assert topic in cp.stdout.decode(), (cp.stdout + cp.stderr).decode()[-3000:]
    for out in (cp.stdout.decode(errors="replace"),):
        kg.assert_no_direct_address(out, "consumer-groups output")
    assert "malformed response" not in g.log_since(0)


def test_api_versions_newer_than_the_brokers(kafka, compat_gw):
    """After authentication: a version the gateway speaks but the brokers do not gets the
    brokers' answer, UNSUPPORTED_VERSION in the v0 shape with the met range, and the connection
    goes on; the version the answer names works."""
    broker_max = _broker_api_versions_max(kafka)
    newest = 4
    with compat_gw.raw() as r:
        r.api_versions(3)
        assert r.login("SCRAM-SHA-512", ALICE, ALICE_PW).error == 0
        c = r._next()
        r.send(kg.api_versions_request(c, newest))
        resp = r.recv()
        if broker_max >= newest:
            corr, err, apis = kg.parse_api_versions_response(resp, newest)
            assert (corr, err) == (c, 0)
            return
        corr, err, apis = kg.parse_api_versions_response(resp, 0)
        assert (corr, err) == (c, UNSUPPORTED_VERSION), (corr, err, apis)
        assert apis[API_VERSIONS] == (0, broker_max), apis
        c = r._next()
        r.send(kg.api_versions_request(c, broker_max))
        corr, err, apis = kg.parse_api_versions_response(r.recv(), broker_max)
        assert (corr, err) == (c, 0)
        assert apis[API_VERSIONS][1] == broker_max


def test_api_versions_newer_than_the_brokers_plaintext(kafka, gateway):
    """The same where ApiVersions is forwarded (no SASL at the gateway)."""
    broker_max = _broker_api_versions_max(kafka)
    corr, err, apis = kg.api_versions(gateway.bootstrap_host, gateway.bootstrap_port, version=0)
    assert err == 0 and apis[API_VERSIONS][1] == broker_max, apis
    if broker_max >= 4:
        pytest.skip(f"Kafka {kafka.version} brokers speak ApiVersions v4")
    import socket
    with socket.create_connection((gateway.bootstrap_host, gateway.bootstrap_port), timeout=10) as s:
        s.sendall(kg.api_versions_request(99, 4))
        # the answer is v0-shaped whatever the request's version (KIP-511)
        corr, err, apis = kg.parse_api_versions_response(kg.recv_frame(s), 0)
    assert (corr, err) == (99, UNSUPPORTED_VERSION)
    assert apis[API_VERSIONS] == (0, broker_max)


def test_no_version_past_the_brokers(kafka, gateway):
    """A request in a version the brokers do not offer is not forwarded: the connection is
    closed, as a broker closes it."""
    import socket
    md_max = _broker_apis()[3][1]
    with socket.create_connection((gateway.bootstrap_host, gateway.bootstrap_port), timeout=10) as s:
        s.sendall(kg.metadata_request(7, md_max))
        (corr,) = struct.unpack(">i", kg.recv_frame(s)[:4])
        assert corr == 7
    if md_max >= 13:
        pytest.skip(f"Kafka {kafka.version} brokers offer the newest Metadata version")
    with socket.create_connection((gateway.bootstrap_host, gateway.bootstrap_port), timeout=10) as s:
        s.sendall(kg.metadata_request(8, md_max + 1))
        assert kg.wait_closed(s, 10) in ("eof", "reset")


# ---------------------------------------------------------------------------------------------
# librdkafka before 2.6.1 and SCRAM (listen.auth.scram_nonce)

def _kcat_version() -> tuple:
    import re
    m = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", kg.run(["kcat", "-V"], timeout=30).stdout.decode())
    assert m, "cannot tell kcat's librdkafka version"
    return tuple(int(x) for x in m.groups())


def _kcat_scram(bootstrap, user, password, tls_ca=None, mech="SCRAM-SHA-512"):
    args = ["-b", bootstrap, "-X", f"sasl.mechanisms={mech}", "-X", f"sasl.username={user}",
            "-X", f"sasl.password={password}"]
    if tls_ca:
        args += ["-X", "security.protocol=sasl_ssl", "-X", f"ssl.ca.location={tls_ca}"]
    else:
        args += ["-X", "security.protocol=sasl_plaintext"]
    return kg.run(["kcat", *args, "-L", "-m", "5"], timeout=60, check=False)


@pytest.fixture(scope="module")
def suffix_gw(gateway_factory, users_file, certs):  # noqa: F811
    return start_sasl_gateway(gateway_factory, "gw-nonce-suffix", users_file, certs,
                              scram_nonce="suffix")


def test_old_librdkafka_scram_as_the_brokers_of_its_era(kafka, compat_gw, suffix_gw):
    """Debian 12's kcat (librdkafka 2.0.2) sends r=<cnonce><cnonce><snonce>. Kafka 3.6 brokers
    accept it (they did not look at r=), Kafka 4.x refuse it (RFC 5802). The gateway refuses
    it by default and accepts it with listen.auth.scram_nonce "suffix", saying so in its log
    and in the audit record of that login."""
    if _kcat_version() >= (2, 6, 1):
        pytest.skip(f"kcat's librdkafka {_kcat_version()} sends the right nonce")
    # The broker of this test bed, on its own SCRAM listener.
    kafka.ensure_scram_users()
    info = kafka.sasl_info()
    user = next(iter(info["users"]))
    cp = _kcat_scram(info["bootstrap"], user, info["users"][user])
    if kafka.major >= 4:
        assert cp.returncode != 0, "a Kafka 4 broker accepted librdkafka 2.0.2's SCRAM nonce?"
    else:
        assert cp.returncode == 0, f"Kafka {kafka.version}'s SCRAM listener refused kcat:\n" \
                                   f"{cp.stderr.decode()[-2000:]}"
    # The gateway, strict by default (what a Kafka 4 broker does).
    cp = _kcat_scram(compat_gw.bootstrap, ALICE, ALICE_PW, compat_gw.certs / "ca.pem")
    assert cp.returncode != 0 and "Authentication failed" in cp.stderr.decode()
    # With the compatibility setting.
    off = suffix_gw.log_size()
    cp = _kcat_scram(suffix_gw.bootstrap, ALICE, ALICE_PW, suffix_gw.certs / "ca.pem")
    assert cp.returncode == 0, cp.stderr.decode()[-2000:]
    listing = cp.stdout.decode()
    for addr in suffix_gw.broker_addresses():
        assert f" at {addr}" in listing, listing
    suffix_gw.wait_log(off, r"SCRAM client nonce accepted because it ends with the server's")
    # ... and a wrong password is still refused.
    cp = _kcat_scram(suffix_gw.bootstrap, ALICE, "wrong", suffix_gw.certs / "ca.pem")
    assert cp.returncode != 0 and "Authentication failed" in cp.stderr.decode()


def test_scram_nonce_suffix_is_audited(gateway_factory, users_file, certs, tmp_path):  # noqa: F811
    """Every login that needed the weakened check says so in its audit record."""
    if _kcat_version() >= (2, 6, 1):
        pytest.skip(f"kcat's librdkafka {_kcat_version()} sends the right nonce")
    import json
    import time
    log = tmp_path / "audit.log"
    g = _sasl_gw_with(gateway_factory, "gw-nonce-audit", users_file, certs,
                      top={"audit": {"path": str(log), "fsync": "always"}}, scram_nonce="suffix")
    assert _kcat_scram(g.bootstrap, ALICE, ALICE_PW, g.certs / "ca.pem").returncode == 0
    # A client with the right nonce does not get the mark.
    conf = {"bootstrap.servers": g.bootstrap, **g.rdkafka("SCRAM-SHA-512")}
    from confluent_kafka.admin import AdminClient
    AdminClient(conf).list_topics(timeout=20)
    deadline = time.monotonic() + 15
    while True:
        recs = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        auths = [r for r in recs if r.get("type") == "authentication" and r.get("result") == "success"
                 and r.get("mechanism") == "SCRAM-SHA-512"]
        marked = [r for r in auths if r.get("compatibility") == "scram_nonce_suffix"]
        plain = [r for r in auths if "compatibility" not in r]
        if marked and plain:
            break
        assert time.monotonic() < deadline, f"audit records: {auths}"
        time.sleep(0.3)
    assert all(r["principal"] == "User:" + ALICE for r in marked)


def _sasl_gw_with(factory, name, users_file, certs, top=None, **auth):
    """A SASL_SSL gateway like test_sasl's, with extra top-level sections."""
    from test_sasl import ALL_MECHS, SaslGateway
    a = {"mode": "sasl", "mechanisms": list(ALL_MECHS), "users_file": str(users_file),
         "max_failures": 0}
    a.update(auth)
    listen = {"advertised_host": "localhost", "auth": a,
              "tls": {"cert_file": str(certs / "server.pem"), "key_file": str(certs / "server.key")}}
    g = SaslGateway(factory.start(name, merge={"listen": listen, **(top or {})}), certs)
    g.wait_ready()
    return g


# ---------------------------------------------------------------------------------------------
# client bugs that happen against a plain broker too (README "Known client bugs")

def test_known_client_bug_kafka_python_describe_cluster(kafka, gateway):
    """kafka-python 3.0.12's KafkaAdminClient.describe_cluster() raises KeyError
    'endpoint_type' against a broker that answers DescribeCluster v0 (Kafka 3.x; a 4.x broker
    answers v1 and it works); through the gateway it does exactly what it does against the
    plain broker, and nothing else breaks (the matrix's kafka-python cell reads the brokers
    from a metadata answer)."""
    from kafka.admin import KafkaAdminClient

    def outcome(bootstrap):
        a = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
        try:
            try:
                d = a.describe_cluster()
                got = ("ok", d.get("cluster_id"), sorted(b["node_id"] for b in d["brokers"]))
            except KeyError as e:
                got = ("KeyError", str(e))
            a.list_topics()
            assert a._client.cluster.brokers(), bootstrap
            return got
        finally:
            a.close()

    plain = outcome(kg.DIRECT_BOOTSTRAP)
    via = outcome(f"{gateway.bootstrap_host}:{gateway.bootstrap_port}")
    assert via == plain, f"plain broker: {plain}, gateway: {via}"
    if kafka.major < 4:
        assert plain == ("KeyError", "'endpoint_type'"), plain
