"""Offline checks of the deployments under deploy/.

    python3 -m pytest tests/deploy -q -rsx

Nothing here talks to a cluster, a registry or a container engine:

- every Kubernetes manifest against the bundled OpenAPI schemas of
  kubernetes-validate (strict: unknown fields are errors);
- the gateway.json of each ConfigMap (and deploy/systemd/gateway.json) with
  the real binary, `kafka-gateway check -c`, in a temporary root holding a
  throwaway certificate, a users file, the policy and a token;
- cross references: Service ports / targetPorts / nodePorts against the
  container ports and the gateway's bound and advertised ports, probes and
  Prometheus annotations against admin.port, selectors against labels,
  the grace period against shutdown.*, file paths against volume mounts;
- the systemd unit with `systemd-analyze verify` and `security --offline`;
- the Containerfile against `ldd` of the binary (mapped with `dpkg -S`);
- the logrotate file with logrotate itself when it is installed, and on
  its text always.

KG_BINARY=PATH tests another build of the gateway. KG_DEPLOY_STRICT=1 turns
every skip and expected failure (a missing tool, a binary that does not yet
know the admin/shutdown/log_format keys) into a failure.
"""

import copy
import ipaddress
import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

try:
    import kubernetes_validate
    import kubernetes_validate.utils as kv_utils
except ImportError:  # a failure, not a skip: the package is a pinned requirement
    kubernetes_validate = None

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
CONTAINERFILE = DEPLOY / "container" / "Containerfile"
LOGROTATE = DEPLOY / "logrotate" / "kafka-gateway"
BINARY = Path(os.environ.get("KG_BINARY", ROOT / "build" / "kafka-gateway")).resolve()
STRICT = os.environ.get("KG_DEPLOY_STRICT") == "1"

# Oldest Kubernetes the manifests are meant for; the newest bundled one too.
K8S_MIN_VERSION = "1.30.0"
# Keys of gateway.json that are being implemented (admin listener, graceful
# shutdown, JSON logs); a binary built before them rejects them as unknown.
NEW_KEYS = ("log_format", "admin", "shutdown")
# Service variants: folder -> the Service type it must hold.
VARIANTS = {"nodeport": "NodePort", "loadbalancer-sni": "LoadBalancer"}
# Keys of gateway.json whose values are files (or, for audit.path, a file
# in a directory the gateway writes).
FILE_KEYS = {"cert_file", "key_file", "key_password_file", "ca_file", "crl_file",
             "users_file", "policy_file", "token_file", "hmac_key_file", "path",
             "anchor_file"}
NODEPORT_RANGE = range(30000, 32768)
UNIT_PATH = "/usr/local/bin/kafka-gateway"


def not_available(why):
    """A missing tool: a visible skip, or a failure with KG_DEPLOY_STRICT=1."""
    if STRICT:
        pytest.fail(why + " (KG_DEPLOY_STRICT=1)")
    pytest.skip(why)


def need_binary():
    if not BINARY.is_file() or not os.access(BINARY, os.X_OK):
        pytest.fail(f"{BINARY} is missing: run `make` first (or set KG_BINARY)")


# ---------------------------------------------------------------- manifests

def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def manifest_files():
    return sorted(K8S.rglob("*.yaml"))


def one(docs, kind):
    found = [d for d in docs if d.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def deployment():
    return one(load_docs(K8S / "base" / "deployment.yaml"), "Deployment")


def example_secrets():
    return {d["metadata"]["name"]: d for d in load_docs(K8S / "secrets.example.yaml")
            if d["kind"] == "Secret"}


def variant(name):
    """The Deployment, ConfigMap (with its gateway.json parsed), Service."""
    docs = []
    for f in sorted((K8S / name).glob("*.yaml")):
        docs += load_docs(f)
    cm = one(docs, "ConfigMap")
    return {
        "name": name,
        "deployment": deployment(),
        "configmap": cm,
        "config": json.loads(cm["data"]["gateway.json"]),
        "service": one(docs, "Service"),
    }


def main_container(dep):
    cs = dep["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1, "one container: the gateway"
    return cs[0]


def container_ports(c):
    return {p["name"]: p["containerPort"] for p in c.get("ports", [])}


def resolve_port(c, port):
    """A probe's or Service's port (number or container port name) as a number."""
    if isinstance(port, int):
        return port
    ports = container_ports(c)
    if port not in ports:
        raise KeyError(f"no container port named {port!r}")
    return ports[port]


# ------------------------------------------------- the gateway's addressing

def broker_addr(cfg, node):
    """(bound port, advertised port) of node `node`, as
    kg_config_broker_addr computes it (README "How clients reach the
    brokers"): listen.brokers entry, else base + node id."""
    listen = cfg["listen"]
    explicit = listen.get("brokers", {})
    for key, b in explicit.items():
        if int(key) == node:
            return b["port"], b.get("advertised_port", b["port"])
    bind = listen["broker_port_base"] + node
    adv = listen.get("broker_advertised_port_base", listen["broker_port_base"]) + node
    return bind, adv


def bootstrap_addr(cfg):
    listen = cfg["listen"]
    return listen["bootstrap_port"], listen.get("bootstrap_advertised_port",
                                                  listen["bootstrap_port"])


def sni_addr(cfg):
    sni = cfg["listen"].get("sni")
    if not sni:
        return None
    return sni["port"], sni.get("advertised_port", sni["port"])


def node_of_bound_port(cfg, port):
    """The node id whose bound port is `port`, or None."""
    listen = cfg["listen"]
    for key, b in listen.get("brokers", {}).items():
        if b["port"] == port:
            return int(key)
    node = port - listen["broker_port_base"]
    if node < 0 or any(b["port"] == port for b in listen.get("brokers", {}).values()):
        return None
    return node


def bound_ports(cfg, nodes):
    ports = {bootstrap_addr(cfg)[0]}
    ports |= {broker_addr(cfg, n)[0] for n in nodes}
    if sni_addr(cfg):
        ports.add(sni_addr(cfg)[0])
    if "admin" in cfg:
        ports.add(cfg["admin"]["port"])
    return ports


def service_errors(svc, dep, cfg):
    """Every disagreement between a Service, the gateway container and the
    gateway configuration; [] when they agree."""
    errs = []
    c = main_container(dep)
    cports = set(container_ports(c).values())
    stype = svc["spec"].get("type", "ClusterIP")
    boot_bind, boot_adv = bootstrap_addr(cfg)
    sni = sni_addr(cfg)
    admin_port = cfg.get("admin", {}).get("port")
    nodes = {int(n[len("broker-"):]) for n in container_ports(c) if n.startswith("broker-")}
    seen_external = set()
    for p in svc["spec"]["ports"]:
        name = p.get("name", "?")
        if p.get("protocol", "TCP") != "TCP":
            errs.append(f"{name}: protocol must be TCP")
        try:
            target = resolve_port(c, p.get("targetPort", p["port"]))
        except KeyError as e:
            errs.append(f"{name}: targetPort: {e}")
            continue
        if target not in cports:
            errs.append(f"{name}: targetPort {target} is not a container port")
        if target == admin_port:
            errs.append(f"{name}: the admin port {target} must not be exposed to clients")
            continue
        if target == boot_bind:
            role, expected = "bootstrap", boot_adv
        elif sni and target == sni[0]:
            role, expected = "sni", sni[1]
        else:
            node = node_of_bound_port(cfg, target)
            if node is None or node not in nodes:
                errs.append(f"{name}: targetPort {target} is no port the gateway binds "
                            f"for the brokers the Deployment has ports for {sorted(nodes)}")
                continue
            role, expected = f"broker-{node}", broker_addr(cfg, node)[1]
        if name != role and not (role == "sni" and name.endswith("sni")):
            errs.append(f"{name}: targetPort {target} is the gateway's {role} port: "
                        f"name the Service port {role!r}")
        if stype == "NodePort":
            external = p.get("nodePort")
            if external is None:
                errs.append(f"{name}: a NodePort Service must fix its nodePorts "
                            "(they are advertised to clients)")
                continue
            if external not in NODEPORT_RANGE:
                errs.append(f"{name}: nodePort {external} outside 30000-32767")
            if p["port"] != target:
                errs.append(f"{name}: port {p['port']} should equal targetPort {target}")
        elif stype == "LoadBalancer":
            external = p["port"]
        else:
            errs.append(f"unexpected Service type {stype}")
            continue
        if external != expected:
            errs.append(f"{name}: clients reach {role} on {external}, the gateway "
                        f"advertises {expected}")
        if external in seen_external:
            errs.append(f"{name}: external port {external} used twice")
        seen_external.add(external)
    return errs


def exposed_roles(svc, dep, cfg):
    c = main_container(dep)
    roles = set()
    for p in svc["spec"]["ports"]:
        target = resolve_port(c, p.get("targetPort", p["port"]))
        if target == bootstrap_addr(cfg)[0]:
            roles.add("bootstrap")
        elif sni_addr(cfg) and target == sni_addr(cfg)[0]:
            roles.add("sni")
        else:
            roles.add(f"broker-{node_of_bound_port(cfg, target)}")
    return roles


def container_broker_nodes(dep, cfg):
    nodes = set()
    for name, port in container_ports(main_container(dep)).items():
        if name.startswith("broker-"):
            node = int(name[len("broker-"):])
            assert broker_addr(cfg, node)[0] == port, \
                f"container port {name} is {port}, the gateway binds node {node} " \
                f"on {broker_addr(cfg, node)[0]}"
            nodes.add(node)
    return nodes


def config_errors(cfg):
    """Rules every shipped gateway.json must follow."""
    errs = []
    admin = cfg.get("admin")
    if admin is None:
        errs.append("no admin listener: probes and metrics need it")
    else:
        host = admin.get("bind_host", "127.0.0.1")
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        if not loopback and not admin.get("token_file"):
            errs.append(f"admin.bind_host {host} is not loopback: admin.token_file is required")
    sd = cfg.get("shutdown", {})
    for k in ("unready_delay_ms", "drain_timeout_ms"):
        if not isinstance(sd.get(k), int) or sd[k] < 0:
            errs.append(f"shutdown.{k} must be set")
    if cfg.get("log_format", "text") not in ("text", "json"):
        errs.append("log_format must be text or json")
    return errs


def stop_budget_s(cfg):
    sd = cfg["shutdown"]
    return (sd["unready_delay_ms"] + sd["drain_timeout_ms"]) / 1000.0


# ------------------------------------------------------ kafka-gateway check

def file_values(cfg, path="$"):
    """(json path, key, value) of every string that names a file."""
    out = []
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            p = f"{path}.{k}"
            if isinstance(v, str) and v.startswith("/"):
                out.append((p, k, v))
            else:
                out += file_values(v, p)
    elif isinstance(cfg, list):
        for i, v in enumerate(cfg):
            out += file_values(v, f"{path}[{i}]")
    return out


def cert_names(cfg):
    listen = cfg["listen"]
    names = {listen.get("advertised_host", "localhost")}
    sni = listen.get("sni")
    if sni:
        names.add(sni["bootstrap_host"])
        names.add("*." + sni["broker_host_pattern"].split(".", 1)[1])
    return sorted(names)


def write_secret(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)


def materialize(cfg, root, policy_text):
    """Writes cfg into root with every file path moved under root and every
    file it names created there; returns the config file."""
    cfg = copy.deepcopy(cfg)
    values = file_values(cfg)
    unknown = [p for p, k, _ in values if k not in FILE_KEYS]
    assert not unknown, f"strings that look like paths under unknown keys: {unknown} " \
                        "(teach tests/deploy/test_deploy.py what they are)"
    moved = {}

    def move(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, str) and v.startswith("/") and k in FILE_KEYS:
                    node[k] = moved.setdefault(v, str(root / v.lstrip("/")))
                else:
                    move(v)
        elif isinstance(node, list):
            for v in node:
                move(v)
    move(cfg)
    tls = cfg["listen"].get("tls")
    if tls:
        key, crt = Path(tls["key_file"]), Path(tls["cert_file"])
        key.parent.mkdir(parents=True, exist_ok=True)
        crt.parent.mkdir(parents=True, exist_ok=True)
        san = ",".join(f"DNS:{n}" for n in cert_names(cfg))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=" + cert_names(cfg)[0].lstrip("*."), "-addext",
                        "subjectAltName=" + san, "-keyout", str(key), "-out", str(crt)],
                       check=True, capture_output=True)
        key.chmod(0o600)
        for k in ("ca_file", "crl_file", "key_password_file"):
            assert k not in tls, f"listen.tls.{k}: not generated by this test yet"
    auth = cfg["listen"].get("auth", {})
    if auth.get("users_file"):
        users = Path(auth["users_file"])
        users.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([str(BINARY), "user", "add", "--users", str(users),
                            "--password-stdin", "alice"], input="alice-secret-1\n",
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    policy = Path(cfg["acl"]["policy_file"])
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(policy_text)
    if cfg.get("admin", {}).get("token_file"):
        write_secret(Path(cfg["admin"]["token_file"]), secrets.token_hex(32).encode())
    audit = cfg.get("audit") or {}
    if audit.get("hmac_key_file"):
        write_secret(Path(audit["hmac_key_file"]), secrets.token_hex(32).encode())
    for k in ("path", "anchor_file"):
        if audit.get(k):
            d = Path(audit[k]).parent
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o700)
    out = root / "gateway.json"
    out.write_text(json.dumps(cfg, indent=2))
    return out


def gateway_check(cfg_file):
    return subprocess.run([str(BINARY), "check", "-c", str(cfg_file)],
                          capture_output=True, text=True, timeout=60)


def assert_config_valid(cfg, tmp_path, policy_text):
    need_binary()
    r = gateway_check(materialize(cfg, tmp_path / "full", policy_text))
    if r.returncode == 0:
        return
    unknown = [k for k in NEW_KEYS if f"$.{k}: unknown key" in r.stderr]
    if unknown and not STRICT:
        # This binary predates those keys: everything else must be valid, and
        # the test passes by itself once the binary knows them.
        rest = {k: v for k, v in cfg.items() if k not in NEW_KEYS}
        r2 = gateway_check(materialize(rest, tmp_path / "rest", policy_text))
        assert r2.returncode == 0, r2.stderr + r2.stdout
        pytest.xfail(f"{BINARY.name} does not know $.{unknown[0]} yet (new keys "
                     f"{', '.join(NEW_KEYS)}); without them the configuration is valid")
    pytest.fail(f"kafka-gateway check rejected the configuration:\n{r.stderr}{r.stdout}")


# ============================================================ Kubernetes

@pytest.fixture(scope="module")
def kv():
    if kubernetes_validate is None:
        pytest.fail("kubernetes-validate is not installed: "
                    "python3 -m pip install -r tests/requirements.txt")
    return kubernetes_validate


def k8s_versions():
    versions = [K8S_MIN_VERSION]
    if kubernetes_validate is not None and kv_utils.latest_version() != K8S_MIN_VERSION:
        versions.append(kv_utils.latest_version())
    return versions


def test_manifests_exist():
    names = {str(p.relative_to(K8S)) for p in manifest_files()}
    for want in ("base/deployment.yaml", "base/poddisruptionbudget.yaml",
                 "nodeport/configmap.yaml", "nodeport/service.yaml",
                 "loadbalancer-sni/configmap.yaml", "loadbalancer-sni/service.yaml",
                 "secrets.example.yaml"):
        assert want in names


@pytest.mark.parametrize("version", k8s_versions())
@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_schema(kv, path, version):
    docs = load_docs(path)
    assert docs, f"{path}: no documents"
    for d in docs:
        assert "namespace" not in d["metadata"], \
            f"{path}: {d['kind']} sets a namespace; they are applied with -n"
        try:
            kv.validate(d, version, strict=True)
        except kv_utils.ValidationError as e:
            pytest.fail(f"{path}: {d['kind']}/{d['metadata']['name']} "
                        f"(Kubernetes {e.version}): {e.message} at "
                        f"{'/'.join(map(str, e.absolute_path))}")


def test_schema_validation_rejects_unknown_fields(kv):
    """The validator really is strict: a typo in a manifest fails."""
    d = copy.deepcopy(deployment())
    main_container(d)["readinesProbe"] = main_container(d).pop("readinessProbe")
    with pytest.raises(kv_utils.ValidationError):
        kv.validate(d, K8S_MIN_VERSION, strict=True)
    svc = copy.deepcopy(variant("nodeport")["service"])
    svc["spec"]["ports"][0]["nodeport"] = svc["spec"]["ports"][0].pop("nodePort")
    with pytest.raises(kv_utils.ValidationError):
        kv.validate(svc, K8S_MIN_VERSION, strict=True)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_configmap_config_is_valid(name, tmp_path):
    v = variant(name)
    assert set(v["configmap"]["data"]) == {"gateway.json", "policy.json"}
    json.loads(v["configmap"]["data"]["policy.json"])
    assert config_errors(v["config"]) == []
    assert_config_valid(v["config"], tmp_path, v["configmap"]["data"]["policy.json"])


def test_check_rejects_a_bad_configuration(tmp_path):
    """`check` is really run on what we give it: a bad port fails."""
    need_binary()
    cfg = variant("nodeport")["config"]
    cfg = {k: v for k, v in cfg.items() if k not in NEW_KEYS}
    cfg["listen"]["bootstrap_port"] = 70000
    policy = variant("nodeport")["configmap"]["data"]["policy.json"]
    r = gateway_check(materialize(cfg, tmp_path, policy))
    assert r.returncode == 1 and "bootstrap_port" in r.stderr, r.stderr


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_service_ports_match_config(name):
    v = variant(name)
    svc, dep, cfg = v["service"], v["deployment"], v["config"]
    assert svc["spec"]["type"] == VARIANTS[name]
    assert service_errors(svc, dep, cfg) == []
    roles = exposed_roles(svc, dep, cfg)
    if VARIANTS[name] == "NodePort":
        # Every broker the pod has a port for is reachable, and the bootstrap.
        brokers = {f"broker-{n}" for n in container_broker_nodes(dep, cfg)}
        assert brokers, "no broker ports"
        assert roles == {"bootstrap"} | brokers
    else:
        assert roles == {"sni"}, "the LoadBalancer variant is the single SNI port"
    # Client addresses must reach the gateway (policy hosts, per-address limits).
    assert svc["spec"].get("externalTrafficPolicy") == "Local"


def test_service_check_catches_mismatches():
    """The cross-check is not a tautology: each kind of drift is reported."""
    v = variant("nodeport")
    svc, dep, cfg = v["service"], v["deployment"], v["config"]
    bad = copy.deepcopy(svc)
    bad["spec"]["ports"][1]["nodePort"] += 1         # advertised port drift
    assert any("advertises" in e for e in service_errors(bad, dep, cfg))
    bad = copy.deepcopy(svc)
    bad["spec"]["ports"][1]["targetPort"] = 9999      # not bound, not a container port
    errs = service_errors(bad, dep, cfg)
    assert any("not a container port" in e for e in errs)
    assert any("no port the gateway binds" in e for e in errs)
    cfg2 = copy.deepcopy(cfg)
    cfg2["listen"]["broker_advertised_port_base"] = 31000
    assert service_errors(svc, dep, cfg2)
    bad = copy.deepcopy(svc)
    bad["spec"]["ports"][1]["name"], bad["spec"]["ports"][2]["name"] = "broker-1", "broker-0"
    assert any("name the Service port" in e for e in service_errors(bad, dep, cfg))
    lb = variant("loadbalancer-sni")
    bad = copy.deepcopy(lb["service"])
    bad["spec"]["ports"][0]["port"] = 8443
    assert any("advertises 443" in e for e in service_errors(bad, lb["deployment"], lb["config"]))
    bad["spec"]["ports"][0]["port"], bad["spec"]["ports"][0]["targetPort"] = 9644, 9644
    assert any("admin port" in e for e in service_errors(bad, lb["deployment"], lb["config"]))
    assert config_errors({**cfg, "admin": {"bind_host": "0.0.0.0", "port": 9644}})


def test_container_ports_are_bound_by_the_config():
    dep = deployment()
    c = main_container(dep)
    bound = set()
    for name in VARIANTS:
        cfg = variant(name)["config"]
        bound |= bound_ports(cfg, container_broker_nodes(dep, cfg))
    ports = container_ports(c)
    assert len(set(ports.values())) == len(ports), "a container port is listed twice"
    for name in VARIANTS:
        cfg = variant(name)["config"]
        nodes = container_broker_nodes(dep, cfg)
        listed = [bootstrap_addr(cfg)[0], cfg["admin"]["port"]] + \
            [broker_addr(cfg, n)[0] for n in nodes] + ([sni_addr(cfg)[0]] if sni_addr(cfg) else [])
        assert len(listed) == len(set(listed)), f"{name}: two listeners on one port: {listed}"
    assert set(ports.values()) == bound, \
        "container ports must be exactly the ports the configurations bind"
    for name in VARIANTS:
        cfg = variant(name)["config"]
        assert ports["admin"] == cfg["admin"]["port"]
        assert ports["bootstrap"] == bootstrap_addr(cfg)[0]
        for p in bound_ports(cfg, container_broker_nodes(dep, cfg)):
            assert p >= 1024, f"port {p}: the pod drops every capability"


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_probes_and_metrics_use_the_admin_port(name):
    v = variant(name)
    dep, cfg = v["deployment"], v["config"]
    c = main_container(dep)
    admin = cfg["admin"]["port"]
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = c[probe]["httpGet"]
        assert get["path"] == path
        assert resolve_port(c, get["port"]) == admin, f"{probe} is not on admin.port"
        assert get.get("scheme", "HTTP") == "HTTP"
    ann = dep["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert ann["prometheus.io/port"] == str(admin)
    assert ann["prometheus.io/path"] == "/metrics"


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_grace_period_covers_the_drain(name):
    v = variant(name)
    grace = v["deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > stop_budget_s(v["config"])
    assert "lifecycle" not in main_container(v["deployment"]), \
        "no preStop hook: the gateway delays by itself (shutdown.unready_delay_ms)"


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_selectors_match_the_pods():
    dep = deployment()
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert labels_match(dep["spec"]["selector"]["matchLabels"], labels)
    pdb = one(load_docs(K8S / "base" / "poddisruptionbudget.yaml"), "PodDisruptionBudget")
    assert labels_match(pdb["spec"]["selector"]["matchLabels"], labels)
    replicas = dep["spec"]["replicas"]
    assert replicas == 3
    if "maxUnavailable" in pdb["spec"]:
        assert 1 <= pdb["spec"]["maxUnavailable"] < replicas
    else:
        assert 1 <= pdb["spec"]["minAvailable"] < replicas
    for name in VARIANTS:
        assert labels_match(variant(name)["service"]["spec"]["selector"], labels)
    assert not labels_match({"app.kubernetes.io/name": "other"}, labels)


def test_pod_security():
    dep = deployment()
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod.get("automountServiceAccountToken") is False
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
        assert "add" not in sc["capabilities"], c["name"]
        assert not sc.get("privileged", False), c["name"]
        res = c["resources"]
        assert res["requests"]["memory"] and res["limits"]["memory"], c["name"]
    c = main_container(dep)
    assert "command" not in c, "the image's ENTRYPOINT runs the gateway"
    for name in VARIANTS:
        cfg = variant(name)["config"]
        assert cfg["workers"] >= 1, "workers 0 would start one per CPU of the node"
        assert str(cfg["workers"]) == str(c["resources"]["limits"]["cpu"]), \
            f"{name}: workers {cfg['workers']} != the CPU limit"


def mount_for(c, path):
    best = None
    for m in c.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/") + "/"
        if path.startswith(mp) and (best is None or len(mp) > len(best["mountPath"])):
            best = m
    return best


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_config_files_are_mounted(name):
    """Every file gateway.json names exists in the pod: a ConfigMap key, a
    Secret key, or a copy an init container writes from a mounted Secret."""
    v = variant(name)
    dep, cm, cfg = v["deployment"], v["configmap"], v["config"]
    pod = dep["spec"]["template"]["spec"]
    c = main_container(dep)
    volumes = {vol["name"]: vol for vol in pod["volumes"]}
    secrets_ = example_secrets()
    args = c["args"]
    assert args[:2] == ["run", "-c"] and len(args) == 3
    wanted = [("$.(-c)", args[2])] + [(p, val) for p, _, val in file_values(cfg)]
    audit = cfg.get("audit") or {}
    assert audit.get("sink") == "stdout", \
        "Kubernetes: audit records go to stdout (a pod has no log directory that lasts)"

    def key_of(vol, fname, what):
        src = vol.get("configMap") or vol.get("secret")
        items = {i["path"]: i["key"] for i in src.get("items", [])}
        key = items.get(fname, fname if not items else None)
        if "configMap" in vol:
            assert vol["configMap"]["name"] == cm["metadata"]["name"], what
            assert key in cm["data"], f"{what}: ConfigMap has no key {key}"
        else:
            sec = secrets_.get(vol["secret"]["secretName"])
            assert sec, f"{what}: no example of Secret {vol['secret']['secretName']}"
            assert key in sec.get("stringData", sec.get("data", {})), \
                f"{what}: Secret {sec['metadata']['name']} has no key {key}"
        return key

    for jpath, path in wanted:
        m = mount_for(c, path)
        assert m, f"{jpath} = {path}: no volume mounted there"
        vol = volumes[m["name"]]
        rel = path[len(m["mountPath"].rstrip("/")) + 1:]
        if "configMap" in vol or "secret" in vol:
            key = key_of(vol, rel, f"{jpath} = {path}")
            if path == args[2]:
                assert key == "gateway.json"
            if jpath == "$.acl.policy_file":
                assert key == "policy.json"
        elif "emptyDir" in vol:
            # Written by an init container from a file it has mounted.
            script = None
            for ic in pod.get("initContainers", []):
                im = mount_for(ic, path)
                text = " ".join(ic.get("command", []) + ic.get("args", []))
                if im and im["name"] == m["name"] and path in text:
                    script = (ic, text)
            assert script, f"{jpath} = {path}: on an emptyDir no init container writes"
            ic, text = script
            found = re.search(r"install -m 0600 (\S+) " + re.escape(path) + r"\b", text)
            assert found, f"{path}: not copied with mode 0600 by {ic['name']}"
            src = found.group(1)
            sm = mount_for(ic, src)
            assert sm and "secret" in volumes[sm["name"]], f"{src}: not from a Secret"
            key_of(volumes[sm["name"]], src[len(sm["mountPath"].rstrip("/")) + 1:],
                   f"{jpath} (copied from {src})")
        else:
            pytest.fail(f"{jpath} = {path}: volume {m['name']} is neither a ConfigMap, "
                        "a Secret nor an emptyDir")


def test_example_secrets_hold_no_keys():
    for name, sec in example_secrets().items():
        for key, val in sec.get("stringData", {}).items():
            assert "REPLACE-ME" in val, f"{name}/{key}: not a marked placeholder"
            assert "-----BEGIN" not in val, f"{name}/{key}: a real key or certificate"
        assert "data" not in sec, f"{name}: base64 data could hide a real secret"
    for name in VARIANTS:
        assert variant(name)["deployment"]  # and no manifest dir holds a Secret:
        for f in (K8S / name).glob("*.yaml"):
            assert all(d["kind"] != "Secret" for d in load_docs(f)), f
    assert all(d["kind"] != "Secret" for d in load_docs(K8S / "base" / "deployment.yaml"))


# =============================================================== systemd

def parse_unit(path):
    """[(section, key, value)] of a unit file (no line continuations used)."""
    out, section = [], None
    for line in Path(path).read_text().splitlines():
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("["):
            section = s.strip("[]")
            continue
        k, _, v = s.partition("=")
        out.append((section, k.strip(), v.strip()))
    return out


def unit_values(entries, key, section="Service"):
    return [v for s, k, v in entries if s == section and k == key]


def unit_value(entries, key, section="Service"):
    vals = unit_values(entries, key, section)
    assert len(vals) == 1, f"{key}= appears {len(vals)} times"
    return vals[0]


def seconds(text):
    m = re.fullmatch(r"(\d+)\s*(s|sec|min|m)?", text)
    assert m, f"cannot read time span {text!r}"
    return int(m.group(1)) * (60 if m.group(2) in ("min", "m") else 1)


UNIT = SYSTEMD / "kafka-gateway.service"


def systemd_config():
    return json.loads((SYSTEMD / "gateway.json").read_text())


def test_unit_settings():
    u = parse_unit(UNIT)
    cfg = systemd_config()
    assert unit_value(u, "Type") in ("simple", "exec")
    assert unit_value(u, "ExecStart") == f"{UNIT_PATH} run -c /etc/kafka-gateway/gateway.json"
    assert unit_value(u, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert unit_value(u, "KillSignal") == "SIGTERM"
    assert seconds(unit_value(u, "TimeoutStopSec")) > stop_budget_s(cfg)
    assert unit_value(u, "Restart") == "on-failure"
    assert unit_values(u, "DynamicUser") == ["yes"] or unit_value(u, "User") not in ("", "root")
    assert unit_value(u, "CapabilityBoundingSet") == ""
    assert unit_value(u, "AmbientCapabilities") == ""
    assert int(unit_value(u, "LimitNOFILE")) >= 65536
    assert unit_value(u, "RestrictAddressFamilies").split() == ["AF_INET", "AF_INET6", "AF_UNIX"]
    assert "@system-service" in unit_values(u, "SystemCallFilter")
    for key, want in (("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                      ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                      ("MemoryDenyWriteExecute", "yes"), ("LockPersonality", "yes"),
                      ("ProtectKernelTunables", "yes"), ("ProtectKernelModules", "yes"),
                      ("ProtectKernelLogs", "yes"), ("ProtectControlGroups", "yes")):
        assert unit_value(u, key) == want, key
    assert config_errors(cfg) == []


def test_unit_paths_match_the_config():
    """What the gateway writes lies in the unit's writable directories
    (ProtectSystem=strict), and it binds no port it has no capability for."""
    u = parse_unit(UNIT)
    cfg = systemd_config()
    logs = "/var/log/" + unit_value(u, "LogsDirectory")
    state = "/var/lib/" + unit_value(u, "StateDirectory")
    audit = cfg["audit"]
    assert os.path.dirname(audit["path"]) == logs
    assert audit["anchor_file"].startswith(state + "/")
    assert not audit["anchor_file"].startswith(logs + "/"), "anchors beside the log"
    for _, key, path in file_values(cfg):
        assert path.startswith(("/etc/kafka-gateway/", state + "/", logs + "/")), path
    # logrotate refuses a directory writable by a non-root group or by others
    mode = int(unit_value(u, "LogsDirectoryMode"), 8)
    assert not mode & 0o022
    nodes = range(0, 3)
    for p in bound_ports(cfg, nodes):
        assert p >= 1024, f"port {p} < 1024 needs CAP_NET_BIND_SERVICE"
    exec_start = unit_value(u, "ExecStart").split()
    assert exec_start[exec_start.index("-c") + 1] == "/etc/kafka-gateway/gateway.json"
    user = unit_value(u, "User")
    sysusers = (SYSTEMD / "kafka-gateway.sysusers").read_text()
    assert re.search(rf"^u\s+{re.escape(user)}\s", sysusers, re.M)


def test_systemd_config_is_valid(tmp_path):
    assert_config_valid(systemd_config(), tmp_path, (SYSTEMD / "policy.json").read_text())


def systemd_analyze():
    exe = shutil.which("systemd-analyze")
    if not exe:
        not_available("systemd-analyze is not installed (Debian package systemd)")
    return exe


def local_unit(tmp_path):
    """The unit with its binary at the built one, its config in tmp_path."""
    need_binary()
    cfg = tmp_path / "gateway.json"
    cfg.write_text((SYSTEMD / "gateway.json").read_text())
    text = UNIT.read_text()
    assert UNIT_PATH in text
    text = text.replace(UNIT_PATH, str(BINARY)).replace("/etc/kafka-gateway/gateway.json",
                                                        str(cfg))
    d = tmp_path / "unit"
    d.mkdir()
    unit = d / "kafka-gateway.service"
    unit.write_text(text)
    return unit


def verify_warnings(exe, unit):
    r = subprocess.run([exe, "verify", str(unit)], capture_output=True, text=True,
                       timeout=120)
    lines = [l for l in (r.stdout + r.stderr).splitlines()
             if unit.name in l or str(unit.parent) in l]
    return r.returncode, lines, r.stdout + r.stderr


def test_unit_verify(tmp_path):
    exe = systemd_analyze()
    unit = local_unit(tmp_path)
    rc, lines, out = verify_warnings(exe, unit)
    assert rc == 0 and lines == [], out


def test_unit_verify_catches_mistakes(tmp_path):
    exe = systemd_analyze()
    unit = local_unit(tmp_path)
    unit.write_text(unit.read_text().replace("ProtectHome=yes", "ProtectHome=yes\nProtectHom=yes"))
    rc, lines, out = verify_warnings(exe, unit)
    assert any("ProtectHom" in l for l in lines), out
    unit.write_text(unit.read_text().replace(str(BINARY), str(tmp_path / "missing")))
    rc, lines, out = verify_warnings(exe, unit)
    assert rc != 0 or lines, out


def test_unit_security_exposure(tmp_path):
    exe = systemd_analyze()
    h = subprocess.run([exe, "security", "--help"], capture_output=True, text=True)
    if "--offline" not in h.stdout + h.stderr:
        not_available("systemd-analyze security has no --offline (systemd < 250)")
    unit = local_unit(tmp_path)
    r = subprocess.run([exe, "security", "--offline=yes", "--threshold=30", "--no-pager",
                        str(unit)], capture_output=True, text=True, timeout=120)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) < 3.0 and m.group(2) == "OK", m.group(0)
    assert r.returncode == 0, r.stdout + r.stderr


def test_sysusers_file(tmp_path):
    exe = shutil.which("systemd-sysusers")
    if not exe:
        not_available("systemd-sysusers is not installed (Debian package systemd)")
    (tmp_path / "etc").mkdir()
    r = subprocess.run([exe, "--dry-run", f"--root={tmp_path}",
                        str(SYSTEMD / "kafka-gateway.sysusers")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Creating user 'kafka-gateway'" in r.stdout + r.stderr, r.stdout + r.stderr


# ============================================================= container

def containerfile_stages(path=CONTAINERFILE):
    """[(name, [(INSTRUCTION, arguments)])], line continuations joined."""
    lines, cur = [], ""
    for raw in Path(path).read_text().splitlines():
        s = raw.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        lines.append(cur + s)
        cur = ""
    stages = []
    for line in lines:
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.I)
            stages.append({"image": m.group(1), "name": m.group(2), "ins": []})
        else:
            assert stages, "instruction before FROM"
            stages[-1]["ins"].append((instr, args.strip()))
    return stages


def apt_packages(stage):
    pkgs = []
    for instr, args in stage["ins"]:
        if instr != "RUN":
            continue
        for part in re.split(r"&&|;", args):
            words = part.split()
            if "apt-get" in words and "install" in words:
                words = words[words.index("install") + 1:]
                pkgs += [w for w in words if not w.startswith("-")]
    return pkgs


def dpkg_owner(path):
    """Debian package that ships path (merged /usr aware), without the arch."""
    cands = [os.path.normpath(path), os.path.realpath(path)]
    for p in list(cands):
        if p.startswith("/usr/"):
            cands.append(p[4:])
        else:
            cands.append("/usr" + p)
    for p in cands:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].split(",")[0].strip()
    raise AssertionError(f"no Debian package ships {path}")


def ldd_libraries(binary):
    r = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True)
    libs = []
    for line in r.stdout.splitlines():
        m = re.search(r"=>\s+(/\S+)", line)
        if m:
            libs.append(m.group(1))
        elif line.strip().startswith("/"):
            libs.append(line.split()[0])   # the dynamic loader
    return libs


# In debian:12-slim already, and needed by every binary: the C library.
BASE_IMAGE_PACKAGES = {"libc6"}
BUILD_TOOLS = re.compile(r"^(gcc|g\+\+|cpp|clang|make|build-essential|binutils|"
                         r"pkg-config|python3|git|libtool|autoconf|automake|cmake)\b"
                         r"|-dev$|-dbg$")


def need_dpkg():
    if not shutil.which("dpkg") or not shutil.which("ldd"):
        not_available("dpkg and ldd are needed to map libraries to Debian packages")


def test_containerfile_stages():
    stages = containerfile_stages()
    assert len(stages) == 2
    build, run = stages
    assert build["image"] == "debian:12" and build["name"]
    assert run["image"] == "debian:12-slim"
    runs = " ".join(a for i, a in build["ins"] if i == "RUN")
    assert "make build/kafka-gateway" in runs
    copies = [a.split() for i, a in run["ins"] if i == "COPY"]
    assert [f"--from={build['name']}", "/src/build/kafka-gateway", UNIT_PATH] in copies
    user = [a for i, a in run["ins"] if i == "USER"]
    assert len(user) == 1 and re.fullmatch(r"\d+(:\d+)?", user[0]), \
        "the runtime stage runs as a numeric USER"
    uid, _, gid = user[0].partition(":")
    assert int(uid) != 0 and (not gid or int(gid) != 0)
    pod = deployment()["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsUser"] == int(uid) and (not gid or pod["runAsGroup"] == int(gid))
    entry = [a for i, a in run["ins"] if i == "ENTRYPOINT"]
    assert len(entry) == 1 and json.loads(entry[0]) == [UNIT_PATH]
    cmd = [a for i, a in run["ins"] if i == "CMD"]
    assert len(cmd) == 1 and json.loads(cmd[0]) == main_container(deployment())["args"], \
        "the image's default command is the one the Deployment runs"
    exposed = {int(p.split("/")[0]) for i, a in run["ins"] if i == "EXPOSE" for p in a.split()}
    assert set(container_ports(main_container(deployment())).values()) <= exposed


def test_runtime_stage_has_no_build_tools():
    run = containerfile_stages()[-1]
    pkgs = apt_packages(run)
    assert pkgs, "the runtime stage installs its libraries"
    assert [p for p in pkgs if BUILD_TOOLS.search(p)] == []
    assert "--no-install-recommends" in " ".join(a for i, a in run["ins"] if i == "RUN")
    for instr, args in run["ins"]:
        if instr == "RUN":
            assert not re.search(r"\b(make|gcc|cc|pip)\b", args), args
    assert BUILD_TOOLS.search("libssl-dev") and BUILD_TOOLS.search("gcc-12")
    assert not BUILD_TOOLS.search("libssl3")


def needed_libraries(binary):
    """DT_NEEDED of the binary: the libraries it links directly."""
    if not shutil.which("readelf"):
        not_available("readelf is not installed (Debian package binutils)")
    r = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True,
                       check=True)
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)


def dependency_closure(pkgs):
    """pkgs and everything they depend on, per this host's dpkg database."""
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        r = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", p],
                           capture_output=True, text=True)
        if r.returncode != 0:
            continue    # not installed here: its dependencies are not known
        for alt in r.stdout.split(","):
            for dep in alt.split("|"):
                name = dep.strip().split(" ")[0].split(":")[0]
                if name:
                    todo.append(name)
    return seen


def need_debian12():
    try:
        osr = Path("/etc/os-release").read_text()
    except OSError:
        osr = ""
    if not re.search(r'^ID=debian$', osr, re.M) or \
            not re.search(r'^VERSION_ID="?12"?$', osr, re.M):
        not_available("library-to-package mapping needs a Debian 12 host, as the image")


def test_runtime_stage_installs_every_shared_library():
    """Each library the binary links is from a package the runtime stage
    names; each library ldd lists (their dependencies too) is from one of
    those packages or one apt installs with them."""
    need_binary()
    need_dpkg()
    need_debian12()
    pkgs = set(apt_packages(containerfile_stages()[-1]))
    closure = dependency_closure(pkgs | BASE_IMAGE_PACKAGES)
    libs = ldd_libraries(BINARY)
    direct = needed_libraries(BINARY)
    assert direct and all(any(os.path.basename(l) == d for l in libs) for d in direct), \
        f"ldd does not resolve every NEEDED library: {direct}"
    missing_direct, missing = {}, {}
    for lib in libs:
        owner = dpkg_owner(lib)
        if os.path.basename(lib) in direct and owner not in pkgs | BASE_IMAGE_PACKAGES:
            missing_direct[owner] = lib
        if owner not in closure:
            missing[owner] = lib
    # cyrus-sasl loads its mechanism plugins (dlopen, so not in ldd) from
    # "sasl2" next to libsasl2 (auth/sasl.c): libscram and libplain.
    sasl = [l for l in libs if os.path.basename(l).startswith("libsasl2.so")]
    assert sasl, "the gateway links libsasl2"
    plugdir = Path(os.path.realpath(sasl[0])).parent / "sasl2"
    for plugin in ("libscram.so.2", "libplain.so.2"):
        owner = dpkg_owner(str(plugdir / plugin))
        if owner not in pkgs:
            missing_direct[owner] = plugin
    assert missing_direct == {}, f"the runtime stage does not install {missing_direct}"
    assert missing == {}, f"no runtime package brings {missing}"


def test_build_stage_installs_every_link_library():
    need_dpkg()
    makefile = (ROOT / "Makefile").read_text()
    libs = []
    for line in re.findall(r"^LDLIBS\s*[+:?]?=(.*)$", makefile, re.M):
        libs += re.findall(r"-l(\S+)", line)
    assert "ssl" in libs and "sasl2" in libs
    pkgs = set(apt_packages(containerfile_stages()[0]))
    assert {"gcc", "make"} <= pkgs
    for lib in libs:
        so = subprocess.run(["gcc", "-print-file-name=lib" + lib + ".so"],
                            capture_output=True, text=True, check=True).stdout.strip()
        assert os.path.isabs(so), f"-l{lib}: lib{lib}.so not found (its -dev package)"
        assert dpkg_owner(so) in pkgs, f"-l{lib}: build stage lacks {dpkg_owner(so)}"


def source_dirs():
    m = re.search(r"^SRC_DIRS\s*=((?:.*\\\n)*.*)$", (ROOT / "Makefile").read_text(), re.M)
    return m.group(1).replace("\\\n", " ").split()


def test_build_stage_copies_the_sources(tmp_path):
    """The build stage copies every source folder (and not build/), and
    what it copies is complete: every .c preprocesses with only it."""
    build = containerfile_stages()[0]
    copied = []
    for instr, args in build["ins"]:
        if instr == "COPY":
            words = [w for w in args.split() if not w.startswith("--")]
            copied += [w.rstrip("/") for w in words[:-1]]
    assert "." not in copied, "COPY . would bring build/ from the host"
    tops = {d.split("/")[0] for d in source_dirs()}
    assert tops and tops <= set(copied), f"not copied: {tops - set(copied)}"
    assert "Makefile" in copied
    # The codec is generated and committed: `make build/kafka-gateway` needs no Python.
    r = subprocess.run(["git", "ls-files", "--error-unmatch", "proxy/kafka/codec_gen.c",
                        "proxy/kafka/fields_gen.h"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for c in copied:
        src = ROOT / c
        if src.is_dir():
            shutil.copytree(src, tmp_path / c, ignore=shutil.ignore_patterns("*.o", "*.d"))
        else:
            shutil.copy2(src, tmp_path / c)
    sources = [str(p.relative_to(tmp_path)) for d in source_dirs()
               for p in sorted((tmp_path / d).glob("*.c"))]
    assert sources
    r = subprocess.run(["gcc", "-std=c11", "-MM", "-Iproxy", "-I.", *sources],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]


# ============================================================= logrotate

def logrotate_directives(text):
    return [l.split("#", 1)[0].strip() for l in text.splitlines()
            if l.split("#", 1)[0].strip()]


def postrotate_script(text):
    m = re.search(r"^\s*postrotate\s*$(.*?)^\s*endscript\s*$", text, re.M | re.S)
    return m.group(1).strip() if m else None


HUP = re.compile(r"systemctl\s+(kill\s+(.*\s)?(-s\s*|--signal=)(SIG)?HUP\s+(.*\s)?"
                 r"kafka-gateway(\.service)?|reload\s+kafka-gateway(\.service)?)"
                 r"|kill\s+-(s\s+)?(SIG)?HUP\b")


def logrotate_errors(text):
    errs = []
    words = [d.split()[0] for d in logrotate_directives(text)]
    if "copytruncate" in words or "copy" in words:
        errs.append("copytruncate/copy tears records and breaks the chain")
    if "create" not in words:
        errs.append("no create: the gateway reopens a new file after SIGHUP")
    script = postrotate_script(text)
    if not script or not HUP.search(script):
        errs.append("no postrotate SIGHUP to kafka-gateway")
    return errs


def test_logrotate_content():
    text = LOGROTATE.read_text()
    assert logrotate_errors(text) == []
    cfg = systemd_config()
    u = parse_unit(UNIT)
    assert re.search(rf"^{re.escape(cfg['audit']['path'])}\s*\{{", text, re.M), \
        "rotates the audit.path of deploy/systemd/gateway.json"
    create = [d.split() for d in logrotate_directives(text) if d.split()[0] == "create"]
    assert create == [["create", "0600", unit_value(u, "User"), unit_value(u, "Group")]]
    assert "sharedscripts" in logrotate_directives(text)
    assert "delaycompress" in logrotate_directives(text)
    # and the check can fail:
    assert logrotate_errors(text.replace("create 0600", "copytruncate\n    create 0600"))
    assert logrotate_errors(re.sub(r"postrotate.*?endscript", "", text, flags=re.S))
    assert logrotate_errors(text.replace("SIGHUP", "SIGTERM"))


def test_logrotate_runs(tmp_path):
    """logrotate itself: -d parses the file as shipped (paths and owner
    moved to tmp), then a forced rotation renames, creates and runs the
    postrotate script (replaced by a marker)."""
    exe = shutil.which("logrotate") or (os.access("/usr/sbin/logrotate", os.X_OK)
                                         and "/usr/sbin/logrotate")
    if not exe:
        not_available("logrotate is not installed (Debian package logrotate): "
                      "only its text was checked (test_logrotate_content)")
    import grp
    import pwd
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    text = LOGROTATE.read_text()
    log = tmp_path / "log" / "audit.log"
    log.parent.mkdir(mode=0o700)
    log.write_text('{"v":1,"seq":1}\n')
    text = text.replace(systemd_config()["audit"]["path"], str(log))
    text = re.sub(r"create 0600 \S+ \S+", f"create 0600 {user} {group}", text)
    conf = tmp_path / "kafka-gateway"
    conf.write_text(text)
    conf.chmod(0o644)
    state = tmp_path / "state"
    # -d: nothing is done; -f: what a due rotation would do, printed.
    r = subprocess.run([exe, "-d", "-f", "-s", str(state), str(conf)], capture_output=True,
                       text=True, timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "error" not in out.lower(), out
    assert f"renaming {log} to {log}." in out, out
    assert f"creating new {log} mode = 0600" in out, out
    assert "running postrotate script" in out and "HUP" in out, out
    assert "copying" not in out and "truncating" not in out, out
    marker = tmp_path / "hup-sent"
    conf.write_text(re.sub(r"postrotate.*?endscript", f"postrotate\n        touch {marker}\n"
                           "    endscript", text, flags=re.S))
    r = subprocess.run([exe, "-f", "-s", str(state), str(conf)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert marker.exists(), "postrotate did not run"
    assert log.exists() and log.stat().st_size == 0 and (log.stat().st_mode & 0o777) == 0o600
    rotated = [p for p in log.parent.iterdir() if p.name.startswith("audit.log.")]
    assert len(rotated) == 1 and rotated[0].read_text() == '{"v":1,"seq":1}\n', rotated
    assert re.fullmatch(r"audit\.log\.\d{8}-\d+", rotated[0].name), rotated[0].name
