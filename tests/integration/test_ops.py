"""Operations (README "Operations"): the admin HTTP listener (/healthz, /readyz, /metrics,
/status) in front of real brokers with real clients, a real Prometheus server scraping it,
`promtool check metrics` on what it serves, the drain on SIGTERM (not ready first, then no new
connections, in-flight requests answered, then closed), JSON log lines, and the configuration
refusals that keep the listener closed to other hosts without a token."""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import acl_util as au
import kg


def _http(url, token=None, timeout=5.0):
    """(status, body) of a GET."""
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
        return 0, f"no answer: {e}"   # not listening (yet)


def _samples(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert m, f"not an exposition line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def _value(samples, name, **labels):
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


class _PlainRaw(au.Raw):
    """A raw connection without SASL (the plaintext gateways of these tests)."""

    def __init__(self, host, port, timeout=20.0):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.corr = 100
        self.s.sendall(kg.api_versions_request(self._next(), 3))
        _c, err, self.apis = kg.parse_api_versions_response(kg.recv_frame(self.s), 3)
        assert err == 0


@pytest.fixture(scope="module")
def ops(gateway_factory, tmp_path_factory):
    d = tmp_path_factory.mktemp("ops")
    token = secrets.token_urlsafe(24)
    (d / "token").write_text(token + "\n")
    port = kg.free_port_block(1)
    g = gateway_factory.start("gw-ops", merge={
        "admin": {"bind_host": kg.HOST, "port": port, "token_file": str(d / "token")},
        "audit": {"path": str(d / "audit.log")}})
    return {"gw": g, "url": f"http://{kg.HOST}:{port}", "token": token, "dir": d, "port": port}


def _wait_ready(url, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        st, body = _http(url + "/readyz")
        if st == 200 or time.monotonic() > deadline:
            return st, body
        time.sleep(0.2)


def test_health_token_and_metrics_under_traffic(ops, names):
    url, token, g = ops["url"], ops["token"], ops["gw"]
    assert _http(url + "/healthz") == (200, "ok\n")
    st, body = _wait_ready(url)
    assert (st, body) == (200, "ready\n"), body
    # /metrics and /status need the token; a wrong one is refused the same way
    assert _http(url + "/metrics")[0] == 401
    assert _http(url + "/metrics", token="x" * len(token))[0] == 401
    assert _http(url + "/status", token=token[:-1])[0] == 401
    assert _http(url + "/nope", token=token)[0] == 404
    before = _samples(_http(url + "/metrics", token=token)[1])

    topic, group = names.topic(), names.group()
    kg.create_topic(g.bootstrap, topic, 3, 3)
    n = 2000
    recs = [(f"k{i}".encode(), b"v" * 500) for i in range(n)]
    kg.produce(g.bootstrap, topic, recs)
    got, _ = kg.consume(g.bootstrap, topic, group, n)
    assert len(got) == n

    st, text = _http(url + "/metrics", token=token)
    assert st == 200
    after = _samples(text)
    d = lambda name, **l: _value(after, name, **l) - _value(before, name, **l)  # noqa: E731
    assert d("kafka_gateway_requests_total", api="Produce") >= 1
    assert d("kafka_gateway_requests_total", api="Fetch") >= 1
    assert d("kafka_gateway_requests_total", api="Metadata") >= 1
    # every record's value crossed the gateway once each way
    assert d("kafka_gateway_request_bytes_total", api="Produce", direction="in") >= n * 500
    assert d("kafka_gateway_request_bytes_total", api="Fetch", direction="out") >= n * 500
    assert d("kafka_gateway_authorization_total", api="Produce", result="allowed") >= 1
    for part in ("gateway", "broker"):
        cnt = d("kafka_gateway_request_duration_seconds_count", api="Produce", part=part)
        inf = d("kafka_gateway_request_duration_seconds_bucket", api="Produce", part=part, le="+Inf")
        assert cnt >= 1 and cnt == inf, (part, cnt, inf)
    # the broker's share of a Produce is larger than the gateway's own work on it
    gw_s = d("kafka_gateway_request_duration_seconds_sum", api="Produce", part="gateway")
    br_s = d("kafka_gateway_request_duration_seconds_sum", api="Produce", part="broker")
    assert 0 < gw_s < br_s, (gw_s, br_s)
    assert d("kafka_gateway_connections_accepted_total") >= 2
    assert _value(after, "kafka_gateway_upstream_brokers", state="resolved") == 3
    assert _value(after, "kafka_gateway_metadata_refresh_age_seconds") < 60
    assert _value(after, "kafka_gateway_audit_records_written_total") > 0
    assert _value(after, "kafka_gateway_ready") == 1
    assert _value(after, "kafka_gateway_requests_in_flight") == 0
    # labels stay bounded: no topic, group or client address anywhere
    assert topic not in text and group not in text and "127.0.0.1" not in text

    if shutil.which("promtool"):
        cp = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                            capture_output=True, timeout=30)
        assert cp.returncode == 0, cp.stdout.decode() + cp.stderr.decode()
    else:
        pytest.fail("promtool missing: `make deps` installs Debian's prometheus package")

    st, body = _http(url + "/status", token=token)
    doc = json.loads(body)
    assert st == 200 and doc["ready"] is True and doc["workers"] == 2
    assert sorted(b["node_id"] for b in doc["brokers"]) == [1, 2, 3]
    assert all(b["state"] == "resolved" and b["gateway_port"] for b in doc["brokers"])
    assert doc["audit"]["failing"] is False


def test_prometheus_scrapes_the_gateway(ops, names, tmp_path):
    """Debian's Prometheus server scrapes /metrics (bearer token from a file) during client
    traffic; its query API then has the gateway's series."""
    prom = shutil.which("prometheus")
    assert prom, "prometheus missing: `make deps` installs Debian's prometheus package"
    url, g = ops["url"], ops["gw"]
    port = kg.free_port_block(1)
    (tmp_path / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: kafka-gateway
    authorization:
      credentials_file: {ops['dir'] / 'token'}
    static_configs:
      - targets: ["{kg.HOST}:{ops['port']}"]
""")
    log = open(tmp_path / "prometheus.log", "wb")
    p = subprocess.Popen([prom, f"--config.file={tmp_path / 'prometheus.yml'}",
                          f"--storage.tsdb.path={tmp_path / 'data'}",
                          f"--web.listen-address={kg.HOST}:{port}"],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        topic = names.topic()
        kg.create_topic(g.bootstrap, topic, 3, 3)
        kg.produce(g.bootstrap, topic, [(b"k", b"v" * 100)] * 200)

        def query(q):
            st, body = _http(f"http://{kg.HOST}:{port}/api/v1/query?" +
                             urllib.parse.urlencode({"query": q}))
            if st != 200:
                return None
            r = json.loads(body)["data"]["result"]
            return float(r[0]["value"][1]) if r else None

        import urllib.parse
        deadline = time.monotonic() + 60
        up = produced = None
        while time.monotonic() < deadline:
            up = query('up{job="kafka-gateway"}')
            produced = query('sum(kafka_gateway_requests_total{api="Produce"})')
            if up == 1 and produced:
                break
            time.sleep(1)
        assert up == 1, f"Prometheus did not scrape the gateway:\n{kg.tail(tmp_path / 'prometheus.log')}"
        assert produced and produced >= 1
        ready = query("kafka_gateway_ready")
        assert ready == 1
    finally:
        p.terminate()
        p.wait(20)
        log.close()


def test_token_rotated_on_sighup(ops):
    """A rotated token file is read on SIGHUP: the old token stops working, the new one works;
    a token file made too short is refused and the current token stays."""
    url, g, old = ops["url"], ops["gw"], ops["token"]
    new = secrets.token_urlsafe(24)
    tmp = ops["dir"] / "token.new"
    tmp.write_text(new + "\n")
    os.replace(tmp, ops["dir"] / "token")
    off = len(g.log_path.read_bytes())
    g.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while b"admin token reloaded" not in g.log_path.read_bytes()[off:] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _http(url + "/metrics", token=new)[0] == 200
    assert _http(url + "/metrics", token=old)[0] == 401
    ops["token"] = new
    (ops["dir"] / "token.short").write_text("short\n")
    os.replace(ops["dir"] / "token.short", ops["dir"] / "token")
    off = len(g.log_path.read_bytes())
    g.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while b"admin token reload failed" not in g.log_path.read_bytes()[off:] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert b"at least 16 characters" in g.log_path.read_bytes()[off:], g.log_tail(10)
    assert _http(url + "/metrics", token=new)[0] == 200
    assert _http(url + "/metrics", token="short")[0] == 401
    (ops["dir"] / "token").write_text(new + "\n")


def test_json_log_lines(gateway_factory):
    g = gateway_factory.start("gw-json-log", log_format="json")
    with _PlainRaw(kg.HOST, g.bootstrap_port) as r:
        r.request("Metadata", topics=[], allow_auto_topic_creation=False)
    time.sleep(0.3)
    lines = g.log_path.read_text().splitlines()
    assert len(lines) >= 3
    for line in lines:
        o = json.loads(line)   # every line is one JSON object
        assert set(o) == {"ts", "level", "msg"} and o["level"] in ("debug", "info", "warn", "error")
    assert any("started" in json.loads(l)["msg"] for l in lines)


def test_sigterm_drains(gateway_factory, names, tmp_path):
    """SIGTERM: /readyz is 503 at once while the listeners still accept; after
    unready_delay_ms no new connection is accepted; a Fetch waiting at the broker (MaxWaitMs
    3000) is answered, then its connection closed; the gateway exits 0 and seals the audit log."""
    port = kg.free_port_block(1)
    g = gateway_factory.start("gw-drain", merge={
        "admin": {"bind_host": kg.HOST, "port": port},
        "shutdown": {"unready_delay_ms": 1500, "drain_timeout_ms": 8000},
        "audit": {"path": str(tmp_path / "audit.log")}})
    url = f"http://{kg.HOST}:{port}"
    assert _wait_ready(url)[0] == 200
    topic = names.topic()
    kg.create_topic(g.bootstrap, topic, 1, 3)
    leader = kg.partition_leader(g.bootstrap, topic)
    r = _PlainRaw(kg.HOST, g.advertised[leader][1])
    fv = min(r.version("Fetch"), 12)
    part = {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20,
            "current_leader_epoch": -1, "log_start_offset": -1}
    r.request("Metadata", topics=[{"name": topic}], allow_auto_topic_creation=False)
    corr = r.send("Fetch", fv, replica_id=-1, max_wait_ms=3000, min_bytes=1, max_bytes=1 << 20,
                  isolation_level=0, session_id=0, session_epoch=-1,
                  topics=[{"topic": topic, "partitions": [part]}], forgotten_topics_data=[],
                  rack_id="")
    time.sleep(0.3)
    t0 = time.monotonic()
    g.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    st, body = _http(url + "/readyz")
    assert st == 503 and "draining" in body, (st, body)
    assert kg.port_accepts(kg.HOST, g.bootstrap_port), "listeners closed before unready_delay_ms"
    # the waiting Fetch is answered (after its MaxWaitMs), not cut
    data = kg.recv_frame(r.s)
    took = time.monotonic() - t0
    assert int.from_bytes(data[:4], "big") == corr
    assert 2.0 <= took <= 4.5, f"the Fetch was answered {took:.2f}s after SIGTERM (MaxWaitMs 3000)"
    assert kg.wait_closed(r.s, timeout=3) in ("eof", "reset"), "connection not closed after its answer"
    r.close()
    assert not kg.port_accepts(kg.HOST, g.bootstrap_port), "still accepting after unready_delay_ms"
    rc = g.proc.wait(15)
    gateway_factory.started.remove(g)   # stopped here, on purpose
    assert rc == 0, g.log_tail(20)
    text = g.log_path.read_text()
    assert "drained: every connection closed after its last answer" in text, g.log_tail(20)
    assert "gateway draining" in text
    records = [json.loads(l) for l in (tmp_path / "audit.log").read_text().splitlines()]
    assert records[-1]["type"] == "seal" and records[-1]["reason"] == "stop", records[-1]
    assert any(x["type"] == "gateway_stop" and x["reason"] == "SIGTERM" for x in records)


@pytest.mark.parametrize("admin,msg", [
    ({"bind_host": "0.0.0.0", "port": 9644}, "$.admin.token_file: required when admin.bind_host"),
    ({"bind_host": "127.0.0.1"}, "$.admin.port"),
    ({"bind_host": "127.0.0.1", "port": 9644, "token_file": "/nonexistent"}, "cannot read /nonexistent"),
    ({"bind_host": "127.0.0.1", "port": 9644, "extra": 1}, "extra"),
])
def test_admin_config_refused(gateway_bin, tmp_path, admin, msg):
    cfg = kg.gateway_config(9092, 9100)
    cfg["admin"] = admin
    p = tmp_path / "gw.json"
    p.write_text(json.dumps(cfg))
    cp = kg.run([str(gateway_bin), "check", "-c", str(p)], check=False)
    out = cp.stdout.decode() + cp.stderr.decode()
    assert cp.returncode == 1 and msg in out, out
