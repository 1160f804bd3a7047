"""The compatibility matrix (issue 11): client families x authentication, through the gateway,
against the brokers of this session's test bed (make test runs it on every bed generation:
Kafka 3.6.2 with ZooKeeper, 3.6.2 KRaft, 4.3.1).

Clients (tests/compat/): Kafka's Java clients of 3.6.2 and 4.3.1 (KgCell.java compiled against
each release's kafka-clients), Spring for Apache Kafka 4.1.2 on kafka-clients 4.2.2 (KgSpring.java:
KafkaAdmin, KafkaTemplate, a listener container, executeInTransaction), librdkafka new (confluent-kafka's wheel) and old (the machine's
kcat: Debian 12's 2.0.2), kafka-python, franz-go (Go) and KafkaJS (Node.js), all pinned.
Authentication: SASL_SSL with SCRAM-SHA-512, SCRAM-SHA-256, PLAIN, and mTLS.

Every cell runs the same scenario: metadata shows only gateway addresses; create a topic;
idempotent keyed produce with acks=all; byte-exact consume in a group with committed offsets;
transactions read_committed (a committed and an aborted one); describe the group; delete;
a wrong password gets an authentication error promptly. Steps a client cannot do (kcat has no
admin API) are reported as n/a, never as passed. One line per cell is printed at the end of
the session, with a summary; a failure names its cell.

make test runs the CI_CELLS below on every bed; make compat runs every cell (KG_COMPAT=full).
The gateway in front of the matrix has listen.auth.scram_nonce "suffix" so that the old
librdkafka logs in with SCRAM as against the 3.x brokers of its era (README "Compatibility").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import kg

COMPAT = kg.REPO / "tests" / "compat"
OUT = kg.REPO / "build" / "compat"
CLIENTS = ["java-3.6.2", "java-4.3.1", "spring-kafka", "confluent-kafka", "kcat", "kafka-python",
           "franz-go", "kafkajs"]
AUTHS = ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN", "mTLS"]
CI_CELLS = ({(c, "SCRAM-SHA-512") for c in CLIENTS} | {(c, "mTLS") for c in CLIENTS}
            | {(c, a) for c in ("java-4.3.1", "confluent-kafka") for a in AUTHS})
FULL = os.environ.get("KG_COMPAT") == "full"
USER, PASSWORD = "matrix", "matrix-Secret-9"
RESULTS: list = []      # (cell, verdict, detail), printed by conftest's terminal summary


def cells():
    return [pytest.param(c, a, id=f"{c}-{a}") for c in CLIENTS for a in AUTHS
            if FULL or (c, a) in CI_CELLS]


# ---------------------------------------------------------------------------------------------
# what the cells need, built once

@pytest.fixture(scope="module")
def certs(gateway_bin):
    if gateway_bin is None:
        pytest.skip("KG_DIRECT=1: the matrix runs through the gateway")
    return kg.ensure_certs()


@pytest.fixture(scope="module")
def drivers():
    """Builds the drivers that need it: KgCell for each Java release, the Go binary."""
    OUT.mkdir(parents=True, exist_ok=True)
    built = {}
    for v in ("3.6.2", "4.3.1"):
        d = OUT / f"java-{v}"
        d.mkdir(exist_ok=True)
        libs = Path(os.environ.get("KG_CACHE", Path.home() / ".cache" / "kafka-gateway")) / f"kafka-{v}" / "libs"
        if not libs.is_dir():
            kg.run([str(kg.BED), "fetch", v], timeout=600)
        kg.run(["javac", "-nowarn", "-cp", f"{libs}/*", "-d", str(d),
                str(COMPAT / "java" / "KgCell.java"), str(COMPAT / "java" / "KgSteps.java")],
               timeout=180)
        built[f"java-{v}"] = (libs, d)
    # Spring for Apache Kafka: resolved from Maven Central once per pom version
    spring_libs, spring = OUT / "spring-libs", OUT / "spring"
    pom = COMPAT / "spring" / "pom.xml"
    stamp = spring_libs / ".pom"
    if not stamp.exists() or stamp.read_bytes() != pom.read_bytes():
        shutil.rmtree(spring_libs, ignore_errors=True)
        kg.run(["mvn", "-q", "-B", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies",
                f"-DoutputDirectory={spring_libs}", "-DincludeScope=runtime"], timeout=600)
        stamp.write_bytes(pom.read_bytes())
    spring.mkdir(exist_ok=True)
    kg.run(["javac", "-nowarn", "-cp", f"{spring_libs}/*", "-d", str(spring),
            str(COMPAT / "spring" / "KgSpring.java"), str(COMPAT / "java" / "KgSteps.java")], timeout=180)
    built["spring-kafka"] = (spring_libs, spring)
    if shutil.which("go"):
        kg.run(["go", "build", "-o", str(OUT / "kgcell-go"), "."], timeout=600,
               env={**os.environ, "GOFLAGS": "-mod=mod"}, cwd=COMPAT / "go")
    if shutil.which("node") and not (COMPAT / "node" / "node_modules" / "kafkajs").is_dir():
        kg.run(["npm", "ci", "--no-audit", "--no-fund"], timeout=300, cwd=COMPAT / "node")
    return built


@pytest.fixture(scope="module")
def matrix(gateway_factory, gateway_bin, certs, tmp_path_factory):
    """Two gateways: SASL_SSL (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN) and mTLS."""
    tmp = tmp_path_factory.mktemp("matrix")
    users = tmp / "users.json"
    kg.users_cmd(gateway_bin, users, "add", USER, password=PASSWORD)
    os.chmod(users, 0o600)
    tls = {"cert_file": str(certs / "server.pem"), "key_file": str(certs / "server.key")}
    sasl = gateway_factory.start("gw-matrix-sasl", merge={"listen": {
        "advertised_host": "localhost", "tls": tls,
        "auth": {"mode": "sasl", "mechanisms": ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"],
                 "users_file": str(users), "max_failures": 0, "scram_nonce": "suffix"}}})
    mtls = gateway_factory.start("gw-matrix-mtls", merge={"listen": {
        "advertised_host": "localhost",
        "tls": {**tls, "ca_file": str(certs / "ca.pem"), "client_auth": "required"}}})
    return {"sasl": sasl, "mtls": mtls, "tmp": tmp}


def _java_props(path: Path, auth: str, certs: Path, password: str) -> Path:
    lines = [f"ssl.truststore.location={certs / 'truststore.p12'}", "ssl.truststore.type=PKCS12",
             f"ssl.truststore.password={kg.KEYSTORE_PASSWORD}"]
    if auth == "mTLS":
        lines += ["security.protocol=SSL", f"ssl.keystore.location={certs / 'alice.p12'}",
                  "ssl.keystore.type=PKCS12", f"ssl.keystore.password={kg.KEYSTORE_PASSWORD}"]
    else:
        module = ("org.apache.kafka.common.security.plain.PlainLoginModule" if auth == "PLAIN"
                  else "org.apache.kafka.common.security.scram.ScramLoginModule")
        lines += ["security.protocol=SASL_SSL", f"sasl.mechanism={auth}",
                  f'sasl.jaas.config={module} required username="{USER}" password="{password}";']
    path.write_text("\n".join(lines) + "\n")
    return path


def _command(client, auth, gw, certs, names, tmp, drivers) -> list:
    bootstrap = f"localhost:{gw.bootstrap_port}"
    topic, group, txn = names.topic(), names.group(), names.topic("-txn")
    common = ["--bootstrap", bootstrap, "--ca", str(certs / "ca.pem"), "--topic", topic,
              "--group", group, "--txn", txn, "--records", "500"]
    if auth == "mTLS":
        common += ["--security", "ssl", "--cert", str(certs / "alice.pem"),
                   "--key", str(certs / "alice.key")]
    else:
        common += ["--security", "sasl_ssl", "--mechanism", auth, "--user", USER,
                   "--password", PASSWORD]
    if client.startswith("java-") or client == "spring-kafka":
        libs, classes = drivers[client]
        props = _java_props(tmp / f"{client}-{auth}.properties", auth, certs, PASSWORD)
        cmd = ["java", "-Xmx256m", "-cp", f"{libs}/*:{classes}",
               f"-Dlog4j.configuration=file:{kg.REPO / 'tests/kafka/config/log4j-tools.properties'}",
               f"-Dlog4j2.configurationFile={kg.REPO / 'tests/kafka/config/log4j2-tools.properties'}",
               "KgSpring" if client == "spring-kafka" else "KgCell", "--props", str(props),
               "--bootstrap", bootstrap, "--topic", topic,
               "--group", group, "--txn", txn, "--records", "500"]
        if auth != "mTLS":
            bad = _java_props(tmp / f"{client}-{auth}-bad.properties", auth, certs, "wrong-password")
            cmd += ["--bad-props", str(bad)]
        return cmd
    if client in ("confluent-kafka", "kafka-python"):
        return ["python3", str(COMPAT / "cell_py.py"), "--client",
                "confluent" if client == "confluent-kafka" else "kafka-python", *common]
    if client == "kcat":
        return ["python3", str(COMPAT / "cell_kcat.py"), *common]
    if client == "franz-go":
        return [str(OUT / "kgcell-go"), *common]
    if client == "kafkajs":
        return ["node", str(COMPAT / "node" / "cell.js"), *common]
    raise AssertionError(client)


@pytest.mark.parametrize("client,auth", cells())
def test_cell(kafka, matrix, certs, drivers, names, tmp_path, client, auth):
    cell = f"{client} x {auth} x Kafka {kafka.version}"
    if client == "franz-go" and not (OUT / "kgcell-go").exists():
        RESULTS.append((cell, "NOT RUN", "no Go toolchain on this machine"))
        pytest.fail(f"{cell}: no Go toolchain to build the franz-go driver")
    if client == "kafkajs" and not shutil.which("node"):
        RESULTS.append((cell, "NOT RUN", "no Node.js on this machine"))
        pytest.fail(f"{cell}: no Node.js for the KafkaJS driver")
    gw = matrix["mtls" if auth == "mTLS" else "sasl"]
    log_off = gw.log_path.stat().st_size
    cmd = _command(client, auth, gw, certs, names, tmp_path, drivers)
    t0 = time.monotonic()
    try:
        cp = subprocess.run(cmd, capture_output=True, timeout=300)
    except subprocess.TimeoutExpired as e:
        RESULTS.append((cell, "FAIL", "timed out after 300 s"))
        raise AssertionError(f"{cell}: timed out; output:\n{(e.stdout or b'').decode()[-3000:]}")
    secs = time.monotonic() - t0
    steps = []
    for line in cp.stdout.decode(errors="replace").splitlines():
        try:
            steps.append(json.loads(line))
        except ValueError:
            pass
    failed = [s for s in steps if not s.get("na") and not s.get("ok")]
    na = [s["step"] for s in steps if s.get("na")]
    done = [s["step"] for s in steps if s.get("ok")]
    want = {"metadata", "create", "produce", "consume", "transactions", "describe_group", "delete"}
    if auth != "mTLS":
        want.add("bad_password")
    missing = want - {s["step"] for s in steps}
    # metadata: only the gateway's own addresses
    advertised = {f"localhost:{p}" for _, p in gw.advertised.values()}
    md = next((s for s in steps if s["step"] == "metadata"), {"detail": ""})
    shown = set(md["detail"].split())
    leaked = shown - advertised
    # A client that hides the refusal of a wrong password (kafka-python: "Unable to bootstrap"):
    # the gateway must have refused it, with the broker's error.
    bad = next((s for s in steps if s["step"] == "bad_password"), None)
    if bad and "client_reports_timeout" in bad.get("detail", ""):
        log = gw.log_path.read_bytes()[log_off:].decode(errors="replace")
        if f"authentication failed" not in log:
            failed.append({"step": "bad_password", "detail": "the gateway logged no refused login"})
    ok = not failed and not missing and cp.returncode == 0 and shown and not leaked
    detail = (f"{len(done)} steps ok" + (f", n/a: {','.join(na)}" if na else "") + f", {secs:.0f} s")
    if not ok:
        detail = "; ".join(filter(None, [
            f"failed: {', '.join(s['step'] + ' (' + s.get('detail', '')[:160] + ')' for s in failed)}"
            if failed else "", f"missing: {sorted(missing)}" if missing else "",
            f"brokers not the gateway's: {sorted(leaked)}" if leaked else "",
            f"exit {cp.returncode}" if cp.returncode else ""]))
    RESULTS.append((cell, "ok" if ok else "FAIL", detail))
    kg.assert_no_direct_address(cp.stdout.decode(errors="replace"), f"{cell} output")
    assert ok, f"{cell}: {detail}\nstdout:\n{cp.stdout.decode()[-3000:]}\nstderr:\n{cp.stderr.decode()[-3000:]}"
