"""Tenants of the policy (issue 13, first part): which principals a tenant has, its limit on
logged-in connections across workers (refused logins are closed, as a broker closes a
connection over its quota, and clients reconnect), hot reload of the limit, the tenant in audit
records, and per-tenant counts in /status and /metrics.

SCRAM-SHA-512 logins at the gateway; alice is tenant acme's, bob is in no tenant."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

import acl_util as au
from acl_util import allow, role
import kg

ROLES = [role("apps", ["User:alice", "User:bob"], [
    allow("topic", ["ALL"], prefix="tn."), allow("group", ["ALL"], prefix="tn."),
    allow("cluster", ["IDEMPOTENT_WRITE"])])]


def write_policy(path: Path, max_connections: int) -> Path:
    return au.write_policy(path, ROLES, tenants=[
        {"name": "acme", "members": ["User:alice"], "limits": {"max_connections": max_connections}},
        {"name": "globex", "members": ["User:carol"]}])


@pytest.fixture(scope="module")
def tenv(gateway_factory, tmp_path_factory):
    if gateway_factory.binary is None:
        pytest.skip("KG_DIRECT=1: tenants are the gateway's")
    tmp = tmp_path_factory.mktemp("tenants")
    policy = write_policy(tmp / "policy.json", 2)
    port = kg.free_port_block(1)
    gw = au.start_acl_gateway(gateway_factory, "gw-tenants", tmp, policy,
                              admin={"bind_host": kg.HOST, "port": port},
                              audit={"path": str(tmp / "audit.log")})
    return {"gw": gw, "policy": policy, "url": f"http://{kg.HOST}:{port}", "tmp": tmp}


def _get(url) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def _login(gw, user):
    """('ok', raw connection that answered a Metadata request) or ('closed', why)."""
    try:
        r = au.Raw(gw.bootstrap_host, gw.bootstrap_port, user, au.PASSWORDS[user], timeout=5)
    except (OSError, ConnectionError, AssertionError) as e:
        return "closed", repr(e)
    try:
        r.request("Metadata", topics=[], allow_auto_topic_creation=False)
        return "ok", r
    except (OSError, ConnectionError, AssertionError) as e:
        r.close()
        return "closed", repr(e)


def _open_count(url, tenant):
    for t in json.loads(_get(url + "/status"))["tenants"]:
        if t["name"] == tenant:
            return t["connections"], t["max_connections"]
    return None


def _wait_open(url, tenant, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        got = _open_count(url, tenant)
        if (got and got[0] == want) or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_tenant_connection_limit_reload_status_and_audit(tenv):
    gw, url = tenv["gw"], tenv["url"]
    off = au.log_size(gw)
    held = []
    for _ in range(2):
        st, r = _login(gw, "alice")
        assert st == "ok", r
        held.append(r)
    assert _wait_open(url, "acme", 2) == (2, 2)
    # the third of acme's connections is closed after its login, before any broker is asked
    st, why = _login(gw, "alice")
    assert st == "closed", "a third connection of tenant acme (max_connections 2) was served"
    au.wait_log(gw, off, r"tenant 'acme' has its 2 connections \(tenants\[\]\.limits\.max_connections\)")
    # a principal in no tenant is not limited by it
    bobs = []
    for _ in range(3):
        st, r = _login(gw, "bob")
        assert st == "ok", r
        bobs.append(r)
    metrics = _get(url + "/metrics")
    assert 'kafka_gateway_tenant_connections_open{tenant="acme"} 2' in metrics, metrics[-2000:]
    assert 'kafka_gateway_connections_refused_total{reason="tenant_max_connections"} 1' in metrics
    # one of acme's goes: a new one is taken
    held.pop().close()
    assert _wait_open(url, "acme", 1) == (1, 2)
    st, r = _login(gw, "alice")
    assert st == "ok", r
    held.append(r)
    # reload with 3: existing connections stay, one more is taken, the fourth is not
    write_policy(tenv["policy"], 3)
    off = au.log_size(gw)
    gw.proc.send_signal(signal.SIGHUP)
    au.wait_log(gw, off, r"policy reloaded")
    st, r = _login(gw, "alice")
    assert st == "ok", r
    held.append(r)
    assert _wait_open(url, "acme", 3) == (3, 3)
    st, _ = _login(gw, "alice")
    assert st == "closed"
    # a lower limit keeps the connections already in (as a broker keeps them under a new quota)
    write_policy(tenv["policy"], 1)
    off = au.log_size(gw)
    gw.proc.send_signal(signal.SIGHUP)
    au.wait_log(gw, off, r"policy reloaded")
    for r in held:
        r.request("Metadata", topics=[], allow_auto_topic_creation=False)
    assert _login(gw, "alice")[0] == "closed"
    assert _wait_open(url, "acme", 3) == (3, 1)
    for r in held + bobs:
        r.close()
    assert _wait_open(url, "acme", 0) == (0, 1)
    # tenant globex has no connection and no limit; it is listed once it logged in (never here)
    assert _open_count(url, "globex") is None
    # audit: acme's records carry the tenant, bob's do not
    time.sleep(1.5)   # the audit writer's flush
    recs = [json.loads(l) for l in (tenv["tmp"] / "audit.log").read_text().splitlines()]
    alice = [x for x in recs if x.get("principal") == "User:alice"]
    bob = [x for x in recs if x.get("principal") == "User:bob"]
    assert alice and bob
    assert all(x.get("tenant") == "acme" for x in alice), [x for x in alice if x.get("tenant") != "acme"][:3]
    assert not any("tenant" in x for x in bob), [x for x in bob if "tenant" in x][:3]
    kinds = {x["type"] for x in alice}
    assert {"authentication", "connection_close"} <= kinds, kinds
    closes = [x for x in alice if x["type"] == "connection_close"
              and "tenants[].limits.max_connections" in x.get("reason", "")]
    assert len(closes) == 3, closes


def test_real_client_within_the_limit(tenv):
    """A librdkafka producer and consumer of tenant acme (one connection per broker and the
    bootstrap one) work under a limit that fits them."""
    gw = tenv["gw"]
    write_policy(tenv["policy"], 8)
    off = au.log_size(gw)
    gw.proc.send_signal(signal.SIGHUP)
    au.wait_log(gw, off, r"policy reloaded")
    side = au.gateway_side(None, gw, tenv["tmp"])
    topic = f"tn.{os.getpid()}.orders"
    kg.create_topic(gw.bootstrap, topic, 3, 3, conf=side.conf("alice"))
    recs = [(b"k%d" % i, b"v%d" % i) for i in range(50)]
    kg.produce(gw.bootstrap, topic, recs, conf=side.conf("alice", **{"enable.idempotence": True}))
    got, _ = kg.consume(gw.bootstrap, topic, f"tn.{os.getpid()}.g", len(recs), conf=side.conf("alice"))
    assert sorted((k, v) for _p, _o, k, v in got) == sorted(recs)
    n, mx = _open_count(tenv["url"], "acme")
    assert mx == 8 and n <= 8
    # the tenant's traffic: at least the records both ways (reported within about a second)
    deadline = time.monotonic() + 5
    while True:
        t = next(x for x in json.loads(_get(tenv["url"] + "/status"))["tenants"] if x["name"] == "acme")
        if t["bytes_from_broker"] > 50 * 2 * 2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert t["bytes_from_client"] > 50 * 4 and t["bytes_from_broker"] > 50 * 4 and t["requests"] > 10, t
    metrics = _get(tenv["url"] + "/metrics")
    assert f'kafka_gateway_tenant_requests_total{{tenant="acme"}} ' in metrics
    assert 'kafka_gateway_tenant_bytes_total{tenant="acme",direction="from_broker"} ' in metrics
    assert 'tenant="globex"' not in metrics   # never logged in: not listed
