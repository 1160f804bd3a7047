"""TLS termination at the gateway: port-per-broker and SNI single-port modes with Java tools,
librdkafka (confluent-kafka) and kcat; mTLS (required / requested, expired, revoked, other CA),
principal mapping, minimum TLS version, plaintext clients on TLS ports, encrypted keys, and
certificate reload (SIGHUP) under traffic. Certificates: certs/mkcerts.sh (build/certs)."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

import kg

N = 3000
SNI_BOOTSTRAP = "bootstrap.kafka.local"
SNI_PATTERN = "broker-{id}.kafka.local"
SNI_NAMES = [SNI_BOOTSTRAP] + [SNI_PATTERN.format(id=i) for i in (1, 2, 3)]
MAPPING_RULES = ["RULE:^CN=([^,]+),OU=([^,]+),.*$/$1@$2/L", "DEFAULT"]


# ---------------------------------------------------------------------------------------------
# fixtures and helpers

@pytest.fixture(scope="module")
def certs(gateway_bin) -> Path:
    if gateway_bin is None:
        pytest.skip("KG_DIRECT=1: the TLS tests need a gateway (the brokers' SSL listener is "
                    "not what is tested here)")
    return kg.ensure_certs()


@pytest.fixture(scope="module")
def sni_names():
    """*.kafka.local -> 127.0.0.1 for every client (librdkafka, kcat, Java, python): /etc/hosts
    lines added only for names that do not resolve yet, removed at the end."""
    tag = f"kafka-gateway-tls-tests-{os.getpid()}"
    try:
        added = kg.add_hosts_entries(SNI_NAMES, tag)
    except PermissionError as e:
        pytest.fail(f"{', '.join(SNI_NAMES)} must resolve to 127.0.0.1 for the SNI tests and "
                    f"/etc/hosts is not writable ({e}): add them by hand", pytrace=False)
    yield SNI_NAMES
    if added:
        kg.remove_hosts_entries(tag)


def _sni_port() -> int:
    """A free port for listen.sni.port, outside the range free_port_block() picks from."""
    for p in random.Random().sample(range(28810, 28990), 180):
        if kg._bindable(p):
            return p
    raise AssertionError("no free port for the SNI listener")


class TlsGateway:
    def __init__(self, gw: kg.Gateway, certs: Path, sni_port: int | None):
        self.gw, self.certs, self.sni_port = gw, certs, sni_port
        self.port = gw.bootstrap_port
        self.broker_ports = {n: p for n, (_, p) in gw.advertised.items()}

    def bootstrap(self, mode="port") -> str:
        return f"{SNI_BOOTSTRAP}:{self.sni_port}" if mode == "sni" else f"localhost:{self.port}"

    def broker_addresses(self, mode="port") -> set:
        if mode == "sni":
            return {f"{SNI_PATTERN.format(id=n)}:{self.sni_port}" for n in (1, 2, 3)}
        return {f"localhost:{p}" for p in self.broker_ports.values()}

    def rdkafka(self, client=None, **extra) -> dict:
        c = {"security.protocol": "ssl", "ssl.ca.location": str(self.certs / "ca.pem"),
             "ssl.endpoint.identification.algorithm": "https"}
        if client:
            c["ssl.certificate.location"] = str(self.certs / f"{client}.pem")
            c["ssl.key.location"] = str(self.certs / f"{client}.key")
        c.update(extra)
        return c

    def java_props(self, path: Path, client=None) -> Path:
        lines = ["security.protocol=SSL",
                 f"ssl.truststore.location={self.certs / 'truststore.p12'}",
                 "ssl.truststore.type=PKCS12",
                 f"ssl.truststore.password={kg.KEYSTORE_PASSWORD}"]
        if client:
            lines += [f"ssl.keystore.location={self.certs / (client + '.p12')}",
                      "ssl.keystore.type=PKCS12",
                      f"ssl.keystore.password={kg.KEYSTORE_PASSWORD}",
                      f"ssl.key.password={kg.KEYSTORE_PASSWORD}"]
        path.write_text("\n".join(lines) + "\n")
        return path

    def probe(self, port=None, client=None, server_hostname="localhost", **kw) -> kg.TlsResult:
        cert = key = None
        if client:
            cert, key = self.certs / f"{client}.pem", self.certs / f"{client}.key"
        return kg.tls_probe(kg.HOST, port or self.port, ca=self.certs / "ca.pem", cert=cert, key=key,
                            server_hostname=server_hostname, **kw)

    def log_size(self) -> int:
        return self.gw.log_path.stat().st_size

    def wait_log(self, offset: int, pattern: str, timeout=5.0) -> str:
        """Wait until the gateway log, from byte `offset` on, matches the regex `pattern`."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.gw.log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
            m = re.search(pattern, text)
            if m:
                return m.group(0)
            if time.monotonic() > deadline:
                raise AssertionError(f"gateway log has no line matching {pattern!r} after {timeout}s; "
                                     f"new log lines:\n{text[-3000:]}")
            time.sleep(0.1)


def start_tls_gateway(factory, name, certs: Path, sni=False, **tls) -> TlsGateway:
    t = {"cert_file": str(certs / "server.pem"), "key_file": str(certs / "server.key")}
    t.update(tls)
    listen = {"advertised_host": "localhost", "tls": t}
    sni_port = None
    if sni:
        sni_port = _sni_port()
        listen["sni"] = {"port": sni_port, "advertised_port": sni_port,
                         "bootstrap_host": SNI_BOOTSTRAP, "broker_host_pattern": SNI_PATTERN}
    gw = factory.start(name, merge={"listen": listen})
    tg = TlsGateway(gw, certs, sni_port)
    if sni:
        deadline = time.monotonic() + 10
        while not kg.port_accepts(kg.HOST, sni_port):
            assert time.monotonic() < deadline, f"SNI port {sni_port} not accepting\n{gw.log_tail()}"
            time.sleep(0.1)
    return tg


@pytest.fixture(scope="module")
def tls_gw(gateway_factory, certs, sni_names) -> TlsGateway:
    """TLS without client certificates; port-per-broker plus the SNI port."""
    return start_tls_gateway(gateway_factory, "gw-tls", certs, sni=True, min_version="TLSv1.2",
                             client_auth="none", handshake_timeout_ms=10000)


@pytest.fixture(scope="module")
def mtls_gw(gateway_factory, certs) -> TlsGateway:
    return start_tls_gateway(gateway_factory, "gw-mtls-required", certs, client_auth="required",
                             ca_file=str(certs / "ca.pem"), crl_file=str(certs / "crl.pem"),
                             principal_mapping_rules=MAPPING_RULES)


@pytest.fixture(scope="module")
def mtls_requested_gw(gateway_factory, certs) -> TlsGateway:
    return start_tls_gateway(gateway_factory, "gw-mtls-requested", certs, client_auth="requested",
                             ca_file=str(certs / "ca.pem"), crl_file=str(certs / "crl.pem"),
                             principal_mapping_rules=MAPPING_RULES)


@pytest.fixture(scope="module")
def tls13_gw(gateway_factory, certs) -> TlsGateway:
    return start_tls_gateway(gateway_factory, "gw-tls13", certs, min_version="TLSv1.3",
                             handshake_timeout_ms=1500)


def _records(n, seed):
    rng = random.Random(seed)
    return [(f"k{i:05d}".encode() + rng.randbytes(rng.randrange(0, 6)),
             rng.randbytes(rng.randrange(0, 400))) for i in range(n)]


class _ListLogger(logging.Handler):
    """A logging.Logger for librdkafka ("logger" setting) that keeps the lines in memory
    instead of printing every reconnect attempt."""

    def __init__(self):
        super().__init__()
        self.lines = []
        self.logger = logging.getLogger(f"kg-rdkafka-{id(self)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)

    def emit(self, record):
        self.lines.append(record.getMessage())


def _assert_refused(res: kg.TlsResult, what: str):
    assert not res.ok, f"{what}: expected the gateway to refuse the connection, but {res}"


def _assert_accepted(res: kg.TlsResult, what: str):
    assert res.ok, f"{what}: expected the gateway to accept the connection, but {res}"


# ---------------------------------------------------------------------------------------------
# clients over TLS: librdkafka, kcat, Java; port-per-broker and SNI

@pytest.mark.parametrize("mode", ["port", "sni"])
def test_tls_librdkafka_roundtrip(kafka, tls_gw, names, mode):
    bs = tls_gw.bootstrap(mode)
    conf = tls_gw.rdkafka()
    topic, group = names.topic(), names.group()
    kg.create_topic(bs, topic, 6, 3, conf=conf)
    stats = kg.StatsCollector()
    recs = _records(N, topic)
    delivered = kg.produce(bs, topic, recs, conf={**conf, **stats.conf()})
    assert len(delivered) == N
    msgs, committed = kg.consume(bs, topic, group, N, conf={**conf, **stats.conf()})
    assert sorted((k, v) for _, _, k, v in msgs) == sorted(recs), "consumed bytes differ from produced"
    assert sum(committed.values()) == N, f"committed offsets {committed}"
    allowed = tls_gw.broker_addresses(mode) | {bs}
    assert stats.nodenames, "librdkafka reported no broker connections"
    assert stats.nodenames <= allowed, f"librdkafka connected to {sorted(stats.nodenames - allowed)}"
    assert tls_gw.broker_addresses(mode) <= stats.nodenames, (
        f"not every broker was reached through the gateway ({mode}): {sorted(stats.nodenames)}")
    for e in stats.errors:
        kg.assert_no_direct_address(e, "librdkafka error")


@pytest.mark.parametrize("mode", ["port", "sni"])
def test_tls_kcat_roundtrip(kafka, tls_gw, names, mode):
    bs = tls_gw.bootstrap(mode)
    ssl_args = ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={tls_gw.certs / 'ca.pem'}"]
    topic = names.topic()
    kg.create_topic(bs, topic, 3, 3, conf=tls_gw.rdkafka())
    cp = kg.run(["kcat", "-b", bs, *ssl_args, "-L", "-t", topic], timeout=60)
    listing = cp.stdout.decode()
    for addr in tls_gw.broker_addresses(mode):
        assert f" at {addr}" in listing, f"kcat -L does not show broker {addr}:\n{listing}"
    kg.assert_no_direct_address(listing, "kcat -L")
    rng = random.Random(topic)
    lines = [b"key%05d:%d|" % (i, i) + bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 .,;-")
                                            for _ in range(rng.randrange(1, 100))) for i in range(N)]
    kg.run(["kcat", "-P", "-b", bs, *ssl_args, "-t", topic, "-K:", "-X", "acks=all"],
           input=b"\n".join(lines) + b"\n", timeout=120)
    cp = kg.run(["kcat", "-C", "-b", bs, *ssl_args, "-t", topic, "-o", "beginning", "-c", str(N),
                 "-f", "%k:%s\n"], timeout=120)
    got = cp.stdout.splitlines()
    assert len(got) == N, f"kcat consumed {len(got)} of {N}; stderr: {cp.stderr.decode()[-2000:]}"
    assert sorted(got) == sorted(lines), "kcat consumed bytes differ from produced ones"


@pytest.mark.parametrize("mode", ["port", "sni"])
def test_tls_java_tools_roundtrip(kafka, tls_gw, names, mode, tmp_path):
    """Java clients with a PKCS12 truststore and the default hostname verification (https)."""
    bs = tls_gw.bootstrap(mode)
    props = tls_gw.java_props(tmp_path / "ssl.properties")
    topic, group = names.topic(), names.group()
    outputs = []
    cp = kafka.tool("topics", "--bootstrap-server", bs, "--command-config", props, "--create",
                    "--topic", topic, "--partitions", 6, "--replication-factor", 3)
    outputs.append(cp.stdout + cp.stderr)
    assert f"Created topic {topic}" in cp.stdout.decode(), cp.stdout.decode() + cp.stderr.decode()
    kg.wait_topic_ready(tls_gw.bootstrap(), topic, 6, conf=tls_gw.rdkafka())
    rng = random.Random(topic)
    records = [(f"key-{i:05d}", f"{i}|" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-_+=")
                                                  for _ in range(rng.randrange(1, 150))))
               for i in range(N)]
    data = "".join(f"{k}\t{v}\n" for k, v in records).encode()
    cp = kafka.tool("console-producer", "--bootstrap-server", bs, "--topic", topic,
                    kafka.producer_config_flag(), props,
                    kafka.reader_prop_flag(), "parse.key=true",
                    kafka.reader_prop_flag(), "key.separator=\t",
                    kafka.producer_prop_flag(), "acks=all",
                    kafka.producer_prop_flag(), "linger.ms=20",
                    input=data, timeout=180)
    outputs.append(cp.stdout + cp.stderr)
    assert b"ERROR" not in cp.stderr and b"Exception" not in cp.stderr, cp.stderr.decode()[-3000:]
    cp = kafka.tool("console-consumer", "--bootstrap-server", bs, "--topic", topic,
                    kafka.consumer_config_flag(), props, "--group", group, "--from-beginning",
                    "--max-messages", N, "--timeout-ms", 60000,
                    kafka.formatter_prop_flag(), "print.key=true",
                    kafka.formatter_prop_flag(), "key.separator=\t", timeout=180)
    outputs.append(cp.stdout + cp.stderr)
    got = cp.stdout.decode().splitlines()
    assert len(got) == N, f"consumed {len(got)} of {N}; stderr:\n{cp.stderr.decode()[-3000:]}"
    assert sorted(got) == sorted(f"{k}\t{v}" for k, v in records), "Java consumer got different data"
    # the group coordinator (FindCoordinator) is a gateway address of this mode
    cp = kafka.tool("consumer-groups", "--bootstrap-server", bs, "--command-config", props,
                    "--describe", "--group", group, "--state")
    outputs.append(cp.stdout + cp.stderr)
    m = re.search(r"^\S+\s+(\S+:\d+)\s+\((\d+)\)", cp.stdout.decode(), re.M)
    assert m, f"no coordinator in:\n{cp.stdout.decode()}"
    assert m.group(1) in tls_gw.broker_addresses(mode), (
        f"coordinator {m.group(1)} is not a gateway address of {mode} mode {sorted(tls_gw.broker_addresses(mode))}")
    for o in outputs:
        kg.assert_no_direct_address(o.decode(errors="replace"), "Java tool output")


def test_tls_default_accepts_tls12_and_tls13(tls_gw):
    r12 = tls_gw.probe(max_version=ssl.TLSVersion.TLSv1_2)
    _assert_accepted(r12, "TLS 1.2 client, min_version TLSv1.2")
    assert r12.version == "TLSv1.2", r12
    r13 = tls_gw.probe(min_version=ssl.TLSVersion.TLSv1_3)
    _assert_accepted(r13, "TLS 1.3 client")
    assert r13.version == "TLSv1.3", r13
    # every broker port and the SNI port serve the same certificate
    served = {kg.cert_serial(tls_gw.probe(port=p).peer_der) for p in tls_gw.broker_ports.values()}
    served.add(kg.cert_serial(tls_gw.probe(port=tls_gw.sni_port, server_hostname=SNI_BOOTSTRAP).peer_der))
    assert served == {kg.cert_serial(tls_gw.certs / "server.crt")}, served


def test_sni_unknown_name_refused(tls_gw):
    """On the SNI port, a name that is neither the bootstrap nor a broker name gets no route."""
    _assert_accepted(tls_gw.probe(port=tls_gw.sni_port, server_hostname="broker-2.kafka.local"),
                     "SNI broker-2.kafka.local")
    res = tls_gw.probe(port=tls_gw.sni_port, server_hostname="other.kafka.local")
    _assert_refused(res, "SNI other.kafka.local on the SNI port")
    tls_gw.gw.assert_alive()


# ---------------------------------------------------------------------------------------------
# mTLS

def test_mtls_required_accepts_alice_with_mapped_principal(kafka, mtls_gw, names):
    off = mtls_gw.log_size()
    topic = names.topic()
    recs = _records(200, topic)
    kg.create_topic(mtls_gw.bootstrap(), topic, 3, 3, conf=mtls_gw.rdkafka("alice"))
    kg.produce(mtls_gw.bootstrap(), topic, recs, conf=mtls_gw.rdkafka("alice"))
    msgs, _ = kg.consume(mtls_gw.bootstrap(), topic, names.group(), len(recs),
                         conf=mtls_gw.rdkafka("alice"))
    assert sorted((k, v) for _, _, k, v in msgs) == sorted(recs)
    mtls_gw.wait_log(off, r"principal User:alice@eng\b")
    # rule $1@$2 with bob's OU
    off = mtls_gw.log_size()
    _assert_accepted(mtls_gw.probe(client="bob"), "bob's certificate")
    mtls_gw.wait_log(off, r"principal User:bob@ops\b")


def test_mtls_required_java_keystore(kafka, mtls_gw, names, tmp_path):
    off = mtls_gw.log_size()
    props = mtls_gw.java_props(tmp_path / "alice.properties", client="alice")
    cp = kafka.tool("topics", "--bootstrap-server", mtls_gw.bootstrap(), "--command-config", props,
                    "--list", timeout=120)
    assert "__consumer_offsets" in cp.stdout.decode().split(), cp.stdout.decode() + cp.stderr.decode()
    mtls_gw.wait_log(off, r"principal User:alice@eng\b")


@pytest.mark.parametrize("client", [None, "expired", "wrongca", "revoked"])
def test_mtls_required_refuses(mtls_gw, client):
    off = mtls_gw.log_size()
    res = mtls_gw.probe(client=client)
    _assert_refused(res, f"client_auth=required, client cert {client or '(none)'}")
    # refused in the handshake, nothing forwarded upstream
    line = mtls_gw.wait_log(off, r".*closed: TLS handshake failed.*")
    assert "requests 0" in line, line
    mtls_gw.gw.assert_alive()
    _assert_accepted(mtls_gw.probe(client="alice"), "alice after a refused client")


def test_mtls_required_no_cert_librdkafka_fails(mtls_gw):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    errors, logs = [], _ListLogger()
    a = AdminClient({"bootstrap.servers": mtls_gw.bootstrap(), **mtls_gw.rdkafka(),
                     "error_cb": lambda e: errors.append(str(e)), "logger": logs.logger,
                     "reconnect.backoff.ms": 500})
    with pytest.raises(KafkaException):
        a.list_topics(timeout=5)
    a.poll(1)  # serves error_cb and the log queue
    assert errors, "librdkafka reported no error for a gateway that requires a client certificate"
    text = "\n".join(logs.lines + errors)
    assert re.search(r"(?i)ssl|handshake|alert|certificate", text), text[-2000:]


def test_mtls_requested(mtls_requested_gw):
    gw = mtls_requested_gw
    off = gw.log_size()
    _assert_accepted(gw.probe(), "client_auth=requested, no client cert")
    gw.wait_log(off, r"principal User:ANONYMOUS\b")
    off = gw.log_size()
    _assert_accepted(gw.probe(client="alice"), "client_auth=requested, alice")
    gw.wait_log(off, r"principal User:alice@eng\b")
    for bad in ("wrongca", "expired", "revoked"):
        _assert_refused(gw.probe(client=bad), f"client_auth=requested, untrusted cert {bad}")
    gw.gw.assert_alive()


# ---------------------------------------------------------------------------------------------
# protocol versions, plaintext clients, handshake timeout, encrypted keys

def test_min_version_tls13(tls13_gw):
    res = tls13_gw.probe(max_version=ssl.TLSVersion.TLSv1_2)
    _assert_refused(res, "TLS 1.2 client, min_version TLSv1.3")
    assert res.stage == "handshake", res
    res = tls13_gw.probe(min_version=ssl.TLSVersion.TLSv1_3)
    _assert_accepted(res, "TLS 1.3 client, min_version TLSv1.3")
    assert res.version == "TLSv1.3"


def test_handshake_timeout(tls13_gw):
    """A client that connects and never starts the handshake is cut after handshake_timeout_ms."""
    t0 = time.monotonic()
    with socket.create_connection((kg.HOST, tls13_gw.port), timeout=10) as s:
        how = kg.wait_closed(s, timeout=8.0)
    took = time.monotonic() - t0
    assert 1.0 <= took <= 6.0, f"silent connection closed ({how}) after {took:.1f}s, handshake_timeout_ms=1500"
    _assert_accepted(tls13_gw.probe(), "TLS client after a handshake timeout")


@pytest.mark.parametrize("which", ["bootstrap", "broker", "sni"])
def test_plaintext_client_on_tls_port(tls_gw, which):
    port = {"bootstrap": tls_gw.port, "broker": tls_gw.broker_ports[2], "sni": tls_gw.sni_port}[which]
    with socket.create_connection((kg.HOST, port), timeout=10) as s:
        s.sendall(kg.api_versions_request(1, 3))
        s.settimeout(5.0)
        got = b""
        deadline = time.monotonic() + 5
        while True:
            assert time.monotonic() < deadline, f"connection still open after 5s, got {got[:40]!r}"
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                break
            except socket.timeout:
                raise AssertionError(f"plaintext client on the TLS {which} port: connection still open "
                                     f"after 5s (got {got[:40]!r})")
            if not chunk:
                break
            got += chunk
    # nothing, or a TLS alert record (content type 21): never a Kafka response
    assert got == b"" or got[0] == 0x15, f"plaintext client got non-TLS bytes back: {got[:40]!r}"
    tls_gw.gw.assert_alive()
    sni = SNI_BOOTSTRAP if which == "sni" else "localhost"
    _assert_accepted(tls_gw.probe(port=port, server_hostname=sni), f"TLS client on the {which} port afterwards")


def test_encrypted_key_with_password_file(gateway_factory, gateway_bin, certs, tmp_path):
    gw = start_tls_gateway(gateway_factory, "gw-tls-enc-key", certs,
                           key_file=str(certs / "server-enc.key"),
                           key_password_file=str(certs / "server-key.pass"))
    res = gw.probe()
    _assert_accepted(res, "gateway with an encrypted key")
    assert kg.cert_serial(res.peer_der) == kg.cert_serial(certs / "server.crt")
    from confluent_kafka.admin import AdminClient
    md = AdminClient({"bootstrap.servers": gw.bootstrap(), **gw.rdkafka()}).list_topics(timeout=20)
    assert sorted(md.brokers) == [1, 2, 3], md.brokers
    # a wrong password, or none, is a configuration error (and must never prompt on a terminal)
    wrong = tmp_path / "wrong.pass"
    wrong.write_text("not-the-password\n")
    for pw in (str(wrong), None):
        cfg = kg.deep_merge(kg.deep_merge({}, gw.gw.config),
                            {"listen": {"tls": {"key_password_file": pw}}})
        p = tmp_path / f"bad-{'wrong' if pw else 'none'}.json"
        p.write_text(json.dumps(cfg))
        cp = subprocess.run([str(gateway_bin), "check", "-c", str(p)], capture_output=True,
                            stdin=subprocess.DEVNULL, timeout=30)
        assert cp.returncode == 1, (f"check with key_password_file={pw}: rc {cp.returncode}, "
                                    f"expected 1\n{cp.stdout.decode()}{cp.stderr.decode()}")


# ---------------------------------------------------------------------------------------------
# reload on SIGHUP under traffic

class _Producer(threading.Thread):
    """Produces continuously until stopped; records delivery errors and librdkafka's
    per-broker connect/disconnect counters."""

    def __init__(self, bootstrap, topic, conf):
        super().__init__(daemon=True)
        from confluent_kafka import Producer
        self.stop_ev = threading.Event()
        self.errors, self.delivered, self.sent = [], 0, 0
        self.stats = {}
        self.lock = threading.Lock()
        self.topic = topic
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                           "enable.idempotence": True, "message.timeout.ms": 60000,
                           "statistics.interval.ms": 300, "stats_cb": self._stats,
                           "error_cb": lambda e: self.errors.append(f"error_cb: {e}"), **conf})

    def _stats(self, js):
        st = json.loads(js)
        with self.lock:
            for b in st.get("brokers", {}).values():
                if b.get("nodeid", -1) >= 0:
                    self.stats[b["nodename"]] = (b.get("connects", 0), b.get("disconnects", 0))

    def _cb(self, err, msg):
        if err is not None:
            self.errors.append(f"delivery: {err}")
        else:
            self.delivered += 1

    def run(self):
        i = 0
        while not self.stop_ev.is_set():
            for _ in range(20):
                try:
                    self.p.produce(self.topic, key=b"%08d" % i, value=b"v" * 200, on_delivery=self._cb)
                    self.sent += 1
                    i += 1
                except BufferError:
                    break
            self.p.poll(0.01)
        self.left = self.p.flush(60)

    def snapshot(self):
        with self.lock:
            return dict(self.stats)


def test_reload_certificate_under_traffic(kafka, gateway_factory, certs, names, tmp_path):
    cdir = tmp_path / "certs"
    shutil.copytree(certs, cdir)
    gw = start_tls_gateway(gateway_factory, "gw-tls-reload", cdir, client_auth="requested",
                           ca_file=str(cdir / "ca.pem"), crl_file=str(cdir / "crl.pem"),
                           principal_mapping_rules=MAPPING_RULES)
    topic = names.topic()
    kg.create_topic(gw.bootstrap(), topic, 6, 3, conf=gw.rdkafka())
    old = kg.cert_serial(gw.probe().peer_der)
    assert old == kg.cert_serial(cdir / "server.crt")
    _assert_accepted(gw.probe(client="bob"), "bob before his certificate is revoked")

    prod = _Producer(gw.bootstrap(), topic, gw.rdkafka())
    prod.start()
    try:
        deadline = time.monotonic() + 30
        while prod.delivered < 2000 or len(prod.snapshot()) < 3:
            assert time.monotonic() < deadline, f"producer not going: {prod.delivered} delivered, {prod.errors[:3]}"
            assert prod.is_alive()
            time.sleep(0.2)
        before = prod.snapshot()

        # 1. a newly issued certificate (and key), then SIGHUP
        kg.run(["bash", str(kg.MKCERTS), "--renew-server", str(cdir)])
        new = kg.cert_serial(cdir / "server.crt")
        assert new != old
        off = gw.log_size()
        gw.gw.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while (served := kg.cert_serial(gw.probe().peer_der)) != new:
            assert time.monotonic() < deadline, (f"after SIGHUP new connections still get serial "
                                                 f"{served}, expected {new}\n{gw.gw.log_tail(20)}")
            time.sleep(0.2)
        gw.wait_log(off, r"(?i)reload")
        d0 = prod.delivered
        time.sleep(2)
        assert prod.delivered > d0 + 500, f"producer stalled after the reload ({d0} -> {prod.delivered})"

        # 2. CRL reload: revoke bob, SIGHUP, bob refused, alice still fine
        kg.run(["bash", str(kg.MKCERTS), "--revoke", "bob", str(cdir)])
        gw.gw.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while (r := gw.probe(client="bob")).ok:
            assert time.monotonic() < deadline, "bob still accepted 10s after his revocation and SIGHUP"
            time.sleep(0.2)
        _assert_accepted(gw.probe(client="alice"), "alice after the CRL reload")

        # 3. a broken certificate file: SIGHUP keeps the current certificate
        (cdir / "server.pem").write_text("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
        off = gw.log_size()
        gw.gw.proc.send_signal(signal.SIGHUP)
        gw.wait_log(off, r"(?i)(reload|certificate).*(fail|error|keep)")
        time.sleep(0.5)
        gw.gw.assert_alive("after SIGHUP with a broken certificate")
        res = gw.probe()
        _assert_accepted(res, "new TLS connection after a failed reload")
        assert kg.cert_serial(res.peer_der) == new, "a failed reload changed the served certificate"
        d0 = prod.delivered
        time.sleep(1.5)
        assert prod.delivered > d0 + 300, f"producer stalled after the failed reload ({d0} -> {prod.delivered})"
    finally:
        prod.stop_ev.set()
        prod.join(90)
    assert not prod.is_alive(), "producer did not finish flushing"
    assert prod.left == 0, f"{prod.left} messages undelivered"
    assert not prod.errors, f"producer errors across the reloads: {prod.errors[:5]}"
    assert prod.delivered == prod.sent, (prod.delivered, prod.sent)
    after = prod.snapshot()
    for name, (conn, disc) in after.items():
        b = before.get(name, (conn, 0))
        assert disc == 0 and conn == b[0], (
            f"established connection to {name} did not survive the reloads: connects {b[0]}->{conn}, "
            f"disconnects {disc}")
    hw = kg.watermarks(gw.bootstrap(), topic, range(6), conf=gw.rdkafka())
    assert sum(h for _, h in hw.values()) == prod.sent, f"high watermarks {hw} != {prod.sent} sent"


# ---------------------------------------------------------------------------------------------
# TLS to the brokers (upstream.tls) through the bed's SSL listeners

def test_upstream_tls_to_broker_ssl_listener(kafka, gateway_factory, certs, names):
    st = kafka.bed("status", check=False).stdout.decode()
    assert st.count(" ssl ") == 3, (f"the Kafka bed runs without its SSL listeners (started by an "
                                    f"older kafka-bed.sh or with KG_BED_SSL=0?):\n{st}")
    info = kafka.ssl_info()
    up = info["bootstrap"].split(",")
    gw = gateway_factory.start("gw-upstream-tls", merge={
        "listen": {"advertised_host": "localhost",
                   "tls": {"cert_file": str(certs / "server.pem"), "key_file": str(certs / "server.key")}},
        "upstream": {"bootstrap_servers": up, "tls": {"ca_file": info["ca"]}}})
    tg = TlsGateway(gw, certs, None)
    topic = names.topic()
    conf = tg.rdkafka()
    kg.create_topic(tg.bootstrap(), topic, 6, 3, conf=conf)
    stats = kg.StatsCollector()
    recs = _records(1000, topic)
    kg.produce(tg.bootstrap(), topic, recs, conf={**conf, **stats.conf()})
    msgs, _ = kg.consume(tg.bootstrap(), topic, names.group(), len(recs), conf={**conf, **stats.conf()})
    assert sorted((k, v) for _, _, k, v in msgs) == sorted(recs)
    assert stats.nodenames <= tg.broker_addresses() | {tg.bootstrap()}, stats.nodenames
    # the brokers' SSL ports (2939x) must not leak either
    for e in stats.errors:
        assert not re.search(r":2939[2-4]\b", e), e
    text = kg.run(["kcat", "-b", tg.bootstrap(), "-X", "security.protocol=ssl", "-X",
                   f"ssl.ca.location={certs / 'ca.pem'}", "-L"], timeout=60).stdout.decode()
    assert not re.search(r":2939[2-4]\b", text) and "localhost:" in text, text
