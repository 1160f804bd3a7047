"""The audit log (README "Audit log") with real clients through real gateways: every record type
appears with its fields after the client action that causes it, the chain verifies with
`kafka-gateway audit verify` (and with an independent implementation of the documented hash
chain here), and each kind of tampering is reported.

Covered: gateway start/stop and the final seal; connection open/close with bytes, requests and
reason; ApiVersions v3 client software; SASL/SCRAM success and failure (wrong password,
unsupported mechanism); TLS version, cipher, client certificate subject and SHA-256 fingerprint;
TLS handshake failures (plaintext client, untrusted certificate); Produce/Fetch/OffsetCommit
summaries with exact record counts (confluent-kafka); admin operations with the broker's outcome
(create, create-existing, delete, config change, partitions, record deletion, group and offset
deletion); reload (users, TLS, policy) with result; logrotate-style reopen on SIGHUP; size
rotation; per-request mode; the stdout sink; authorization decisions and grouped denials (these
need the gateway's ACL enforcement)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import pytest

import kg

HMAC_KEY = b"integration-test-audit-key-0123456789"
USERS = {"alice": "alice-Secret-1"}
MECH = "SCRAM-SHA-512"


# ---------------------------------------------------------------------------------------------
# helpers

class AuditLog:
    """An audit log file: its records as dicts, and waiting for records to show up."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def lines(self) -> list:
        if not self.path.exists():
            return []
        text = self.path.read_text()
        return [l for l in text.split("\n")[:-1]]   # a last line without "\n" is being written

    def records(self) -> list:
        return [json.loads(l) for l in self.lines()]

    def find(self, **match) -> list:
        def ok(r):
            for k, v in match.items():
                got = r
                for part in k.split("__"):
                    got = got.get(part) if isinstance(got, dict) else None
                if callable(v):
                    if not v(got):
                        return False
                elif got != v:
                    return False
            return True
        return [r for r in self.records() if ok(r)]

    def wait(self, timeout=15.0, desc="", min_count=1, **match) -> list:
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(**match)
            if len(found) >= min_count:
                return found
            if time.monotonic() > deadline:
                recent = "\n".join(json.dumps(r) for r in self.records()[-15:])
                raise AssertionError(f"no {min_count} audit record(s) matching {match} ({desc}) after "
                                     f"{timeout}s in {self.path}; last records:\n{recent}")
            time.sleep(0.2)


def verify_chain_independently(paths, key: bytes | None = None) -> int:
    """The documented chain, re-implemented: hash = SHA-256(prev || line up to ',"hash":'),
    prev of a record = hash of the record before (across files), hmac = HMAC-SHA-256(key, hash).
    Returns the number of records."""
    prev, seq, n = None, None, 0
    for p in paths:
        for line in Path(p).read_text().splitlines():
            i = line.rindex(',"hash":"')
            rec = json.loads(line)
            h = hashlib.sha256(bytes.fromhex(rec["prev"]) + line[:i].encode()).hexdigest()
            assert h == rec["hash"], f"{p}: seq {rec['seq']}: hash mismatch"
            if prev is not None:
                assert rec["prev"] == prev, f"{p}: seq {rec['seq']}: prev does not link"
                assert rec["seq"] == seq + 1, f"{p}: seq {rec['seq']} after {seq}"
            if key is not None:
                assert rec["hmac"] == hmac.new(key, bytes.fromhex(h), "sha256").hexdigest()
            assert rec["v"] == 1 and rec["time"].endswith("Z") and rec["instance"]
            prev, seq, n = rec["hash"], rec["seq"], n + 1
    return n


def audit_verify(gateway_bin, *files, key_file=None, live=False, check=None, anchors=None):
    cmd = [str(gateway_bin), "audit", "verify"]
    if key_file:
        cmd += ["--hmac-key-file", str(key_file)]
    if anchors:
        cmd += ["--anchors", str(anchors)]
    if live:
        cmd.append("--live")
    cp = subprocess.run(cmd + [str(f) for f in files], capture_output=True, timeout=60)
    out = (cp.stdout + cp.stderr).decode(errors="replace")
    if check is not None:
        assert cp.returncode == check, f"audit verify rc {cp.returncode}, expected {check}:\n{out}"
    return cp.returncode, out


def start_audit_gateway(factory, workdir: Path, name: str, audit: dict | None = None,
                        merge: dict | None = None):
    workdir.mkdir(parents=True, exist_ok=True)
    key = workdir / "audit.key"
    key.write_bytes(HMAC_KEY + b"\n")
    os.chmod(key, 0o600)
    a = {"path": str(workdir / "audit.log"), "hmac_key_file": str(key),
         "summary_interval_ms": 500, "instance_id": name, "fsync": "interval"}
    a.update(audit or {})
    a = {k: v for k, v in a.items() if v is not None}
    m = {"audit": a}
    kg.deep_merge(m, merge or {})
    gw = factory.start(name, merge=m)
    return gw, AuditLog(a["path"]) if "path" in a and a.get("sink", "file") == "file" else None, key


def stop_gateway(factory, gw):
    """Stop a factory-made gateway now (SIGTERM) and forget it, so the session end does not
    report it as dead."""
    rc = gw.stop()
    assert rc == 0, f"gateway did not stop cleanly (rc {rc}):\n{gw.log_tail()}"
    factory.started.remove(gw)


def sasl_login(port: int, user: str, password: str, mech=MECH, timeout=10.0):
    """ApiVersions v3 + SaslHandshake + SCRAM over a raw socket: (socket, error code)."""
    s = socket.create_connection((kg.HOST, port), timeout=timeout)
    s.sendall(kg.api_versions_request(1, 3))
    kg.recv_frame(s)
    s.sendall(kg.sasl_handshake_request(2, mech))
    _c, err, _m = kg.parse_sasl_handshake_response(kg.recv_frame(s))
    if err:
        return s, err
    sc = kg.ScramClient(mech, user, password)
    s.sendall(kg.sasl_authenticate_request(3, sc.first()))
    r = kg.parse_sasl_authenticate_response(kg.recv_frame(s))
    if r.error:
        return s, r.error
    s.sendall(kg.sasl_authenticate_request(4, sc.final(r.auth_bytes)))
    r = kg.parse_sasl_authenticate_response(kg.recv_frame(s))
    return s, r.error


def metadata_for(topic: str, corr: int) -> bytes:
    """Metadata v4 for one topic, no auto-creation."""
    t = topic.encode()
    body = struct.pack(">i", 1) + struct.pack(">h", len(t)) + t + b"\x00"
    return kg.frame(kg.request_header(kg.API_METADATA, 4, corr) + body)


# ---------------------------------------------------------------------------------------------
# fixtures

@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("audit")


@pytest.fixture(scope="module")
def audit_gw(gateway_factory, gateway_bin, workdir):
    if gateway_bin is None:
        pytest.skip("KG_DIRECT=1: the audit log is the gateway's")
    gw, log, key = start_audit_gateway(gateway_factory, workdir / "main", "gw-audit")
    log.wait(type="gateway_start", desc="gateway_start at start")
    return gw, log, key


@pytest.fixture(scope="module")
def certs(gateway_bin) -> Path:
    if gateway_bin is None:
        pytest.skip("KG_DIRECT=1")
    return kg.ensure_certs()


@pytest.fixture(scope="module")
def users_file(gateway_bin, workdir) -> Path:
    p = workdir / "users.json"
    for name, pw in USERS.items():
        kg.users_cmd(gateway_bin, p, "add", name, password=pw)
    os.chmod(p, 0o600)
    return p


@pytest.fixture(scope="module")
def sasl_gw(gateway_factory, workdir, users_file):
    auth = {"mode": "sasl", "mechanisms": ["SCRAM-SHA-512", "SCRAM-SHA-256"],
            "users_file": str(users_file), "max_failures": 0, "failure_delay_ms": 100}
    gw, log, key = start_audit_gateway(gateway_factory, workdir / "sasl", "gw-audit-sasl",
                                       merge={"listen": {"auth": auth}})
    return gw, log


# ---------------------------------------------------------------------------------------------
# 1. start, connections, client software

def test_gateway_start_record(audit_gw):
    gw, log, _ = audit_gw
    (r,) = log.find(type="gateway_start")
    assert r["seq"] >= 1 and r["instance"] == "gw-audit"
    assert r["pid"] == gw.proc.pid and r["workers"] == 2 and r["bootstrap_port"] == gw.bootstrap_port
    assert r["audit"]["hmac"] is True and r["audit"]["on_full"] == "block"
    assert r["previous_run"] == "new"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", r["time"]), r["time"]


def test_connection_open_close_and_client_software(audit_gw):
    gw, log, _ = audit_gw
    with socket.create_connection((kg.HOST, gw.bootstrap_port), timeout=10) as s:
        port = s.getsockname()[1]
        s.sendall(kg.api_versions_request(11, 3))   # ClientSoftwareName kg-test, version 1.0
        kg.recv_frame(s)
    (o,) = log.wait(type="connection_open", client_port=port)
    assert o["listener"] == "bootstrap" and o["client_address"] == "127.0.0.1"
    assert o["principal"] == "User:ANONYMOUS" and "tls" not in o
    (c,) = log.wait(type="connection_close", client_port=port)
    assert c["conn"] == o["conn"]
    assert c["client_software_name"] == "kg-test" and c["client_software_version"] == "1.0"
    assert c["reason"] == "client closed"
    assert c["requests"] == 1 and c["responses"] == 1
    assert c["bytes_from_client"] > 20 and c["bytes_from_broker"] > 100
    assert isinstance(c["duration_ms"], (int, float)) and c["duration_ms"] >= 0
    (summ,) = log.wait(type="traffic_summary", conn=o["conn"], api="ApiVersions")
    assert summ["requests"] == 1


# ---------------------------------------------------------------------------------------------
# 2. data plane summaries and admin operations

def test_produce_consume_summaries_and_topic_admin(kafka, audit_gw, names):
    gw, log, _ = audit_gw
    topic, group = names.topic(), names.group()
    kg.create_topic(gw.bootstrap, topic, 3, 3)
    (a,) = log.wait(type="admin", api="CreateTopics", resource_name=topic)
    assert a["action"] == "create" and a["resource_type"] == "topic"
    assert a["result"] == "ok" and a["error_code"] == 0 and a["error"] == "NONE"
    assert a["request"]["partitions"] == 3 and a["request"]["replication_factor"] == 3
    assert a["principal"] == "User:ANONYMOUS" and a["client_software_name"] == "confluent-kafka-python"
    # the same topic again: the broker's error is recorded
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": gw.bootstrap})
    f = admin.create_topics([NewTopic(topic, 3, 3)])[topic]
    with pytest.raises(Exception):
        f.result(30)
    (dup,) = log.wait(type="admin", api="CreateTopics", resource_name=topic, result="failed")
    assert dup["error_code"] == 36 and dup["error"] == "TOPIC_ALREADY_EXISTS" and dup["error_message"]

    n = 2500
    kg.produce(gw.bootstrap, topic, [(b"k%05d" % i, b"v" * 200) for i in range(n)])
    # summaries come every 500 ms and at close: wait until all records are counted
    deadline = time.monotonic() + 20
    while True:
        prod = log.find(type="traffic_summary", api="Produce", resource_name=topic)
        if sum(r["records"] for r in prod) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert sum(r["records"] for r in prod) == n, prod
    assert sum(r["bytes"] for r in prod) > n * 200
    assert all(r["resource_type"] == "topic" and r["requests"] >= 1 for r in prod)
    kg.consume(gw.bootstrap, topic, group, n)
    fetch = log.wait(type="traffic_summary", api="Fetch", resource_name=topic)
    assert sum(r["requests"] for r in fetch) >= 1
    commits = log.wait(type="traffic_summary", api="OffsetCommit", resource_name=group)
    assert commits[0]["resource_type"] == "group"

    # partitions, configs, records, offsets, group, topic deletion: one record each
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions,
                                       ResourceType)
    admin.create_partitions([NewPartitions(topic, 5)])[topic].result(30)
    (cp,) = log.wait(type="admin", api="CreatePartitions", resource_name=topic)
    assert cp["result"] == "ok" and cp["request"]["count"] == 5
    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])
    for fut in admin.incremental_alter_configs([res]).values():
        fut.result(30)
    (ic,) = log.wait(type="admin", api="IncrementalAlterConfigs", resource_name=topic)
    assert ic["resource_type"] == "topic" and ic["result"] == "ok"
    assert ic["request"]["configs"] == [{"name": "retention.ms", "op": "set", "value": "3600000"}]
    for fut in admin.delete_records([TopicPartition(topic, 0, 10)]).values():
        fut.result(30)
    (dr,) = log.wait(type="admin", api="DeleteRecords", resource_name=topic)
    assert dr["result"] == "ok" and dr["partitions"] == 1 and dr["request"]["before_offsets"] == {"0": 10}
    kafka.tool("consumer-groups", "--bootstrap-server", gw.bootstrap, "--delete-offsets",
               "--group", group, "--topic", topic)
    od = log.wait(type="admin", api="OffsetDelete", resource_name=group)
    assert od[0]["resource_type"] == "group" and od[0]["topic"] == topic and od[0]["result"] == "ok"
    # with its last offsets gone the broker may already have dropped the empty group: the
    # record says what the broker answered either way
    try:
        admin.delete_consumer_groups([group])[group].result(30)
        outcome = ("ok", "NONE")
    except Exception:  # noqa: BLE001 - GROUP_ID_NOT_FOUND
        outcome = ("failed", "GROUP_ID_NOT_FOUND")
    (dg,) = log.wait(type="admin", api="DeleteGroups", resource_name=group)
    assert dg["action"] == "delete" and dg["resource_type"] == "group"
    assert (dg["result"], dg["error"]) == outcome, dg
    admin.delete_topics([topic])[topic].result(30)
    (dt,) = log.wait(type="admin", api="DeleteTopics", resource_name=topic)
    assert dt["action"] == "delete" and dt["result"] == "ok"
    gw.assert_alive()


# ---------------------------------------------------------------------------------------------
# 3. authentication, TLS

def test_sasl_success_and_failures(sasl_gw):
    gw, log = sasl_gw
    s, err = sasl_login(gw.bootstrap_port, "alice", USERS["alice"])
    port = s.getsockname()[1]
    assert err == 0
    s.sendall(kg.metadata_request(5, 4))
    kg.recv_frame(s)
    s.close()
    (o,) = log.wait(type="connection_open", client_port=port)
    assert "principal" not in o                 # not authenticated yet
    (ok,) = log.wait(type="authentication", client_port=port, result="success")
    assert ok["mechanism"] == MECH and ok["principal"] == "User:alice"
    assert ok["reauthentication"] is False and ok["client_software_name"] == "kg-test"
    (c,) = log.wait(type="connection_close", client_port=port)
    assert c["principal"] == "User:alice" and c["requests"] >= 4

    s, err = sasl_login(gw.bootstrap_port, "alice", "wrong password")
    port = s.getsockname()[1]
    assert err == kg.ERR_SASL_AUTHENTICATION_FAILED
    s.close()
    (bad,) = log.wait(type="authentication", client_port=port, result="failure")
    assert bad["mechanism"] == MECH and bad["reason"] and "principal" not in bad

    s, err = sasl_login(gw.bootstrap_port, "alice", USERS["alice"], mech="GSSAPI")
    port = s.getsockname()[1]
    assert err == kg.ERR_UNSUPPORTED_SASL_MECHANISM
    s.close()
    (um,) = log.wait(type="authentication", client_port=port, result="failure")
    assert um["mechanism"] == "GSSAPI" and "unsupported" in um["reason"]


def test_sasl_librdkafka_principal_in_summaries(sasl_gw, names):
    gw, log = sasl_gw
    topic = names.topic()
    conf = {"security.protocol": "sasl_plaintext", "sasl.mechanisms": MECH,
            "sasl.username": "alice", "sasl.password": USERS["alice"]}
    kg.create_topic(gw.bootstrap, topic, 1, 3, conf=conf)
    kg.produce(gw.bootstrap, topic, [(b"k", b"v")] * 10, conf=conf)
    recs = log.wait(type="traffic_summary", api="Produce", resource_name=topic)
    assert {r["principal"] for r in recs} == {"User:alice"}
    (a,) = log.wait(type="admin", api="CreateTopics", resource_name=topic)
    assert a["principal"] == "User:alice"


def test_tls_details_and_handshake_failures(gateway_factory, workdir, certs):
    tls = {"cert_file": str(certs / "server.pem"), "key_file": str(certs / "server.key"),
           "client_auth": "requested", "ca_file": str(certs / "ca.pem"),
           "principal_mapping_rules": ["RULE:^CN=([^,]+),OU=([^,]+),.*$/$1@$2/L", "DEFAULT"]}
    gw, log, _ = start_audit_gateway(gateway_factory, workdir / "tls", "gw-audit-tls",
                                     merge={"listen": {"advertised_host": "localhost", "tls": tls}})
    res = kg.tls_probe(kg.HOST, gw.bootstrap_port, ca=certs / "ca.pem", cert=certs / "alice.pem",
                       key=certs / "alice.key")
    assert res.ok, res
    fp = kg.run(["openssl", "x509", "-in", str(certs / "alice.pem"), "-noout", "-fingerprint",
                 "-sha256"]).stdout.decode().strip().split("=", 1)[1]
    subject = kg.run(["openssl", "x509", "-in", str(certs / "alice.pem"), "-noout", "-subject",
                      "-nameopt", "RFC2253"]).stdout.decode().strip().split("=", 1)[1]
    (o,) = log.wait(type="connection_open", tls__client_cert_sha256=fp)
    assert o["tls"]["version"] == res.version and o["tls"]["cipher"]
    assert "CN=alice" in o["tls"]["client_cert_subject"] and "OU=eng" in subject
    assert o["principal"] == "User:alice@eng"
    (auth,) = log.wait(type="authentication", conn=o["conn"])
    assert auth["mechanism"] == "TLS" and auth["result"] == "success"
    log.wait(type="connection_close", conn=o["conn"])

    # a plaintext client on the TLS port, an untrusted certificate: handshake failures
    with socket.create_connection((kg.HOST, gw.bootstrap_port), timeout=10) as s:
        port = s.getsockname()[1]
        s.sendall(kg.api_versions_request(1, 3))
        try:
            kg.wait_closed(s, 5.0)
        except AssertionError:
            pass
    (hf,) = log.wait(type="tls_handshake_failed", client_port=port)
    assert "TLS handshake failed" in hf["reason"] and hf["listener"] == "bootstrap"
    assert "duration_ms" in hf and "requests" not in hf
    n0 = len(log.find(type="tls_handshake_failed"))
    res = kg.tls_probe(kg.HOST, gw.bootstrap_port, ca=certs / "ca.pem", cert=certs / "wrongca.pem",
                       key=certs / "wrongca.key")
    assert not res.ok
    fails = log.wait(type="tls_handshake_failed", min_count=n0 + 1)[n0:]
    assert any("certificate" in f["reason"] for f in fails), fails
    stop_gateway(gateway_factory, gw)
    assert verify_chain_independently([log.path], HMAC_KEY) == len(log.records())


# ---------------------------------------------------------------------------------------------
# 4. reloads, reopen, rotation

def test_reload_records(sasl_gw, users_file):
    gw, log = sasl_gw
    before = len(log.find(type="reload", what="users"))
    gw.proc.send_signal(signal.SIGHUP)
    recs = log.wait(type="reload", what="users", min_count=before + 1)
    assert recs[-1]["result"] == "ok"
    good = users_file.read_text()
    try:
        users_file.write_text("{ not json")
        gw.proc.send_signal(signal.SIGHUP)
        recs = log.wait(type="reload", what="users", result="failed")
        assert recs[-1]["detail"]
    finally:
        users_file.write_text(good)
        os.chmod(users_file, 0o600)
    gw.assert_alive()


def test_policy_reload_record(sasl_gw):
    """kg_audit_reload("policy", ...) from the policy reload (main.c)."""
    gw, log = sasl_gw
    gw.proc.send_signal(signal.SIGHUP)
    log.wait(type="reload", what="policy", timeout=10)


def test_sighup_reopens_after_logrotate(gateway_factory, gateway_bin, workdir):
    gw, log, key = start_audit_gateway(gateway_factory, workdir / "rotate-hup", "gw-audit-hup")
    log.wait(type="gateway_start")
    kg.api_versions(kg.HOST, gw.bootstrap_port)
    log.wait(type="connection_close")
    rotated = log.path.with_name("audit.log.1")
    log.path.rename(rotated)                    # logrotate "create": rename...
    kg.api_versions(kg.HOST, gw.bootstrap_port)  # (records still go to the renamed file)
    time.sleep(0.5)
    gw.proc.send_signal(signal.SIGHUP)           # ...then postrotate: kill -HUP
    deadline = time.monotonic() + 10
    while not log.path.exists():
        assert time.monotonic() < deadline, "no new audit file after SIGHUP"
        time.sleep(0.1)
    kg.api_versions(kg.HOST, gw.bootstrap_port)
    log.wait(type="connection_close")
    last = AuditLog(rotated).records()[-1]
    assert last["type"] == "seal" and last["reason"] == "reopen"
    # the live file is locked by the gateway: verify accepts it without a seal
    rc, out = audit_verify(gateway_bin, rotated, log.path, key_file=key, check=0)
    assert "live" in out
    stop_gateway(gateway_factory, gw)
    rc, out = audit_verify(gateway_bin, rotated, log.path, key_file=key, check=0)
    n = verify_chain_independently([rotated, log.path], HMAC_KEY)
    assert f"ok: {n} records in 2 files" in out


def test_size_rotation(gateway_factory, gateway_bin, workdir):
    gw, log, key = start_audit_gateway(gateway_factory, workdir / "rotate-size", "gw-audit-size",
                                       audit={"rotate_bytes": 8192, "per_request": True})
    for _ in range(30):
        kg.api_versions(kg.HOST, gw.bootstrap_port)
    time.sleep(1.0)
    stop_gateway(gateway_factory, gw)
    files = sorted(log.path.parent.glob("audit.log.2*")) + [log.path]
    closes = sum(len(AuditLog(f).find(type="connection_close")) for f in files)
    assert closes >= 30, closes     # + the readiness probes of start_gateway
    assert len(files) >= 3, files
    for f in files[:-1]:
        assert AuditLog(f).records()[-1]["reason"] == "rotate"
    audit_verify(gateway_bin, *files, key_file=key, check=0)
    # a rotated file missing: deleted
    rc, out = audit_verify(gateway_bin, *(files[:1] + files[2:]), key_file=key, check=1)
    assert f"{files[2]}:1: deleted" in out, out


# ---------------------------------------------------------------------------------------------
# 5. modes and sinks

def test_per_request_mode(gateway_factory, workdir, names):
    gw, log, _ = start_audit_gateway(gateway_factory, workdir / "per-request", "gw-audit-per-request",
                                     audit={"per_request": True})
    topic = names.topic()
    kg.create_topic(gw.bootstrap, topic, 1, 3)
    kg.produce(gw.bootstrap, topic, [(b"k", b"v")] * 20, conf={"linger.ms": 0, "batch.num.messages": 1})
    reqs = log.wait(type="request", api="Produce",
                    resources=lambda rs: bool(rs) and rs[0].get("name") == topic)
    # one record per request (a retried request is recorded again: what was sent)
    produces = log.find(type="request", api="Produce")
    assert len(produces) >= 20 and all(r["records"] == 1 for r in produces), produces
    assert all(r["api_version"] >= 3 and r["frame_bytes"] > 0 for r in reqs)
    assert not log.find(type="traffic_summary")
    stop_gateway(gateway_factory, gw)


def test_stdout_sink(gateway_factory, workdir):
    gw, _, _ = start_audit_gateway(gateway_factory, workdir / "stdout", "gw-audit-stdout",
                                   audit={"sink": "stdout", "path": None})
    kg.api_versions(kg.HOST, gw.bootstrap_port)
    stop_gateway(gateway_factory, gw)
    # the gateway's stdout and stderr share the log file here
    lines = [l for l in gw.log_path.read_text().splitlines() if l.startswith('{"v":1,')]
    types = [json.loads(l)["type"] for l in lines]
    assert types[0] == "gateway_start" and types[-1] == "seal"
    assert "connection_open" in types and "gateway_stop" in types
    p = workdir / "stdout" / "extracted.log"
    p.write_text("\n".join(lines) + "\n")
    assert verify_chain_independently([p], HMAC_KEY) == len(lines)


# ---------------------------------------------------------------------------------------------
# 6. stop, verify, tampering

def test_stop_seal_and_tampering(gateway_factory, gateway_bin, workdir, audit_gw):
    gw, log, key = audit_gw
    rc, out = audit_verify(gateway_bin, log.path, key_file=key, check=0)   # live: locked
    assert "live" in out
    stop_gateway(gateway_factory, gw)
    recs = log.records()
    assert recs[-1]["type"] == "seal" and recs[-1]["reason"] == "stop"
    assert recs[-2]["type"] == "gateway_stop" and recs[-2]["reason"] == "SIGTERM"
    assert recs[-2]["dropped"] == 0
    n = verify_chain_independently([log.path], HMAC_KEY)
    rc, out = audit_verify(gateway_bin, log.path, key_file=key, check=0)
    assert f"ok: {n} records in 1 file" in out and "HMACs verified" in out

    lines = log.path.read_text().splitlines(keepends=True)
    assert len(lines) > 12
    t = workdir / "tampered.log"

    def case(new_lines, kind, line_no):
        t.write_text("".join(new_lines))
        rc, out = audit_verify(gateway_bin, t, key_file=key, check=1)
        assert f"{t}:{line_no}: {kind}:" in out, out

    edited = list(lines)
    edited[4] = edited[4].replace('"conn":', '"conn":9', 1) if '"conn":' in edited[4] else \
        edited[4].replace('"time":"2', '"time":"1', 1)
    case(edited, "edited", 5)
    case(lines[:6] + lines[7:], "deleted", 7)
    case(lines[:7] + [lines[2]] + lines[7:], "inserted", 8)
    case(lines[:3] + [lines[4], lines[3]] + lines[5:], "reordered", 4)
    case(lines[:-1], "truncated", len(lines) - 1)
    case(lines[:-1] + [lines[-1][:30]], "truncated", len(lines))
    # rewritten with a recomputed SHA-256 chain but without the key: the HMAC tells
    rechained, prev = [], None
    for i, l in enumerate(lines):
        rec = json.loads(l)
        body = l[:l.index(',"prev":"')]
        if i == 3:
            body = body.replace('"type":"', '"type":"x', 1)
        p = prev or rec["prev"]
        text = body + f',"prev":"{p}"'
        h = hashlib.sha256(bytes.fromhex(p) + text.encode()).hexdigest()
        rechained.append(text + f',"hash":"{h}","hmac":"{"0" * 64}"}}\n')
        prev = h
    t.write_text("".join(rechained))
    audit_verify(gateway_bin, t, check=0)                   # the SHA-256 chain alone holds
    rc, out = audit_verify(gateway_bin, t, key_file=key, check=1)
    assert f"{t}:1: edited:" in out, out



def test_cut_tail_while_stopped_is_detected(gateway_factory, gateway_bin, workdir):
    """Records cut off the end of the log, seal included, while the gateway is stopped, then a
    restart: the chain alone still verifies (every record links), but the anchors kept outside
    the log (audit.anchor_file) name records that are gone. The next start says so in its
    gateway_start record, and `audit verify --anchors` fails."""
    d = workdir / "anchored"
    anchors = d / "anchors" / "audit.anchors"
    anchors.parent.mkdir(parents=True, exist_ok=True)
    audit = {"path": str(d / "audit.log"), "anchor_file": str(anchors), "anchor_interval_ms": 200}
    gw, log, key = start_audit_gateway(gateway_factory, d, "gw-audit-anchor", audit)
    for i in range(6):
        s = socket.create_connection((kg.HOST, gw.bootstrap_port), timeout=10)
        s.sendall(kg.api_versions_request(i + 1, 0))
        kg.recv_frame(s)
        s.close()
        time.sleep(0.1)
    stop_gateway(gateway_factory, gw)
    lines = log.path.read_text().splitlines(keepends=True)
    n = len(lines)
    assert json.loads(lines[-1])["type"] == "seal"
    rc, out = audit_verify(gateway_bin, log.path, key_file=key, anchors=anchors, check=0)
    assert "anchors:" in out and " 0 of " not in out, out
    # the attacker: cut the last 4 records, seal included, at a line boundary
    log.path.write_text("".join(lines[:-4]))
    gw, log, key = start_audit_gateway(gateway_factory, d, "gw-audit-anchor", audit)
    stop_gateway(gateway_factory, gw)
    starts = log.find(type="gateway_start")
    assert starts[-1]["previous_run"] == "unclean"
    assert starts[-1]["audit_tail"]["result"] in ("missing", "replaced"), starts[-1]
    assert "cut off" in starts[-1]["audit_tail"]["detail"] or \
        "replaced" in starts[-1]["audit_tail"]["detail"], starts[-1]
    assert "audit: " in gw.log_path.read_text() and "missing" in gw.log_path.read_text()
    # without anchors the chain is intact, and verify points at the unclean restart
    rc, out = audit_verify(gateway_bin, log.path, key_file=key, check=0)
    assert "unclean restart" in out, out
    # with them: tampered, at the record that replaced an anchored one or at the end
    rc, out = audit_verify(gateway_bin, log.path, key_file=key, anchors=anchors, check=1)
    assert re.search(r": (edited|truncated): ", out), out
    assert "anchor" in out, out
    assert len(log.lines()) >= n - 4

# ---------------------------------------------------------------------------------------------
# 7. authorization (needs the gateway's ACL enforcement)

def test_authorization_decisions_and_grouped_denials(gateway_factory, workdir, names):
    ok_prefix = "kg-audit-ok-"
    policy = {"version": 1, "roles": [{"name": "apps", "members": ["User:ANONYMOUS"], "rules": [
        {"effect": "allow", "resource": "topic", "prefix": ok_prefix, "operations": ["ALL"]},
        {"effect": "allow", "resource": "group", "name": "*", "operations": ["ALL"]},
        {"effect": "allow", "resource": "cluster", "name": "kafka-cluster",
         "operations": ["DESCRIBE", "IDEMPOTENT_WRITE"]}]}]}
    d = workdir / "acl"
    d.mkdir(parents=True, exist_ok=True)
    (d / "policy.json").write_text(json.dumps(policy))
    gw, log, _ = start_audit_gateway(gateway_factory, d, "gw-audit-acl",
                                     merge={"acl": {"policy_file": str(d / "policy.json")}})
    ok_topic = ok_prefix + names.topic()
    denied = "kg-audit-denied-" + names.topic()
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": gw.bootstrap})
    fs = admin.create_topics([NewTopic(ok_topic, 1, 3), NewTopic(denied, 1, 3)])
    fs[ok_topic].result(30)
    with pytest.raises(Exception):
        fs[denied].result(30)
    allow = log.wait(type="authorization", decision="allow", resource_name=ok_topic)
    assert allow[0]["api"] == "CreateTopics" and allow[0]["operation"] in ("CREATE", "ALL")
    assert allow[0]["rule"]["role"] == "apps" and allow[0]["rule"]["reason"] == "allow_rule"
    deny = log.wait(type="authorization", decision="deny", resource_name=denied)
    assert deny[0]["api"] == "CreateTopics" and deny[0]["count"] == 1
    (adm,) = log.wait(type="admin", api="CreateTopics", resource_name=denied)
    assert adm["error"] == "TOPIC_AUTHORIZATION_FAILED" and adm["result"] == "failed"
    log.wait(type="admin", api="CreateTopics", resource_name=ok_topic, result="ok")

    # the same denial five times on one connection: one record, then one with count 4
    with socket.create_connection((kg.HOST, gw.bootstrap_port), timeout=10) as s:
        port = s.getsockname()[1]
        for i in range(5):
            s.sendall(metadata_for(denied, 100 + i))
            kg.recv_frame(s)
    log.wait(type="connection_close", client_port=port)
    recs = log.find(type="authorization", client_port=port, resource_name=denied)
    assert [r["decision"] for r in recs] == ["deny", "deny"], recs
    assert [r["count"] for r in recs] == [1, 4]
    assert recs[0]["operation"] == "DESCRIBE" and recs[0]["api"] == "Metadata"
    assert "repeated_since" in recs[1]
    stop_gateway(gateway_factory, gw)
