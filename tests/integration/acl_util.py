"""Shared helpers of the ACL tests (test_acl_equivalence.py, test_acl_tenants.py).

One description of permissions, `roles`: a list of {"name", "members": ["User:x", ...],
"rules": [rule, ...]} where a rule is the gateway policy's rule
    {"effect": "allow"|"deny", "resource": "topic"|"group"|"transactional_id"|"cluster",
     "name": "literal or *" | "prefix": "p.", "operations": ["READ", ...],
     "hosts": ["127.0.0.1/32"] (optional)}
is turned into the gateway's policy file (policy_doc) and into the equivalent Kafka ACLs
(kafka_bindings: one ACL per member x operation x host), so the same permissions can be enforced
by the gateway and by a broker's StandardAuthorizer and compared.

Also: a SASL gateway with a users file and a policy file (start_acl_gateway), the two "sides"
that the same operations run against (Side: gateway or the bed's SASL listener), a raw Kafka
client with SCRAM login that speaks any API through kafka-python's protocol classes (Raw), and
normalisers of client results."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import kg

# the bed's SASL users (tests/kafka/kafka-bed.sh); the gateway's users file gets the same
PASSWORDS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret",
             "carol": "carol-secret", "tenant-a-app": "ta-secret", "tenant-b-app": "tb-secret"}
TEST_PRINCIPALS = [f"User:{u}" for u in PASSWORDS if u != "admin"] + ["User:*"]
MECH = "SCRAM-SHA-512"

AUTHZ_EXCEPTIONS = ("TopicAuthorizationException", "GroupAuthorizationException",
                    "TransactionalIdAuthorizationException", "ClusterAuthorizationException")

ERR = {  # Kafka error codes used by the tests
    "NONE": 0, "UNKNOWN_TOPIC_OR_PARTITION": 3, "NOT_COORDINATOR": 16,
    "TOPIC_AUTHORIZATION_FAILED": 29, "GROUP_AUTHORIZATION_FAILED": 30,
    "CLUSTER_AUTHORIZATION_FAILED": 31, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": 53,
    "UNKNOWN_TOPIC_ID": 100,
}


# ---------------------------------------------------------------------------------------------
# one description -> gateway policy + Kafka ACLs

def rule(effect, resource, operations, *, name=None, prefix=None, hosts=None) -> dict:
    r = {"effect": effect, "resource": resource, "operations": list(operations)}
    if resource == "cluster":
        r["name"] = "kafka-cluster"
    elif prefix is not None:
        r["prefix"] = prefix
    else:
        assert name is not None, "a topic/group/transactional_id rule needs name or prefix"
        r["name"] = name
    if hosts:
        r["hosts"] = list(hosts)
    return r


def allow(resource, operations, **kw):
    return rule("allow", resource, operations, **kw)


def deny(resource, operations, **kw):
    return rule("deny", resource, operations, **kw)


def role(name, members, rules) -> dict:
    return {"name": name, "members": list(members), "rules": list(rules)}


def policy_doc(roles, super_users=("User:admin",)) -> dict:
    return {"super_users": list(super_users), "roles": roles}


def write_policy(path: Path, roles, super_users=("User:admin",), tenants=None) -> Path:
    """Write atomically (rename), so a polling gateway never reads half a file."""
    doc = policy_doc(roles, super_users)
    if tenants is not None:
        doc["tenants"] = tenants
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    os.replace(tmp, path)
    return path


def _kafka_host(cidr: str) -> str:
    """A policy host (CIDR) as a Kafka ACL host: only single addresses have an equivalent."""
    addr, _, bits = cidr.partition("/")
    assert bits in ("", "32", "128"), f"host {cidr} has no Kafka ACL equivalent (only single addresses)"
    return addr


def kafka_bindings(roles) -> list:
    """The Kafka ACLs (confluent_kafka AclBinding) equivalent to these roles."""
    from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType,
                                       ResourcePatternType, ResourceType)
    rtype = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP,
             "transactional_id": ResourceType.TRANSACTIONAL_ID, "cluster": ResourceType.BROKER}
    out = []
    for ro in roles:
        for r in ro["rules"]:
            assert "regex" not in r, "regex rules have no Kafka ACL equivalent"
            if r["resource"] == "cluster":
                name, pat = "kafka-cluster", ResourcePatternType.LITERAL
            elif "prefix" in r:
                name, pat = r["prefix"], ResourcePatternType.PREFIXED
            else:
                name, pat = r["name"], ResourcePatternType.LITERAL
            perm = AclPermissionType.ALLOW if r["effect"] == "allow" else AclPermissionType.DENY
            hosts = [_kafka_host(h) for h in r.get("hosts") or []] or ["*"]
            for m in ro["members"]:
                for op in r["operations"]:
                    for h in hosts:
                        out.append(AclBinding(rtype[r["resource"]], name, pat, m, h,
                                              getattr(AclOperation, op), perm))
    return out


# ---------------------------------------------------------------------------------------------
# the gateway: SASL (SCRAM) with a users file, ACL policy file

def make_users_file(binary: Path, path: Path, users=PASSWORDS) -> Path:
    if not path.exists():
        for name, pw in users.items():
            kg.users_cmd(binary, path, "add", name, password=pw)
        os.chmod(path, 0o600)
    return path


def start_acl_gateway(factory, name: str, workdir: Path, policy_file: Path, **merge_extra) -> kg.Gateway:
    users = make_users_file(factory.binary, workdir / "acl-users.json")
    merge = {"listen": {"auth": {"mode": "sasl", "mechanisms": ["SCRAM-SHA-512", "SCRAM-SHA-256"],
                                 "users_file": str(users), "max_failures": 0}},
             "acl": {"policy_file": str(policy_file)}}
    kg.deep_merge(merge, merge_extra)
    gw = factory.start(name, merge=merge)
    wait_sasl_ready(gw.bootstrap_host, gw.bootstrap_port, gw)
    return gw


def wait_sasl_ready(host, port, gw=None, timeout=20.0):
    """Until the gateway can answer ApiVersions and log in (it needs upstream metadata first)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = kg.scram_login_error(host, port, "admin", PASSWORDS["admin"])
        if last is None:
            return
        time.sleep(0.3)
    raise AssertionError(f"SASL login on {host}:{port} not possible after {timeout}s: {last}"
                         + (f"\n{gw.log_tail(30)}" if gw else ""))


def log_size(gw: kg.Gateway) -> int:
    return gw.log_path.stat().st_size


def log_since(gw: kg.Gateway, offset: int) -> str:
    with open(gw.log_path, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def wait_log(gw: kg.Gateway, offset: int, pattern: str, timeout=10.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while True:
        text = log_since(gw, offset)
        m = re.search(pattern, text, re.M)
        if m:
            return m
        if time.monotonic() > deadline:
            raise AssertionError(f"gateway log has no line matching {pattern!r} after {timeout}s; "
                                 f"new log lines:\n{text[-3000:]}")
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# sides: the same operations against the gateway and against the brokers' SASL listener

@dataclass
class Side:
    name: str                 # "gateway" or "broker"
    bootstrap: str
    kafka: kg.Kafka
    tmp: Path
    gw: kg.Gateway | None = None

    @property
    def hostport(self):
        h, p = self.bootstrap.split(",")[0].rsplit(":", 1)
        return h, int(p)

    def conf(self, user: str, **extra) -> dict:
        c = {"bootstrap.servers": self.bootstrap, "security.protocol": "sasl_plaintext",
             "sasl.mechanisms": MECH, "sasl.username": user, "sasl.password": PASSWORDS[user]}
        c.update(extra)
        return c

    def java_props(self, user: str) -> Path:
        p = self.tmp / f"{self.name}-{user}.properties"
        if not p.exists():
            p.write_text("security.protocol=SASL_PLAINTEXT\n"
                         f"sasl.mechanism={MECH}\n"
                         "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                         f'required username="{user}" password="{PASSWORDS[user]}";\n')
        return p

    def raw(self, user: str, **kw) -> "Raw":
        h, p = self.hostport
        return Raw(h, p, user, PASSWORDS[user], **kw)

    def raw_coordinator(self, user: str, key: str, key_type=0, timeout=30.0) -> "Raw":
        """A connection to the coordinator of a group (key_type 0) or transactional id (1),
        found as `user` on this side (the gateway answers with its own address of that
        broker)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.raw(user) as r:
                c = r.request("FindCoordinator", key_type=key_type, coordinator_keys=[key]).coordinators[0]
            if c.error_code == 0:
                return Raw(c.host, c.port, user, PASSWORDS[user])
            # a fresh bed is still creating __consumer_offsets: COORDINATOR_NOT_AVAILABLE
            assert c.error_code == 15 and time.monotonic() < deadline, \
                f"FindCoordinator {key} as {user}: error {c.error_code}"
            time.sleep(0.5)

    def admin(self, user: str):
        from confluent_kafka.admin import AdminClient
        return AdminClient(self.conf(user))


def broker_side(kafka: kg.Kafka, tmp: Path) -> Side:
    return Side("broker", kafka.sasl_info()["bootstrap"], kafka, tmp)


def gateway_side(kafka: kg.Kafka, gw: kg.Gateway, tmp: Path) -> Side:
    return Side("gateway", gw.bootstrap, kafka, tmp, gw)


# ---------------------------------------------------------------------------------------------
# raw protocol with SCRAM login (kafka-python's message classes encode and decode)

EXTRA_PROTO = {}   # api name -> (request class, response class), see kip848_proto


def kip848_proto(jar: Path, workdir: Path):
    """kafka-python has no KIP-848 messages: its message classes are built from Kafka's own JSON
    definitions, read at test time from a kafka-clients jar (never copied into the repository),
    and registered for Raw.request ("ConsumerGroupHeartbeat", "ConsumerGroupDescribe")."""
    import importlib
    import sys
    import zipfile
    from kafka.protocol.api_message import ApiMessage
    pkg = workdir / "kg_kip848_schemas"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    names = ["ConsumerGroupHeartbeat", "ConsumerGroupDescribe"]
    if all(n in EXTRA_PROTO for n in names):
        return
    with zipfile.ZipFile(jar) as z:
        for n in names:
            for kind in ("Request", "Response"):
                (pkg / f"{n}{kind}.json").write_bytes(z.read(f"common/message/{n}{kind}.json"))
    if str(workdir) not in sys.path:
        sys.path.insert(0, str(workdir))
    mod = importlib.import_module("kg_kip848_schemas")
    for n in names:
        if n in EXTRA_PROTO:
            continue
        req = type(ApiMessage)(n + "Request", (ApiMessage,), {"__slots__": ()}, load_json=mod)
        resp = type(ApiMessage)(n + "Response", (ApiMessage,), {"__slots__": ()}, load_json=mod)
        EXTRA_PROTO[n] = (req, resp)


def _proto_classes(api: str):
    if api in EXTRA_PROTO:
        return EXTRA_PROTO[api]
    import kafka.protocol.admin as a
    import kafka.protocol.consumer as c
    import kafka.protocol.metadata as m
    import kafka.protocol.producer as p
    for mod in (m, c, p, a):
        if hasattr(mod, api + "Request"):
            return getattr(mod, api + "Request"), getattr(mod, api + "Response")
    raise KeyError(api)


def build(cls, d: dict, version=None):
    """A kafka-python message/struct from plain dicts and lists (nested structs included)."""
    vals = {}
    for k, v in d.items():
        f = cls.fields[k]
        if f.is_struct_array() and isinstance(v, list):
            v = [build(f.data_class, x) if isinstance(x, dict) else x for x in v]
        elif f.is_struct() and isinstance(v, dict):
            v = build(f.data_class, v)
        vals[k] = v
    return cls(version=version, **vals) if version is not None else cls(**vals)


class Raw(kg.RawConn):
    """One authenticated connection (SCRAM-SHA-512) speaking raw Kafka requests."""

    def __init__(self, host, port, user, password, timeout=10.0, mechanism=MECH):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.corr = random.randrange(1000, 100000)
        self.s.sendall(kg.api_versions_request(self._next(), 3))
        _c, err, self.apis = kg.parse_api_versions_response(kg.recv_frame(self.s), 3)
        assert err == 0, f"ApiVersions error {err}"
        self.s.sendall(kg.sasl_handshake_request(self._next(), mechanism))
        _c, err, mechs = kg.parse_sasl_handshake_response(kg.recv_frame(self.s))
        assert err == 0, f"SaslHandshake {mechanism}: error {err} {mechs}"
        sc = kg.ScramClient(mechanism, user, password)
        self.s.sendall(kg.sasl_authenticate_request(self._next(), sc.first()))
        r = kg.parse_sasl_authenticate_response(kg.recv_frame(self.s))
        assert r.error == 0, f"SCRAM first: {r.error} {r.message}"
        self.s.sendall(kg.sasl_authenticate_request(self._next(), sc.final(r.auth_bytes)))
        r = kg.parse_sasl_authenticate_response(kg.recv_frame(self.s))
        assert r.error == 0 and sc.verify(r.auth_bytes), f"SCRAM login of {user}: {r.error} {r.message}"

    def version(self, api: str, want: int | None = None) -> int:
        req, _ = _proto_classes(api)
        lo, hi = self.apis[req.API_KEY]
        v = min(hi, req.max_version)
        if want is not None:
            assert lo <= want <= hi, f"{api} v{want} not in the server's range {lo}..{hi}"
            v = want
        return v

    def send(self, api: str, version: int | None = None, **fields) -> int:
        req_cls, _ = _proto_classes(api)
        v = self.version(api, version)
        req = build(req_cls, fields, v)
        c = self._next()
        req.with_header(correlation_id=c, client_id="kg-acl-test")
        self.s.sendall(req.encode(version=v, header=True, framed=True))
        return c

    def request(self, api: str, version: int | None = None, **fields):
        """Send one request and return the decoded response (kafka-python DataContainer)."""
        v = self.version(api, version)
        c = self.send(api, v, **fields)
        _, resp_cls = _proto_classes(api)
        data = kg.recv_frame(self.s)
        resp = resp_cls.decode(data, version=v, header=True)
        assert resp.header.correlation_id == c, f"{api}: correlation id {resp.header.correlation_id}, sent {c}"
        return resp


def commit_offsets(group: str, offsets, timeout=60.0):
    """Commit offsets (TopicPartitions) in a group as ANONYMOUS on PLAINTEXT (a super user),
    retrying while the coordinator is not ready (a fresh bed creates __consumer_offsets first)."""
    from confluent_kafka import Consumer
    deadline = time.monotonic() + timeout
    while True:
        c = Consumer({"bootstrap.servers": kg.DIRECT_BOOTSTRAP, "group.id": group, "enable.auto.commit": False})
        try:
            c.commit(offsets=offsets, asynchronous=False)
            return
        except Exception:  # noqa: BLE001 - NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, ...
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
        finally:
            c.close()


def to_dict(obj):
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


# ---------------------------------------------------------------------------------------------
# result normalisation

def err_name(e) -> str:
    """confluent_kafka KafkaError / KafkaException / None -> 'NONE' or the error's name."""
    if e is None:
        return "NONE"
    if hasattr(e, "args") and e.args and hasattr(e.args[0], "name"):
        e = e.args[0]
    if hasattr(e, "name") and callable(e.name):
        return e.name()
    return type(e).__name__ + ":" + str(e)[:80]


def future_result(f, timeout=30):
    """'NONE' or the error name of a confluent_kafka admin future."""
    try:
        f.result(timeout)
        return "NONE"
    except Exception as e:  # noqa: BLE001
        return err_name(e)


def java_outcome(cp) -> tuple:
    """(exit status != 0, sorted authorization exception names in the output)."""
    out = (cp.stdout + cp.stderr).decode(errors="replace")
    return (cp.returncode != 0, tuple(sorted({x for x in AUTHZ_EXCEPTIONS if x in out})))


def assert_same(what: str, gw_result, broker_result):
    assert gw_result == broker_result, (
        f"{what}: the gateway and the broker's StandardAuthorizer differ\n"
        f"  gateway: {json.dumps(gw_result, indent=1, sort_keys=True, default=str)}\n"
        f"  broker:  {json.dumps(broker_result, indent=1, sort_keys=True, default=str)}")
