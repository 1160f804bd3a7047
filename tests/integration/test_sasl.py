"""SASL at the gateway (listen.auth.mode "sasl"): clients configured as for a broker's SASL_SSL
or SASL_PLAINTEXT listener authenticate at the gateway, which plays the broker's SaslHandshake /
SaslAuthenticate state machine and connects upstream only after success.

Java tools (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN over TLS; SCRAM over plaintext), KIP-368
re-authentication (Java and kafka-python follow SessionLifetimeMs; a raw client that does not
is cut off), librdkafka (confluent-kafka; kcat, whose Debian librdkafka 2.0.2 is refused for
SCRAM as by a Kafka 4 broker), kafka-python, the broker's error behaviour on raw sockets (wrong
password / unknown user, requests before authentication, unsupported mechanism, bad tokens,
SCRAM nonce rules, oversized frames, SaslAuthenticate after success, SaslHandshake v0 raw
tokens), brute-force blocking per client address, and users file reload (SIGHUP and file
change) with established clients running. Users are made with `kafka-gateway user add`."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

import kg
from sasl_util import SaslGateway as _SaslGateway, make_users_file

N = 2000
USERS = {"alice": "alice-Secret-1", "bob": "b0b-pw=,;x", "svc=etl,1": "etl-pw"}
ALICE, ALICE_PW = "alice", USERS["alice"]
ALL_MECHS = ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]
FAILURE_DELAY_MS = 300
PREAUTH_MAX = 65536
REAUTH_LIFETIME_MS = 5000


# ---------------------------------------------------------------------------------------------
# fixtures and helpers

@pytest.fixture(scope="module")
def certs(gateway_bin) -> Path:
    if gateway_bin is None:
        pytest.skip("KG_DIRECT=1: SASL at the gateway needs a gateway")
    return kg.ensure_certs()


@pytest.fixture(scope="module")
def users_file(gateway_bin, tmp_path_factory) -> Path:
    if gateway_bin is None:
        pytest.skip("KG_DIRECT=1: SASL at the gateway needs a gateway")
    p = make_users_file(gateway_bin, tmp_path_factory.mktemp("sasl-users") / "users.json", USERS)
    listed = kg.users_cmd(gateway_bin, p, "list").stdout.decode()
    for name in USERS:
        assert re.search(rf"^{re.escape(name)}\s.*SCRAM-SHA-256.*SCRAM-SHA-512", listed, re.M), listed
    return p


class SaslGateway(_SaslGateway):
    def __init__(self, gw: kg.Gateway, certs: Path | None):
        super().__init__(gw, certs, ALICE, ALICE_PW)


def start_sasl_gateway(factory, name, users_file: Path, certs: Path | None, **auth) -> SaslGateway:
    a = {"mode": "sasl", "mechanisms": list(ALL_MECHS if certs else ["SCRAM-SHA-512", "SCRAM-SHA-256"]),
         "users_file": str(users_file), "max_failures": 0}
    a.update(auth)
    listen = {"advertised_host": "localhost", "auth": a}
    if certs:
        listen["tls"] = {"cert_file": str(certs / "server.pem"), "key_file": str(certs / "server.key")}
    g = SaslGateway(factory.start(name, merge={"listen": listen}), certs)
    g.wait_ready()
    return g


@pytest.fixture(scope="module")
def sasl_gw(gateway_factory, users_file, certs) -> SaslGateway:
    """SASL_SSL: SCRAM-SHA-512, SCRAM-SHA-256, PLAIN; no session lifetime; no blocking."""
    return start_sasl_gateway(gateway_factory, "gw-sasl-ssl", users_file, certs,
                              failure_delay_ms=FAILURE_DELAY_MS, max_preauth_frame_bytes=PREAUTH_MAX)


@pytest.fixture(scope="module")
def sasl_plain_gw(gateway_factory, users_file, certs) -> SaslGateway:
    """SASL_PLAINTEXT: SCRAM only."""
    return start_sasl_gateway(gateway_factory, "gw-sasl-plaintext", users_file, None)


@pytest.fixture(scope="module")
def reauth_gw(gateway_factory, users_file, certs) -> SaslGateway:
    return start_sasl_gateway(gateway_factory, "gw-sasl-reauth", users_file, certs,
                              session_lifetime_ms=REAUTH_LIFETIME_MS)


def _records(n, seed):
    rng = random.Random(seed)
    return [(f"k{i:05d}".encode() + rng.randbytes(rng.randrange(0, 6)),
             rng.randbytes(rng.randrange(0, 400))) for i in range(n)]


def _text_records(n, seed):
    rng = random.Random(seed)
    return [(f"key-{i:05d}", f"{i}|" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-_+=")
                                              for _ in range(rng.randrange(1, 150)))) for i in range(n)]


def _auth_lines(text: str, mech: str, user=ALICE, re_=False) -> list:
    return re.findall(rf"conn (\d+) \S+: {'re-' if re_ else ''}authenticated as User:{re.escape(user)} "
                      rf"with {re.escape(mech)}\b", text)


def _assert_no_upstream(m: re.Match, what=""):
    """On a close line, "bytes in" counts what the client sent, "out" what brokers answered:
    a connection that never got upstream has out 0 (see also test_upstream_only_after_success)."""
    assert m["bout"] == "0", f"{what}: broker bytes on a connection that never authenticated: {m.group(0)}"


def upstream_sockets(pid: int) -> set:
    """Local addresses of the gateway process's established TCP connections to the brokers."""
    out = kg.run(["ss", "-tnpH", "state", "established"], timeout=30).stdout.decode()
    res = set()
    for line in out.splitlines():
        parts = line.split()
        if f"pid={pid}," in line and len(parts) >= 4 and int(parts[3].rsplit(":", 1)[1]) in kg.DIRECT_PORTS:
            res.add(parts[2])
    return res


# ---------------------------------------------------------------------------------------------
# 1. Java tools: SASL_SSL (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN) and SASL_PLAINTEXT (SCRAM)

@pytest.mark.parametrize("proto,mech", [("SASL_SSL", "SCRAM-SHA-256"), ("SASL_SSL", "SCRAM-SHA-512"),
                                        ("SASL_SSL", "PLAIN"), ("SASL_PLAINTEXT", "SCRAM-SHA-512")])
def test_java_tools_roundtrip(kafka, request, names, tmp_path, proto, mech):
    g = request.getfixturevalue("sasl_gw" if proto == "SASL_SSL" else "sasl_plain_gw")
    off = g.log_size()
    props = g.java_props(tmp_path / "sasl.properties", mech)
    topic, group = names.topic(), names.group()
    outputs = []
    cp = kafka.tool("topics", "--bootstrap-server", g.bootstrap, "--command-config", props, "--create",
                    "--topic", topic, "--partitions", 6, "--replication-factor", 3)
    outputs.append(cp.stdout + cp.stderr)
    assert f"Created topic {topic}" in cp.stdout.decode(), cp.stdout.decode() + cp.stderr.decode()
    kg.wait_topic_ready(g.bootstrap, topic, 6, conf=g.rdkafka())
    records = _text_records(N, topic)
    data = "".join(f"{k}\t{v}\n" for k, v in records).encode()
    cp = kafka.tool("console-producer", "--bootstrap-server", g.bootstrap, "--topic", topic,
                    kafka.producer_config_flag(), props,
                    kafka.reader_prop_flag(), "parse.key=true",
                    kafka.reader_prop_flag(), "key.separator=\t",
                    kafka.producer_prop_flag(), "acks=all",
                    kafka.producer_prop_flag(), "linger.ms=20",
                    input=data, timeout=180)
    outputs.append(cp.stdout + cp.stderr)
    assert b"ERROR" not in cp.stderr and b"Exception" not in cp.stderr, cp.stderr.decode()[-3000:]
    cp = kafka.tool("console-consumer", "--bootstrap-server", g.bootstrap, "--topic", topic,
                    kafka.consumer_config_flag(), props, "--group", group, "--from-beginning",
                    "--max-messages", N, "--timeout-ms", 60000,
                    kafka.formatter_prop_flag(), "print.key=true",
                    kafka.formatter_prop_flag(), "key.separator=\t", timeout=180)
    outputs.append(cp.stdout + cp.stderr)
    got = cp.stdout.decode().splitlines()
    assert len(got) == N, f"consumed {len(got)} of {N}; stderr:\n{cp.stderr.decode()[-3000:]}"
    assert sorted(got) == sorted(f"{k}\t{v}" for k, v in records), "Java consumer got different data"
    for o in outputs:
        kg.assert_no_direct_address(o.decode(errors="replace"), "Java tool output")
    log = g.log_since(off)
    assert len(_auth_lines(log, mech)) >= 3, (
        f"expected the Java clients' connections to log 'authenticated as User:alice with {mech}':\n"
        f"{log[-3000:]}")
    assert "authentication failed" not in log, log[-3000:]


def test_java_wrong_password_fails(kafka, sasl_gw, tmp_path):
    props = sasl_gw.java_props(tmp_path / "bad.properties", "SCRAM-SHA-512", password="wrong")
    off = sasl_gw.log_size()
    cp = kafka.tool("topics", "--bootstrap-server", sasl_gw.bootstrap, "--command-config", props,
                    "--list", timeout=120, check=False)
    out = (cp.stdout + cp.stderr).decode(errors="replace")
    assert cp.returncode != 0, f"topics --list with a wrong password succeeded:\n{out[-2000:]}"
    assert re.search(r"SaslAuthenticationException|Authentication failed", out), out[-3000:]
    sasl_gw.wait_log(off, r"authentication failed")


# ---------------------------------------------------------------------------------------------
# 2. KIP-368 re-authentication

def _tool_popen(kafka, name, *args, out: Path, stdin=None):
    """A Java tool in the background, its stdout/stderr in files (a full pipe would stall it)."""
    with open(out.with_suffix(".out"), "wb") as o, open(out.with_suffix(".err"), "wb") as e:
        return subprocess.Popen([str(kg.BED), "tool", kafka.version, name, *map(str, args)], stdin=stdin,
                                stdout=o, stderr=e)


def _outputs(out: Path):
    return out.with_suffix(".out").read_bytes(), out.with_suffix(".err").read_bytes()


def test_java_reauthentication(kafka, reauth_gw, names, tmp_path):
    """Session lifetime 5 s: a Java producer and consumer running ~20 s re-authenticate on their
    connections (at 85-95% of SessionLifetimeMs, no client setting) and lose nothing."""
    g, mech = reauth_gw, "SCRAM-SHA-256"
    props = g.java_props(tmp_path / "reauth.properties", mech)
    topic, group = names.topic(), names.group()
    kg.create_topic(g.bootstrap, topic, 3, 3, conf=g.rdkafka(mech))
    off = g.log_size()
    n, chunks = 2000, 20
    records = _text_records(n, topic)
    cons = _tool_popen(kafka, "console-consumer", "--bootstrap-server", g.bootstrap, "--topic", topic,
                       kafka.consumer_config_flag(), props, "--group", group, "--from-beginning",
                       "--max-messages", n, "--timeout-ms", 40000,
                       kafka.formatter_prop_flag(), "print.key=true",
                       kafka.formatter_prop_flag(), "key.separator=\t", out=tmp_path / "consumer")
    prod = _tool_popen(kafka, "console-producer", "--bootstrap-server", g.bootstrap, "--topic", topic,
                       kafka.producer_config_flag(), props,
                       kafka.reader_prop_flag(), "parse.key=true",
                       kafka.reader_prop_flag(), "key.separator=\t",
                       kafka.producer_prop_flag(), "acks=all", out=tmp_path / "producer",
                       stdin=subprocess.PIPE)
    try:
        per = n // chunks
        for i in range(chunks):  # ~20 s of traffic
            prod.stdin.write("".join(f"{k}\t{v}\n" for k, v in records[i * per:(i + 1) * per]).encode())
            prod.stdin.flush()
            time.sleep(1.0)
        prod.communicate(timeout=90)  # closes stdin: the producer flushes and exits
        cons.wait(90)
    finally:
        for p in (prod, cons):
            if p.poll() is None:
                p.kill()
                p.wait(10)
    (_, p_err), (c_out, c_err) = _outputs(tmp_path / "producer"), _outputs(tmp_path / "consumer")
    assert prod.returncode == 0, f"producer rc {prod.returncode}:\n{p_err.decode()[-3000:]}"
    for what, err in (("producer", p_err), ("consumer", c_err)):
        assert b"ERROR" not in err and b"Exception" not in err, f"{what} stderr:\n{err.decode()[-3000:]}"
    got = c_out.decode().splitlines()
    assert len(got) == n, f"consumed {len(got)} of {n}; stderr:\n{c_err.decode()[-3000:]}"
    assert sorted(got) == sorted(f"{k}\t{v}" for k, v in records), "consumer got different data"
    log = g.log_since(off)
    reauth = _auth_lines(log, mech, re_=True)
    per_conn = {c: reauth.count(c) for c in set(reauth)}
    assert len(reauth) >= 5 and max(per_conn.values(), default=0) >= 2, (
        f"expected repeated 're-authenticated as User:alice with {mech}' lines (session lifetime "
        f"{REAUTH_LIFETIME_MS} ms, ~20 s of traffic); per connection: {per_conn}\n{log[-4000:]}")
    assert "session expired" not in log and "authentication failed" not in log, log[-4000:]


def test_raw_client_without_reauth_is_cut_at_expiry(reauth_gw):
    """SaslAuthenticate v1 carries SessionLifetimeMs; a client that never re-authenticates gets
    no answer after the lifetime: its next request closes the connection."""
    g = reauth_gw
    off = g.log_size()
    with g.raw() as r:
        err, mechs = r.handshake("PLAIN")
        assert err == 0 and set(mechs) == set(ALL_MECHS), (err, mechs)
        resp = r.authenticate(b"\0alice\0" + ALICE_PW.encode(), version=1)
        t_auth = time.monotonic()
        assert resp.error == 0, resp
        assert resp.session_lifetime_ms == REAUTH_LIFETIME_MS, (
            f"SessionLifetimeMs {resp.session_lifetime_ms}, configured {REAUTH_LIFETIME_MS}")
        r.metadata()  # fine within the lifetime
        time.sleep(max(0.0, t_auth + REAUTH_LIFETIME_MS / 1000 + 0.7 - time.monotonic()))
        r.send(kg.metadata_request(r._next(), g.metadata_version))
        r.expect_closed_silently(5, "Metadata after the session lifetime")
        m = g.close_line(off, r.local_port)
    assert "expired" in m["reason"], m.group(0)
    assert int(m["requests"]) >= 3, m.group(0)


def test_raw_reauthentication_rules(reauth_gw, sasl_gw):
    """Re-authentication on one connection: same principal OK, at most once a second, another
    principal refused with 58 then close; without a session lifetime SaslHandshake gets 34."""
    g = reauth_gw
    off = g.log_size()
    plain = lambda u: b"\0" + u.encode() + b"\0" + USERS[u].encode()  # noqa: E731
    with g.raw() as r:
        assert r.login("PLAIN", ALICE, ALICE_PW).error == 0
        time.sleep(1.1)
        assert r.handshake("PLAIN")[0] == 0
        resp = r.authenticate(plain("alice"))
        assert resp.error == 0 and resp.session_lifetime_ms == REAUTH_LIFETIME_MS, resp
        g.wait_log(off, r"re-authenticated as User:alice with PLAIN")
        r.metadata()
        # a second handshake within a second of the last re-authentication: 34, still open
        err, _ = r.handshake("PLAIN")
        assert err == kg.ERR_ILLEGAL_SASL_STATE, f"SaslHandshake <1 s after re-authentication: error {err}"
        r.metadata()
        time.sleep(1.1)
        assert r.handshake("PLAIN")[0] == 0
        resp = r.authenticate(plain("bob"))
        assert resp.error == kg.ERR_SASL_AUTHENTICATION_FAILED, resp
        assert resp.message and resp.message.startswith("Cannot change principals"), resp
        r.expect_closed_silently(5, "after a principal change on re-authentication")
    # lifetime 0: SaslHandshake after success is ILLEGAL_SASL_STATE, connection stays usable
    with sasl_gw.raw() as r:
        assert r.login("PLAIN", ALICE, ALICE_PW).error == 0
        r.metadata()
        assert r.handshake("PLAIN")[0] == kg.ERR_ILLEGAL_SASL_STATE
        r.metadata()


# ---------------------------------------------------------------------------------------------
# 3. librdkafka: confluent-kafka and kcat over TLS

def test_librdkafka_scram_roundtrip(kafka, sasl_gw, names):
    g = sasl_gw
    off = g.log_size()
    conf = g.rdkafka("SCRAM-SHA-512")
    topic, group = names.topic(), names.group()
    kg.create_topic(g.bootstrap, topic, 6, 3, conf=conf)
    stats = kg.StatsCollector()
    recs = _records(3000, topic)
    assert len(kg.produce(g.bootstrap, topic, recs, conf={**conf, **stats.conf()})) == len(recs)
    msgs, committed = kg.consume(g.bootstrap, topic, group, len(recs), conf={**conf, **stats.conf()})
    assert sorted((k, v) for _, _, k, v in msgs) == sorted(recs), "consumed bytes differ from produced"
    assert sum(committed.values()) == len(recs), committed
    allowed = g.broker_addresses() | {g.bootstrap}
    assert stats.nodenames and stats.nodenames <= allowed, sorted(stats.nodenames)
    assert g.broker_addresses() <= stats.nodenames, sorted(stats.nodenames)
    for e in stats.errors:
        kg.assert_no_direct_address(e, "librdkafka error")
    assert len(_auth_lines(g.log_since(off), "SCRAM-SHA-512")) >= 4


def _kcat_librdkafka() -> tuple:
    m = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", kg.run(["kcat", "-V"], timeout=30).stdout.decode())
    assert m, "cannot tell kcat's librdkafka version from kcat -V"
    return tuple(int(x) for x in m.groups())


def test_kcat_roundtrip(kafka, sasl_gw, names):
    """kcat over SASL_SSL with SCRAM-SHA-512. librdkafka before 2.6.1 (Debian 12's kcat: 2.0.2)
    gets the SCRAM client-final nonce wrong and is refused, as by a Kafka 4 broker (README):
    that is checked, and the round trip then uses PLAIN."""
    g = sasl_gw
    tls = ["-X", "security.protocol=sasl_ssl", "-X", f"ssl.ca.location={g.certs / 'ca.pem'}",
           "-X", f"sasl.username={ALICE}", "-X", f"sasl.password={ALICE_PW}"]
    scram = tls + ["-X", "sasl.mechanisms=SCRAM-SHA-512"]
    topic = names.topic()
    kg.create_topic(g.bootstrap, topic, 3, 3, conf=g.rdkafka())
    args = scram
    if _kcat_librdkafka() < (2, 6, 1):
        off = g.log_size()
        cp = kg.run(["kcat", "-b", g.bootstrap, *scram, "-L", "-m", "5"], timeout=60, check=False)
        assert cp.returncode != 0, f"kcat {_kcat_librdkafka()} SCRAM accepted?\n{cp.stdout.decode()[-1000:]}"
        assert "Authentication failed" in cp.stderr.decode(), cp.stderr.decode()[-2000:]
        g.wait_log(off, r"authentication failed: SCRAM client-final: .*Nonce mismatch")
        args = tls + ["-X", "sasl.mechanisms=PLAIN"]
    listing = kg.run(["kcat", "-b", g.bootstrap, *args, "-L", "-t", topic], timeout=60).stdout.decode()
    for addr in g.broker_addresses():
        assert f" at {addr}" in listing, f"kcat -L does not show broker {addr}:\n{listing}"
    kg.assert_no_direct_address(listing, "kcat -L")
    rng = random.Random(topic)
    lines = [b"key%05d:%d|" % (i, i) + bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 .,;-")
                                            for _ in range(rng.randrange(1, 100))) for i in range(N)]
    kg.run(["kcat", "-P", "-b", g.bootstrap, *args, "-t", topic, "-K:", "-X", "acks=all"],
           input=b"\n".join(lines) + b"\n", timeout=120)
    cp = kg.run(["kcat", "-C", "-b", g.bootstrap, *args, "-t", topic, "-o", "beginning", "-c", str(N),
                 "-f", "%k:%s\n"], timeout=120)
    got = cp.stdout.splitlines()
    assert len(got) == N, f"kcat consumed {len(got)} of {N}; stderr: {cp.stderr.decode()[-2000:]}"
    assert sorted(got) == sorted(lines), "kcat consumed bytes differ from produced ones"

# ---------------------------------------------------------------------------------------------
# 4. kafka-python (pure Python client) with SCRAM

@pytest.mark.parametrize("mech", ["SCRAM-SHA-512", "SCRAM-SHA-256"])
def test_kafka_python_scram_roundtrip(kafka, sasl_gw, names, mech):
    kp = pytest.importorskip("kafka", reason="kafka-python (tests/requirements.txt) is not installed")
    g = sasl_gw
    off = g.log_size()
    topic = names.topic()
    kg.create_topic(g.bootstrap, topic, 3, 3, conf=g.rdkafka())
    common = dict(bootstrap_servers=g.bootstrap, security_protocol="SASL_SSL", sasl_mechanism=mech,
                  sasl_plain_username=ALICE, sasl_plain_password=ALICE_PW,
                  ssl_cafile=str(g.certs / "ca.pem"), ssl_check_hostname=True)
    recs = _records(1000, topic)
    prod = kp.KafkaProducer(acks="all", linger_ms=5, **common)
    try:
        futs = [prod.send(topic, key=k, value=v) for k, v in recs]
        prod.flush(60)
        for f in futs:
            f.get(timeout=60)
    finally:
        prod.close(10)
    cons = kp.KafkaConsumer(topic, group_id=names.group(), auto_offset_reset="earliest",
                            enable_auto_commit=False, consumer_timeout_ms=20000, **common)
    got = []
    try:
        for m in cons:
            got.append((m.key, m.value))
            if len(got) >= len(recs):
                break
    finally:
        cons.close()
    assert len(got) == len(recs), f"kafka-python consumed {len(got)} of {len(recs)}"
    assert sorted(got) == sorted(recs), "kafka-python consumed bytes differ from produced"
    assert len(_auth_lines(g.log_since(off), mech)) >= 2


def test_kafka_python_reauthentication(kafka, reauth_gw, names):
    """kafka-python follows SessionLifetimeMs too (KIP-368): a consumer (bob) polling for ~13 s
    through a gateway with a 5 s session lifetime re-authenticates and is never cut off."""
    kp = pytest.importorskip("kafka", reason="kafka-python (tests/requirements.txt) is not installed")
    g, user = reauth_gw, "bob"
    topic = names.topic()
    kg.create_topic(g.bootstrap, topic, 3, 3, conf=g.rdkafka())
    recs = _records(300, topic)
    kg.produce(g.bootstrap, topic, recs, conf=g.rdkafka())
    off = g.log_size()
    cons = kp.KafkaConsumer(topic, group_id=names.group(), auto_offset_reset="earliest",
                            enable_auto_commit=False, bootstrap_servers=g.bootstrap,
                            security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                            sasl_plain_username=user, sasl_plain_password=USERS[user],
                            ssl_cafile=str(g.certs / "ca.pem"))
    got = []
    try:
        t_end = time.monotonic() + 13
        while time.monotonic() < t_end:
            for batch in cons.poll(timeout_ms=500).values():
                got += [(m.key, m.value) for m in batch]
    finally:
        cons.close()
    assert sorted(got) == sorted(recs), f"kafka-python consumed {len(got)} of {len(recs)} (or other bytes)"
    log = g.log_since(off)
    reauth = _auth_lines(log, "SCRAM-SHA-512", user=user, re_=True)
    assert len(reauth) >= 2, f"kafka-python did not re-authenticate (lifetime {REAUTH_LIFETIME_MS} ms):\n{log[-3000:]}"
    assert not re.search(rf"User:{user} closed: session expired", log), log[-3000:]


# ---------------------------------------------------------------------------------------------
# 5. The broker's behaviour on raw sockets

@pytest.mark.parametrize("mech", ALL_MECHS)
def test_wrong_password_and_unknown_user_look_the_same(sasl_gw, mech):
    g = sasl_gw
    results = {}
    for case, user, pw in (("wrong password", ALICE, "not-" + ALICE_PW), ("unknown user", "mallory", ALICE_PW)):
        off = g.log_size()
        with g.raw() as r:
            t0 = time.monotonic()
            resp = r.login(mech, user, pw)
            took = time.monotonic() - t0
            assert resp.error == kg.ERR_SASL_AUTHENTICATION_FAILED, f"{mech} {case}: {resp}"
            assert took >= FAILURE_DELAY_MS / 1000 * 0.8, (
                f"{mech} {case}: error after {took:.3f}s, failure_delay_ms is {FAILURE_DELAY_MS}")
            r.expect_closed_silently(5, f"{mech} {case} after the error")
            m = g.close_line(off, r.local_port)
        _assert_no_upstream(m, f"{mech} {case}")
        g.wait_log(off, r"authentication failed")
        results[case] = resp.message
    assert results["wrong password"] == results["unknown user"], (
        f"{mech}: the error message tells a wrong password from an unknown user: {results}")
    assert results["wrong password"], results
    assert "mallory" not in results["unknown user"], results


@pytest.mark.parametrize("mech", ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"])
def test_raw_login_success(sasl_gw, mech):
    g = sasl_gw
    off = g.log_size()
    for user in USERS:  # incl. a name that needs SCRAM escaping (= and ,)
        with g.raw() as r:
            r.api_versions(0)  # as the Java client does first
            resp = r.login(mech, user, USERS[user])
            assert resp.error == 0 and resp.message is None, f"{mech} {user!r}: {resp}"
            assert resp.session_lifetime_ms == 0, resp
            r.metadata()
        g.wait_log(off, rf"authenticated as User:{re.escape(user)} with {mech}\b")


def test_upstream_only_after_success(sasl_gw):
    """No broker connection for a client until it has authenticated and sent a request for the
    broker (an idle logged-in client holds one socket at the gateway, not two); one then."""
    g = sasl_gw
    pid = g.gw.proc.pid
    before = upstream_sockets(pid)
    with g.raw() as r:
        r.api_versions(0)
        assert r.handshake("SCRAM-SHA-512")[0] == 0
        sc = kg.ScramClient("SCRAM-SHA-512", ALICE, ALICE_PW)
        resp = r.authenticate(sc.first())
        assert resp.error == 0
        time.sleep(0.3)
        mid = upstream_sockets(pid)
        assert mid <= before, f"the gateway connected upstream before authentication: {sorted(mid - before)}"
        resp = r.authenticate(sc.final(resp.auth_bytes))
        assert resp.error == 0 and sc.verify(resp.auth_bytes), resp
        time.sleep(0.3)
        idle = upstream_sockets(pid)
        assert idle <= before, f"an upstream connection before any request for the broker: {sorted(idle - before)}"
        r.metadata()
        after = upstream_sockets(pid)
        assert len(after - before) >= 1, f"no upstream connection after authentication: {before} -> {after}"


@pytest.mark.parametrize("case", ["exact", "client nonce repeated (librdkafka < 2.6.1)",
                                  "client nonce only", "server nonce with a suffix"])
def test_scram_client_final_nonce(sasl_gw, case):
    """client-final's r= must equal the server-first nonce exactly (RFC 5802; Kafka 4.x checks
    equals, 3.8.1-3.9 endsWith, 3.6.2 nothing: CVE-2024-56128). librdkafka before 2.6.1 sends
    r=<cnonce><cnonce><snonce> and is refused, as by a Kafka 4 broker (README)."""
    g = sasl_gw
    off = g.log_size()
    with g.raw() as r:
        assert r.handshake("SCRAM-SHA-512")[0] == 0
        sc = kg.ScramClient("SCRAM-SHA-512", ALICE, ALICE_PW)
        resp = r.authenticate(sc.first())
        assert resp.error == 0, resp
        server_first = resp.auth_bytes
        if case == "exact":
            final = sc.final(server_first)
        elif case.startswith("client nonce repeated"):
            final = sc.final(server_first, nonce_prefix=sc.nonce)  # the proof covers this r=
        else:
            final = sc.final(server_first)
            full = final.split(b",")[1][2:]
            bad = sc.nonce.encode() if case == "client nonce only" else full + b"x"
            final = final.replace(b"r=" + full, b"r=" + bad)
        resp = r.authenticate(final)
        if case == "exact":
            assert resp.error == 0 and sc.verify(resp.auth_bytes), resp
            r.metadata()
            return
        assert resp.error == kg.ERR_SASL_AUTHENTICATION_FAILED, f"{case}: {resp}"
        r.expect_closed_silently(5, case)
    g.wait_log(off, r"authentication failed: .*[Nn]once")

@pytest.mark.parametrize("api", ["Metadata", "Produce"])
def test_request_before_authentication_is_never_forwarded(sasl_gw, api):
    g = sasl_gw
    for first_api_versions in (False, True):
        off = g.log_size()
        with g.raw() as r:
            if first_api_versions:
                r.api_versions(3)
            c = r._next()
            r.send(kg.metadata_request(c, g.metadata_version) if api == "Metadata" else kg.produce_request(c))
            took = r.expect_closed_silently(5, f"{api} before authentication")
            m = g.close_line(off, r.local_port)
        _assert_no_upstream(m, f"{api} before authentication")
        assert took >= FAILURE_DELAY_MS / 1000 * 0.8, f"closed after {took:.3f}s, before the failure delay"
        g.wait_log(off, r"authentication failed: request before authentication")


def test_unsupported_mechanism(sasl_gw):
    g = sasl_gw
    off = g.log_size()
    with g.raw() as r:
        err, mechs = r.handshake("GSSAPI")
        assert err == kg.ERR_UNSUPPORTED_SASL_MECHANISM, err
        assert mechs == ALL_MECHS, f"enabled mechanisms {mechs}, configured {ALL_MECHS}"
        r.expect_closed_silently(5, "after UNSUPPORTED_SASL_MECHANISM")
        m = g.close_line(off, r.local_port)
    _assert_no_upstream(m, 'test_unsupported_mechanism')
    g.wait_log(off, r"unsupported SASL mechanism 'GSSAPI'")


def test_plain_not_offered_without_tls(sasl_plain_gw):
    """The SASL_PLAINTEXT gateway enables only SCRAM: PLAIN is unsupported there."""
    with sasl_plain_gw.raw() as r:
        err, mechs = r.handshake("PLAIN")
        assert err == kg.ERR_UNSUPPORTED_SASL_MECHANISM and mechs == ["SCRAM-SHA-512", "SCRAM-SHA-256"], (err, mechs)
        r.expect_closed_silently(5, "after UNSUPPORTED_SASL_MECHANISM")


@pytest.mark.parametrize("mech,token", [("SCRAM-SHA-512", b"\xff\x00garbage,,r="),
                                        ("SCRAM-SHA-256", b"n,,n=alice"),
                                        ("PLAIN", b"no-nul-bytes-at-all"),
                                        ("PLAIN", b"\0alice\0")])
def test_malformed_token(sasl_gw, mech, token):
    g = sasl_gw
    off = g.log_size()
    with g.raw() as r:
        assert r.handshake(mech)[0] == 0
        resp = r.authenticate(token)
        assert resp.error == kg.ERR_SASL_AUTHENTICATION_FAILED, resp
        r.expect_closed_silently(5, f"after a malformed {mech} token")
        m = g.close_line(off, r.local_port)
    _assert_no_upstream(m, 'test_malformed_token')


@pytest.mark.parametrize("after_handshake", [False, True])
def test_oversized_preauth_frame(sasl_gw, after_handshake):
    """A pre-authentication frame larger than max_preauth_frame_bytes closes the connection (the
    larger limits.max_frame_bytes applies only after authentication: the roundtrip tests
    produce batches far larger than PREAUTH_MAX)."""
    g = sasl_gw
    off = g.log_size()
    with g.raw() as r:
        if after_handshake:
            assert r.handshake("SCRAM-SHA-512")[0] == 0
        size = PREAUTH_MAX + 1
        r.send(struct.pack(">i", size) + kg.request_header(kg.API_SASL_AUTHENTICATE, 1, 7) + b"\0" * 200)
        r.expect_closed_silently(5, f"frame of {size} bytes before authentication")
        m = g.close_line(off, r.local_port)
    _assert_no_upstream(m, 'test_oversized_preauth_frame')
    # a frame at the limit is read (and, being garbage, refused for what it is, not its size)
    g.gw.assert_alive()


def test_second_sasl_authenticate_after_success(sasl_gw):
    with sasl_gw.raw() as r:
        assert r.login("SCRAM-SHA-512", ALICE, ALICE_PW).error == 0
        r.metadata()
        for version in (1, 2):
            resp = r.authenticate(b"n,,n=alice,r=abc", version=version)
            assert resp.error == kg.ERR_ILLEGAL_SASL_STATE, resp
            assert resp.message == "SaslAuthenticate request received after successful authentication", resp
        r.metadata()  # the connection stays usable, as on a broker


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-256"])
def test_handshake_v0_raw_tokens(sasl_gw, mech):
    """SaslHandshake v0: tokens are bare length-prefixed frames with no Kafka header."""
    g = sasl_gw
    off = g.log_size()
    with g.raw() as r:
        err, mechs = r.handshake(mech, version=0)
        assert err == 0 and mechs == ALL_MECHS, (err, mechs)
        if mech == "PLAIN":
            r.send(kg.frame(b"\0alice\0" + ALICE_PW.encode()))
            got = kg.recv_exact(r.s, 4)
            assert got == b"\0\0\0\0", f"PLAIN success over v0 must be a zero-length frame, got {got!r}"
        else:
            sc = kg.ScramClient(mech, ALICE, ALICE_PW)
            r.send(kg.frame(sc.first()))
            server_first = r.recv()
            r.send(kg.frame(sc.final(server_first)))
            assert sc.verify(r.recv()), "server-final does not verify"
        r.metadata()
    g.wait_log(off, rf"authenticated as User:alice with {mech}\b")


def test_handshake_v0_bad_token_closes_silently(sasl_gw):
    g = sasl_gw
    off = g.log_size()
    with g.raw() as r:
        assert r.handshake("PLAIN", version=0)[0] == 0
        r.send(kg.frame(b"\0alice\0wrong"))
        took = r.expect_closed_silently(5, "wrong PLAIN password over SaslHandshake v0")
        m = g.close_line(off, r.local_port)
    assert took >= FAILURE_DELAY_MS / 1000 * 0.8, took
    _assert_no_upstream(m, 'test_handshake_v0_bad_token_closes_silently')


# ---------------------------------------------------------------------------------------------
# 6. Brute force: failures count per (address, user); a higher cap per address
#    (a dedicated gateway each: the counts are per process)

BOB, BOB_PW = "bob", USERS["bob"]


def test_brute_force_blocks_the_pair(gateway_factory, users_file, certs):
    """A guesser at alice's password from 127.0.0.1 locks out alice from
    127.0.0.1 only: bob behind the same address logs in and works on."""
    block_ms = 5000
    g = start_sasl_gateway(gateway_factory, "gw-sasl-bruteforce", users_file, None,
                           mechanisms=["SCRAM-SHA-256", "PLAIN"], allow_plain_without_tls=True,
                           max_failures=3, failure_window_ms=60000, block_ms=block_ms,
                           failure_delay_ms=100)
    with g.raw() as r:
        assert r.login("SCRAM-SHA-256", ALICE, ALICE_PW).error == 0
    off = g.log_size()
    for i in range(3):
        with g.raw() as r:
            resp = r.login("PLAIN" if i % 2 else "SCRAM-SHA-256", ALICE, "guess-%d" % i)
            assert resp.error == kg.ERR_SASL_AUTHENTICATION_FAILED, f"wrong login {i + 1}: {resp}"
    t_block = time.monotonic()
    g.wait_log(off, rf"logins of user 'alice' from 127\.0\.0\.1 blocked for {block_ms} ms")
    # alice's right password now fails exactly like a wrong one, in both mechanisms
    off = g.log_size()
    for mech in ("SCRAM-SHA-256", "PLAIN"):
        with g.raw() as r:
            resp = r.login(mech, ALICE, ALICE_PW)
            assert resp.error == kg.ERR_SASL_AUTHENTICATION_FAILED, f"{mech}: {resp}"
            assert "invalid credentials" in (resp.message or ""), resp
    g.wait_log(off, r"too many failed logins for this user from this address")
    # bob, from the same address, is not slowed
    for mech in ("SCRAM-SHA-256", "PLAIN"):
        with g.raw() as r:
            assert r.login(mech, BOB, BOB_PW).error == 0, mech
            r.metadata()
    # librdkafka as alice fails, as bob works
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    a = AdminClient({"bootstrap.servers": g.bootstrap, **g.rdkafka("SCRAM-SHA-256")})
    with pytest.raises(KafkaException):
        a.list_topics(timeout=2)
    del a
    bob_conf = g.rdkafka("SCRAM-SHA-256", user=BOB, password=BOB_PW)
    md = AdminClient({"bootstrap.servers": g.bootstrap, **bob_conf}).list_topics(timeout=20)
    assert sorted(md.brokers) == [1, 2, 3], md.brokers
    # the retries of a refused pair are not counted: the address stays open
    for i in range(12):
        with g.raw() as r:
            assert r.login("PLAIN", ALICE, "again-%d" % i).error == kg.ERR_SASL_AUTHENTICATION_FAILED
    with g.raw() as r:
        assert r.login("PLAIN", BOB, BOB_PW).error == 0
    # after block_ms alice works again
    ok_at = None
    while time.monotonic() - t_block < block_ms / 1000 + 5:
        try:
            with g.raw(timeout=5) as r:
                if r.login("SCRAM-SHA-256", ALICE, ALICE_PW).error == 0:
                    r.metadata()
                    ok_at = time.monotonic() - t_block
                    break
        except (OSError, ConnectionError, ssl.SSLError, struct.error):
            pass
        time.sleep(0.25)
    assert ok_at is not None, f"still blocked {block_ms / 1000 + 5:.0f}s after the block began\n{g.gw.log_tail(20)}"
    assert ok_at >= block_ms / 1000 - 0.6, f"unblocked after {ok_at:.2f}s, block_ms is {block_ms}"
    md = AdminClient({"bootstrap.servers": g.bootstrap, **g.rdkafka("SCRAM-SHA-256")}).list_topics(timeout=20)
    assert sorted(md.brokers) == [1, 2, 3], md.brokers


def test_brute_force_address_cap(gateway_factory, users_file, certs):
    """One address trying many user names is refused as a whole, at accept."""
    block_ms = 4000
    g = start_sasl_gateway(gateway_factory, "gw-sasl-spray", users_file, None,
                           mechanisms=["PLAIN"], allow_plain_without_tls=True,
                           max_failures=3, max_address_failures=6, failure_window_ms=60000,
                           block_ms=block_ms, failure_delay_ms=50)
    off = g.log_size()
    for i in range(6):
        with g.raw() as r:
            assert r.login("PLAIN", "sprayed-%d" % i, "pw").error == kg.ERR_SASL_AUTHENTICATION_FAILED
    g.wait_log(off, rf"client address 127\.0\.0\.1 blocked for {block_ms} ms")
    off = g.log_size()
    with g.raw() as r:
        try:
            r.send(kg.sasl_handshake_request(1, "PLAIN"))
        except OSError:
            pass
        took = r.expect_closed_silently(3, "connection from a blocked address")
        m = g.close_line(off, r.local_port)
    assert took < 1.0, f"blocked address closed only after {took:.2f}s"
    assert "blocked" in m["reason"] and m["requests"] == "0", m.group(0)
    time.sleep(block_ms / 1000 + 0.5)
    with g.raw() as r:
        assert r.login("PLAIN", BOB, BOB_PW).error == 0


# ---------------------------------------------------------------------------------------------
# 7. Users file reload (SIGHUP and file change) with established clients

class _Clients(threading.Thread):
    """A producer and a consumer (alice) running until stopped; records errors and
    librdkafka's per-broker connect/disconnect counters."""

    def __init__(self, g: SaslGateway, topic: str, group: str):
        super().__init__(daemon=True)
        from confluent_kafka import Consumer, Producer
        self.stop_ev = threading.Event()
        self.errors, self.sent, self.delivered, self.received = [], 0, 0, 0
        self.stats = {"p": {}, "c": {}}
        self.lock = threading.Lock()
        self.topic = topic
        conf = g.rdkafka("SCRAM-SHA-512")
        self.p = Producer({"bootstrap.servers": g.bootstrap, "acks": "all", "linger.ms": 5,
                           "enable.idempotence": True, "statistics.interval.ms": 300,
                           "stats_cb": lambda js: self._stats("p", js),
                           "error_cb": lambda e: self.errors.append(f"producer: {e}"), **conf})
        self.c = Consumer({"bootstrap.servers": g.bootstrap, "group.id": group,
                           "auto.offset.reset": "earliest", "statistics.interval.ms": 300,
                           "stats_cb": lambda js: self._stats("c", js),
                           "error_cb": lambda e: self.errors.append(f"consumer: {e}"), **conf})
        self.c.subscribe([topic])

    def _stats(self, who, js):
        st = json.loads(js)
        with self.lock:
            for b in st.get("brokers", {}).values():
                if b.get("nodeid", -1) >= 0:
                    self.stats[who][b["nodename"]] = (b.get("connects", 0), b.get("disconnects", 0))

    def _cb(self, err, msg):
        if err is not None:
            self.errors.append(f"delivery: {err}")
        else:
            self.delivered += 1

    def run(self):
        from confluent_kafka import KafkaError
        i = 0
        while not self.stop_ev.is_set():
            for _ in range(10):
                try:
                    self.p.produce(self.topic, key=b"%08d" % i, value=b"v" * 100, on_delivery=self._cb)
                    self.sent += 1
                    i += 1
                except BufferError:
                    break
            self.p.poll(0)
            for m in self.c.consume(num_messages=500, timeout=0.05):
                if m.error():
                    # a broker may learn of the new topic a moment after the others
                    if not (self.received == 0 and m.error().code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
                        self.errors.append(f"consume: {m.error()}")
                else:
                    self.received += 1
        self.left = self.p.flush(60)
        deadline = time.monotonic() + 60
        while self.received < self.delivered and time.monotonic() < deadline:
            for m in self.c.consume(num_messages=1000, timeout=0.5):
                if not m.error():
                    self.received += 1
        self.c.close()

    def snapshot(self):
        with self.lock:
            return {k: dict(v) for k, v in self.stats.items()}


def test_users_reload(kafka, gateway_factory, gateway_bin, certs, names, tmp_path):
    uf = make_users_file(gateway_bin, tmp_path / "users.json", {ALICE: ALICE_PW})
    g = start_sasl_gateway(gateway_factory, "gw-sasl-reload", uf, certs)
    topic = names.topic()
    kg.create_topic(g.bootstrap, topic, 3, 3, conf=g.rdkafka())

    def carol_login():
        with g.raw() as r:
            return r.login("SCRAM-SHA-512", "carol", "carol-pw-42")

    assert carol_login().error == kg.ERR_SASL_AUTHENTICATION_FAILED
    cl = _Clients(g, topic, names.group())
    cl.start()
    try:
        deadline = time.monotonic() + 40
        while cl.received < 1000 or len(cl.snapshot()["c"]) < 1:
            assert time.monotonic() < deadline, (f"clients not going: sent {cl.sent} delivered "
                                                 f"{cl.delivered} received {cl.received} {cl.errors[:3]}")
            assert cl.is_alive()
            time.sleep(0.2)
        before = cl.snapshot()

        # add carol, SIGHUP: she can log in at once
        kg.users_cmd(gateway_bin, uf, "add", "carol", password="carol-pw-42")
        off = g.log_size()
        g.gw.proc.send_signal(signal.SIGHUP)
        g.wait_log(off, r"users reloaded from")
        resp = carol_login()
        assert resp.error == 0, f"carol after add + SIGHUP: {resp}\n{g.gw.log_tail(20)}"
        r0 = cl.received
        time.sleep(2)
        assert cl.received > r0 + 200, f"consumer stalled after the reload ({r0} -> {cl.received})"

        # remove carol without a signal: the file change is picked up within ~10 s
        off = g.log_size()
        kg.users_cmd(gateway_bin, uf, "remove", "carol")
        t0 = time.monotonic()
        while (resp := carol_login()).error == 0:
            assert time.monotonic() - t0 < 16, "carol still accepted 16 s after her removal from the file"
            time.sleep(0.5)
        assert resp.error == kg.ERR_SASL_AUTHENTICATION_FAILED, resp
        g.wait_log(off, r"users reloaded from")
        r0 = cl.received
        time.sleep(1.5)
        assert cl.received > r0 + 100, f"consumer stalled after the file-change reload ({r0} -> {cl.received})"
    finally:
        cl.stop_ev.set()
        cl.join(120)
    assert not cl.is_alive(), "clients did not finish"
    assert cl.left == 0 and not cl.errors, (cl.left, cl.errors[:5])
    assert cl.delivered == cl.sent and cl.received == cl.delivered, (cl.sent, cl.delivered, cl.received)
    after = cl.snapshot()
    for who in ("p", "c"):
        for name, (conn, disc) in after[who].items():
            b = before[who].get(name, (conn, 0))
            assert disc == 0 and conn == b[0], (
                f"{'producer' if who == 'p' else 'consumer'} connection to {name} did not survive the "
                f"users reloads: connects {b[0]}->{conn}, disconnects {disc}")


# ---------------------------------------------------------------------------------------------
# configuration checks

def test_config_checks(gateway_bin, users_file, certs, tmp_path):
    def check(listen_extra: dict, what: str, expect_rc: int, expect_text: str = ""):
        cfg = kg.gateway_config(29990, 29990)
        kg.deep_merge(cfg, {"listen": listen_extra})
        p = tmp_path / "cfg.json"
        p.write_text(json.dumps(cfg))
        cp = subprocess.run([str(gateway_bin), "check", "-c", str(p)], capture_output=True,
                            stdin=subprocess.DEVNULL, timeout=30)
        out = (cp.stdout + cp.stderr).decode(errors="replace")
        assert cp.returncode == expect_rc, f"{what}: rc {cp.returncode}, expected {expect_rc}\n{out}"
        assert expect_text in out, f"{what}: {expect_text!r} not in:\n{out}"

    auth = {"mode": "sasl", "users_file": str(users_file)}
    tls = {"cert_file": str(certs / "server.pem"), "key_file": str(certs / "server.key")}
    check({"auth": auth}, "SCRAM without TLS", 0)
    check({"auth": {**auth, "mechanisms": ["PLAIN"]}}, "PLAIN without TLS", 1, "allow_plain_without_tls")
    check({"auth": {**auth, "mechanisms": ["PLAIN"], "allow_plain_without_tls": True}},
          "PLAIN without TLS, allowed", 0)
    check({"auth": {**auth, "mechanisms": ["PLAIN"]}, "tls": tls}, "PLAIN with TLS", 0)
    check({"auth": {**auth, "mechanisms": ["GSSAPI"]}}, "GSSAPI", 1, "$.listen.auth.mechanisms[0]")
    check({"auth": {**auth, "session_lifetime": 5}}, "unknown key", 1, "session_lifetime")
    loose = tmp_path / "loose.json"
    loose.write_bytes(users_file.read_bytes())
    os.chmod(loose, 0o644)
    check({"auth": {**auth, "users_file": str(loose)}}, "users file mode 0644", 1, str(loose))


# ---------------------------------------------------------------------------------------------
# 8. Long user names: never cut into another identity

def test_long_user_name_is_never_cut(gateway_factory, gateway_bin, tmp_path, names):
    """`p`*250 may read topics; `p`*250 + `-evil` may not. The second once became the first
    (a 256-byte principal buffer filled with snprintf). Both log in with their own identity,
    and so does a 512-byte name; a 513-byte name cannot be made."""
    short, evil, longest = "p" * 250, "p" * 250 + "-evil", "q" * 512
    users = make_users_file(gateway_bin, tmp_path / "long-users.json",
                            {short: "pw-short", evil: "pw-evil", longest: "pw-longest"})
    cp = subprocess.run([str(gateway_bin), "user", "add", "--users", str(users), "--password-stdin",
                         "r" * 513], input=b"pw\n", capture_output=True, timeout=30)
    assert cp.returncode != 0 and b"512" in cp.stdout + cp.stderr, cp
    policy = tmp_path / "long-policy.json"
    rules = [{"effect": "allow", "resource": "topic", "name": "*", "operations": ["DESCRIBE"]}]
    policy.write_text(json.dumps({"version": 1, "roles": [
        {"name": "short", "members": [f"User:{short}"], "rules": rules},
        {"name": "longest", "members": [f"User:{longest}"], "rules": rules}]}))
    topic = names.topic()
    kg.create_topic(kg.DIRECT_BOOTSTRAP, topic, 1, 3)
    gw = gateway_factory.start("gw-sasl-long-names", merge={
        "listen": {"advertised_host": "localhost",
                   "auth": {"mode": "sasl", "mechanisms": ["SCRAM-SHA-512"],
                            "users_file": str(users), "max_failures": 0}},
        "acl": {"policy_file": str(policy)}})
    g = SaslGateway(gw, None)
    g.wait_ready()

    def sees_topic(user, password):
        off = g.log_size()
        with g.raw() as r:
            assert r.login("SCRAM-SHA-512", user, password).error == 0, user[:20]
            deadline = time.monotonic() + 20
            while topic.encode() not in (resp := r.metadata()) and user != evil \
                    and time.monotonic() < deadline:
                time.sleep(0.5)   # the topic may take a moment to show up in metadata
            port = r.local_port
        line = g.close_line(off, port)
        principal = line.group(0).split(" node ")[1].split(" ")[1]
        return topic.encode() in resp, principal

    seen, principal = sees_topic(evil, "pw-evil")
    assert principal == f"User:{evil}", principal[-20:]
    assert not seen, "the -evil user saw a topic only the 250-byte user may describe"
    seen, principal = sees_topic(short, "pw-short")
    assert principal == f"User:{short}" and seen
    seen, principal = sees_topic(longest, "pw-longest")
    assert principal == f"User:{longest}" and len(principal) == 517 and seen
