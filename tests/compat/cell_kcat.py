#!/usr/bin/env python3
"""cell_kcat.py - one cell of the compatibility matrix with kcat, i.e. the librdkafka of the
machine's kcat package (Debian 12: 2.0.2, a release many pinned deployments still run). kcat
has no admin operations, group description or transactions: those steps are reported as not
available ("n/a"), never as passed. The topic is created by the first produce (auto-creation,
as kcat users rely on).

    cell_kcat.py --bootstrap H:P --security sasl_ssl|ssl [--mechanism M --user U --password P]
                 --ca CA [--cert C --key K] --topic T --group G --records N
"""
import argparse
import json
import re
import subprocess
import sys
import time

OK = True


def step(name, ok, detail="", na=False):
    global OK
    if not na:
        OK &= bool(ok)
    rec = {"step": name, "ok": bool(ok), "detail": str(detail)}
    if na:
        rec = {"step": name, "na": True, "detail": str(detail)}
    print(json.dumps(rec), flush=True)


def key(i):
    return "k%05d" % i


def value(i):
    return "v%05d-" % i + "".join(chr(97 + (i + k) % 26) for k in range(i % 50))


def main():
    ap = argparse.ArgumentParser()
    for o in ("bootstrap", "security", "mechanism", "user", "password", "ca", "cert", "key",
              "topic", "group", "txn"):
        ap.add_argument("--" + o)
    ap.add_argument("--records", type=int, default=500)
    a = ap.parse_args()

    def conf(password=None):
        x = ["-b", a.bootstrap, "-X", f"security.protocol={a.security}", "-X",
             f"ssl.ca.location={a.ca}"]
        if a.security == "sasl_ssl":
            x += ["-X", f"sasl.mechanisms={a.mechanism}", "-X", f"sasl.username={a.user}",
                  "-X", f"sasl.password={password or a.password}"]
        if a.cert:
            x += ["-X", f"ssl.certificate.location={a.cert}", "-X", f"ssl.key.location={a.key}"]
        return x

    def kcat(*args, input=None, timeout=120):
        return subprocess.run(["kcat", *conf(), *args], input=input, capture_output=True,
                              timeout=timeout)

    try:
        cp = kcat("-L", "-m", "20")
        brokers = re.findall(r"broker \d+ at (\S+)", cp.stdout.decode())
        step("metadata", cp.returncode == 0 and brokers, " ".join(brokers) or cp.stderr.decode()[-300:])
        step("create", False, "kcat creates no topics (the produce below auto-creates)", na=True)
        data = "".join(f"{key(i)}\t{value(i)}\n" for i in range(a.records)).encode()
        cp = kcat("-P", "-t", a.topic, "-K\t", "-X", "acks=all", "-X", "enable.idempotence=true",
                  input=data)
        step("produce", cp.returncode == 0, f"{a.records} records (idempotent, acks=all) "
             f"{cp.stderr.decode()[-300:]}")
        deadline, got = time.monotonic() + 90, {}
        while len(got) < a.records and time.monotonic() < deadline:
            cp = kcat("-C", "-G", a.group, a.topic, "-c", str(a.records), "-f", "%k\t%s\n",
                      "-X", "auto.offset.reset=earliest", timeout=100)
            for line in cp.stdout.decode().splitlines():
                k, _, v = line.partition("\t")
                got[k] = v
        exact = len(got) == a.records and all(got.get(key(i)) == value(i) for i in range(a.records))
        step("consume", exact, f"{len(got)} of {a.records} byte-exact, group {a.group}")
        step("transactions", False, "kcat has no transactions", na=True)
        step("describe_group", False, "kcat cannot describe groups", na=True)
        step("delete", False, "kcat deletes no topics", na=True)
        if a.security == "sasl_ssl":
            t0 = time.monotonic()
            cp = subprocess.run(["kcat", *conf(password="wrong-password"), "-L", "-m", "15"],
                                capture_output=True, timeout=60)
            err = cp.stderr.decode()
            step("bad_password", cp.returncode != 0 and "uthentication" in err,
                 f"{(time.monotonic() - t0) * 1000:.0f} ms: {err[-200:]}")
    except Exception as e:  # noqa: BLE001
        step("error", False, f"{type(e).__name__}: {e}")
    sys.exit(0 if OK else 1)


if __name__ == "__main__":
    main()
