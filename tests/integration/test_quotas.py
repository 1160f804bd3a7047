"""Tenant quotas (issue 13, second part): producer_byte_rate, consumer_byte_rate and
request_rate of policy tenants[].quotas, enforced as a broker enforces client quotas (KIP-219):
the client is told throttle_time_ms in the response and its connection is not read until the
wait is over, so clients slow down instead of failing.

Real Java clients through the gateway, always of another release than the brokers (the
producer-perf and consumer-perf tools of 4.3.1 in front of 3.6.2 brokers, of 3.6.2 in front of
4.x; KG_QUOTA_TOOLS overrides), SCRAM-SHA-512 at the gateway. alice is tenant "metered" (producer 512 KiB/s, consumer
1 MiB/s), carol tenant "open" (no quota), bob tenant "chatty" (request_rate)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import acl_util as au
from acl_util import allow, role
import kg

PRODUCE_RATE = 512 * 1024          # bytes/s of tenant "metered"
FETCH_RATE = 1024 * 1024
RECORD = 1024                      # record size of the perf tools

ROLES = [role("apps", ["User:alice", "User:bob", "User:carol"], [
    allow("topic", ["ALL"], prefix="qt."), allow("group", ["ALL"], prefix="qt."),
    allow("cluster", ["IDEMPOTENT_WRITE"])])]

PRODUCER_RE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)")


def write_policy(path: Path, request_rate: int) -> Path:
    return au.write_policy(path, ROLES, tenants=[
        {"name": "metered", "members": ["User:alice"],
         "quotas": {"producer_byte_rate": PRODUCE_RATE, "consumer_byte_rate": FETCH_RATE}},
        {"name": "open", "members": ["User:carol"]},
        {"name": "chatty", "members": ["User:bob"], "quotas": {"request_rate": request_rate}}])


@pytest.fixture(scope="module")
def qenv(gateway_factory, kafka, tmp_path_factory):
    if gateway_factory.binary is None:
        pytest.skip("KG_DIRECT=1: quotas are the gateway's")
    tmp = tmp_path_factory.mktemp("quotas")
    policy = write_policy(tmp / "policy.json", 20)
    port = kg.free_port_block(1)
    gw = au.start_acl_gateway(gateway_factory, "gw-quotas", tmp, policy,
                              admin={"bind_host": kg.HOST, "port": port})
    side = au.gateway_side(kafka, gw, tmp)
    return {"gw": gw, "policy": policy, "url": f"http://{kg.HOST}:{port}", "tmp": tmp,
            "side": side, "kafka": kafka}


def _status_tenant(url, name):
    with urllib.request.urlopen(url + "/status", timeout=5) as r:
        return next(t for t in json.loads(r.read())["tenants"] if t["name"] == name)


def tools_release(kafka) -> str:
    """Clients of another release than the brokers: new tools on old brokers, old on new."""
    return os.environ.get("KG_QUOTA_TOOLS") or ("3.6.2" if kafka.major >= 4 else "4.3.1")


def _perf_cmd(kafka, tool, *args):
    return [str(kg.BED), "tool", tools_release(kafka), tool, *map(str, args)]


def _producer(q, user, topic, records, throughput):
    side = q["side"]
    return subprocess.Popen(
        _perf_cmd(q["kafka"], "producer-perf", "--topic", topic, "--num-records", records,
                  "--record-size", RECORD, "--throughput", throughput,
                  "--producer.config", side.java_props(user), "--print-metrics",
                  "--producer-props", f"bootstrap.servers={side.bootstrap}", "acks=all",
                  "linger.ms=5"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(p, what, timeout=180):
    out, err = p.communicate(timeout=timeout)
    text = out.decode() + err.decode()
    m = None
    for m in PRODUCER_RE.finditer(text):
        pass
    assert p.returncode == 0 and m, f"{what}: exit {p.returncode}\n{text[-3000:]}"
    return {"records": int(m.group(1)), "records_per_s": float(m.group(2)), "text": text}


def _metric(text, name):
    """A producer metric printed by --print-metrics (the last one of that name)."""
    vals = re.findall(r"producer-metrics:" + re.escape(name) + r":\{[^}]*\}\s*:\s*([\d.E+-]+|NaN)",
                      text)
    assert vals, f"metric {name} not printed:\n{text[-2000:]}"
    return float(vals[-1])


def test_produce_quota_throttles_one_tenant_not_the_other(qenv):
    """Tenant metered produces flat out: it is held to its producer_byte_rate within 10 % over
    30 s, told throttle_time_ms, and loses nothing. Tenant open, sending at a steady
    0.5 MiB/s alongside, keeps its own rate within 10 % of what it had alone."""
    q = qenv
    pid = os.getpid()
    t_metered, t_open = f"qt.{pid}.metered", f"qt.{pid}.open"
    kg.create_topic(q["side"].bootstrap, t_metered, 3, 3, conf=q["side"].conf("alice"))
    kg.create_topic(q["side"].bootstrap, t_open, 3, 3, conf=q["side"].conf("carol"))
    kg.wait_topic_ready(q["side"].bootstrap, t_metered, 3, conf=q["side"].conf("alice"))
    kg.wait_topic_ready(q["side"].bootstrap, t_open, 3, conf=q["side"].conf("carol"))
    open_pace = 512                       # records/s of 1 KiB
    alone = _finish(_producer(q, "carol", t_open, open_pace * 15, open_pace), "open alone")

    records = PRODUCE_RATE * 30 // RECORD  # 30 s worth at the quota
    t0 = time.monotonic()
    pm = _producer(q, "alice", t_metered, records, -1)
    po = _producer(q, "carol", t_open, open_pace * 20, open_pace)
    beside = _finish(po, "open beside metered")
    metered = _finish(pm, "metered", timeout=240)
    took = time.monotonic() - t0

    rate = metered["records_per_s"] * RECORD
    print(f"quota: tools {tools_release(q['kafka'])}, brokers {q['kafka'].version}: metered {rate / 1024:.0f} KiB/s (quota {PRODUCE_RATE // 1024} KiB/s, "
          f"{took:.1f} s); open alone {alone['records_per_s']:.1f} rec/s, beside "
          f"{beside['records_per_s']:.1f} rec/s")
    assert metered["records"] == records
    assert 0.9 * PRODUCE_RATE <= rate <= 1.1 * PRODUCE_RATE, \
        f"metered produced {rate:.0f} B/s, quota {PRODUCE_RATE}"
    # the client was told, and nothing failed
    assert _metric(metered["text"], "produce-throttle-time-max") > 0
    assert _metric(metered["text"], "record-error-total") == 0
    assert _metric(beside["text"], "produce-throttle-time-max") == 0
    assert abs(beside["records_per_s"] - alone["records_per_s"]) <= 0.1 * alone["records_per_s"], \
        (alone["records_per_s"], beside["records_per_s"])
    st = _status_tenant(q["url"], "metered")
    pq = st["quotas"]["producer_byte_rate"]
    assert pq["rate"] == PRODUCE_RATE and pq["throttled"] > 0 and pq["throttle_seconds"] > 5, st
    assert _status_tenant(q["url"], "open")["quotas"] == {}
    with urllib.request.urlopen(q["url"] + "/metrics", timeout=5) as r:
        metrics = r.read().decode()
    assert re.search(r'kafka_gateway_tenant_quota_throttled_total\{tenant="metered",'
                     r'quota="producer_byte_rate"\} [1-9]', metrics), metrics[-3000:]
    q["metered_topic"], q["metered_records"] = t_metered, records


def test_fetch_quota(qenv):
    """Tenant metered consumes the ~15 MiB it produced: held to its consumer_byte_rate within
    10 % (fetch time of the consumer-perf tool), every record read."""
    q = qenv
    if "metered_topic" not in q:
        pytest.skip("needs the topic of test_produce_quota_throttles_one_tenant_not_the_other")
    side = q["side"]
    cp = kg.run(_perf_cmd(q["kafka"], "consumer-perf", "--bootstrap-server", side.bootstrap,
                          "--topic", q["metered_topic"], "--messages", q["metered_records"],
                          "--group", f"qt.{os.getpid()}.g", "--consumer.config",
                          side.java_props("alice"), "--timeout", 60000, "--print-metrics"),
                timeout=240)
    text = cp.stdout.decode()
    row = None
    for line in text.splitlines():
        f = [x.strip() for x in line.split(",")]
        if len(f) >= 10 and re.fullmatch(r"\d+", f[4]):
            row = f
    assert row, text[-3000:] + cp.stderr.decode()[-3000:]
    consumed, fetch_ms = int(row[4]), float(row[7])
    assert consumed >= q["metered_records"], row
    rate = consumed * RECORD / (fetch_ms / 1000.0)
    print(f"quota: metered fetched {rate / 1024:.0f} KiB/s (quota {FETCH_RATE // 1024} KiB/s)")
    assert 0.9 * FETCH_RATE <= rate <= 1.1 * FETCH_RATE, f"fetched {rate:.0f} B/s, quota {FETCH_RATE}"
    m = re.findall(r"consumer-fetch-manager-metrics:fetch-throttle-time-max:\{[^}]*\}\s*:\s*([\d.]+)",
                   text)
    assert m and float(m[-1]) > 0, text[-2000:]
    fq = _status_tenant(q["url"], "metered")["quotas"]["consumer_byte_rate"]
    assert fq["throttled"] > 0, fq


def _timed_metadata(r, n):
    """Sends n Metadata requests one after the other: (seconds taken, throttle_time_ms seen)."""
    t0 = time.monotonic()
    seen = []
    for _ in range(n):
        resp = r.request("Metadata", topics=[], allow_auto_topic_creation=False)
        seen.append(resp.throttle_time_ms)
    return time.monotonic() - t0, seen


def test_request_rate_quota_and_reload(qenv):
    """Tenant chatty (request_rate 20/s): 60 requests on one connection take about two
    seconds (one second's burst of 20 is free) and carry throttle_time_ms; a reload to 5/s
    reaches the open connection at once."""
    q = qenv
    with q["side"].raw("bob") as r:
        took, seen = _timed_metadata(r, 60)
        print(f"quota: 60 requests at 20/s took {took:.2f} s")
        assert 1.6 <= took <= 3.5, took
        assert max(seen) > 0 and seen[0] == 0, seen
        # a principal in no tenant with a quota is not held
        with q["side"].raw("carol") as free:
            took_free, seen_free = _timed_metadata(free, 60)
        assert took_free < 1.0 and max(seen_free) == 0, (took_free, seen_free)
        write_policy(q["policy"], 5)
        off = au.log_size(q["gw"])
        q["gw"].proc.send_signal(signal.SIGHUP)
        au.wait_log(q["gw"], off, r"policy reloaded")
        time.sleep(2.5)    # the debt of the first run is paid
        took, seen = _timed_metadata(r, 15)
        print(f"quota: 15 requests at 5/s after the reload took {took:.2f} s")
        assert 1.6 <= took <= 3.5, took
    assert _status_tenant(q["url"], "chatty")["quotas"]["request_rate"]["rate"] == 5
