"""Shared helpers of the SASL tests (test_sasl.py, test_floods.py): a SASL gateway handle with
its log (SaslGateway), a raw Kafka connection that logs in with PLAIN or SCRAM and sends a few
requests (Raw), and users files made with `kafka-gateway user add`."""

from __future__ import annotations

import os
import random
import re
import socket
import ssl
import stat
import struct
import time
from pathlib import Path

import kg


def make_users_file(binary: Path, path: Path, users: dict) -> Path:
    for name, pw in users.items():
        kg.users_cmd(binary, path, "add", name, password=pw)
    os.chmod(path, 0o600)
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, f"users file {path} has mode {oct(mode)}"
    return path


class SaslGateway:
    def __init__(self, gw: kg.Gateway, certs: Path | None, user: str = "", password: str = ""):
        self.gw, self.certs = gw, certs
        self.user, self.password = user, password  # defaults for the client settings below
        self.port = gw.bootstrap_port
        self.auth = gw.config["listen"]["auth"]
        self.metadata_version = None

    @property
    def bootstrap(self) -> str:
        return f"localhost:{self.port}"

    @property
    def tls(self) -> bool:
        return self.certs is not None

    def broker_addresses(self) -> set:
        return {f"localhost:{p}" for _, p in self.gw.advertised.values()}

    def rdkafka(self, mech="SCRAM-SHA-512", user=None, password=None, **extra) -> dict:
        user = self.user if user is None else user
        password = self.password if password is None else password
        c = {"security.protocol": "sasl_ssl" if self.tls else "sasl_plaintext",
             "sasl.mechanisms": mech, "sasl.username": user, "sasl.password": password}
        if self.tls:
            c.update({"ssl.ca.location": str(self.certs / "ca.pem"),
                      "ssl.endpoint.identification.algorithm": "https"})
        c.update(extra)
        return c

    def java_props(self, path: Path, mech="SCRAM-SHA-512", user=None, password=None) -> Path:
        user = self.user if user is None else user
        password = self.password if password is None else password
        module = ("org.apache.kafka.common.security.plain.PlainLoginModule" if mech == "PLAIN"
                  else "org.apache.kafka.common.security.scram.ScramLoginModule")
        lines = [f"security.protocol={'SASL_SSL' if self.tls else 'SASL_PLAINTEXT'}",
                 f"sasl.mechanism={mech}",
                 f'sasl.jaas.config={module} required username="{user}" password="{password}";']
        if self.tls:
            lines += [f"ssl.truststore.location={self.certs / 'truststore.p12'}",
                      "ssl.truststore.type=PKCS12",
                      f"ssl.truststore.password={kg.KEYSTORE_PASSWORD}"]
        path.write_text("\n".join(lines) + "\n")
        return path

    def raw(self, timeout=10.0) -> "Raw":
        return Raw(self, timeout)

    def log_size(self) -> int:
        return self.gw.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.gw.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def wait_log(self, offset: int, pattern: str, timeout=5.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_since(offset)
            m = re.search(pattern, text, re.M)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"gateway log has no line matching {pattern!r} after {timeout}s; "
                                     f"new log lines:\n{text[-3000:]}")
            time.sleep(0.1)

    def close_line(self, offset: int, local_port: int, timeout=5.0) -> re.Match:
        """The gateway's close line for the client connection from 127.0.0.1:local_port:
        groups reason, requests, bytes in (to brokers), bytes out (from brokers)."""
        return self.wait_log(offset, rf"^.*conn \d+ 127\.0\.0\.1:{local_port} node \S+ \S+ closed: "
                                     rf"(?P<reason>.*) \(requests (?P<requests>\d+), bytes in "
                                     rf"(?P<bin>\d+) out (?P<bout>\d+)\)$", timeout)

    def wait_ready(self, timeout=20.0):
        """Before authentication the gateway answers ApiVersions itself, from the API ranges
        its metadata refresh learned: wait until it can."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                r = self.raw(timeout=5)
                try:
                    apis = r.api_versions()
                finally:
                    r.close()
                lo, hi = apis[kg.API_METADATA]
                self.metadata_version = min(hi, 12)
                assert self.metadata_version >= max(lo, 1), apis[kg.API_METADATA]
                return
            except (OSError, ConnectionError, ssl.SSLError, struct.error, KeyError) as e:
                last = f"{type(e).__name__}: {e}"
            time.sleep(0.3)
        raise AssertionError(f"gateway on port {self.port} does not answer ApiVersions before "
                             f"authentication after {timeout}s ({last})\n{self.gw.log_tail(30)}")


class Raw(kg.RawConn):
    """One raw Kafka connection to a SASL gateway (TLS if the gateway has it)."""

    def __init__(self, g: SaslGateway, timeout=10.0):
        self.g = g
        s = socket.create_connection((kg.HOST, g.port), timeout=timeout)
        if g.tls:
            s = kg.tls_context(g.certs / "ca.pem").wrap_socket(s, server_hostname="localhost")
        self.s = s
        self.local_port = s.getsockname()[1]
        self.corr = random.randrange(1000, 100000)

    def send(self, data: bytes):
        self.s.sendall(data)

    def recv(self) -> bytes:
        return kg.recv_frame(self.s)

    def api_versions(self, version=3) -> dict:
        c = self._next()
        self.send(kg.api_versions_request(c, version))
        corr, err, apis = kg.parse_api_versions_response(self.recv(), version)
        assert (corr, err) == (c, 0), f"ApiVersions v{version}: corr {corr} (sent {c}), error {err}"
        return apis

    def handshake(self, mech: str, version=1):
        c = self._next()
        self.send(kg.sasl_handshake_request(c, mech, version))
        corr, err, mechs = kg.parse_sasl_handshake_response(self.recv())
        assert corr == c, f"SaslHandshake: correlation id {corr}, sent {c}"
        return err, mechs

    def authenticate(self, token: bytes, version=1) -> kg.SaslAuthResponse:
        c = self._next()
        self.send(kg.sasl_authenticate_request(c, token, version))
        r = kg.parse_sasl_authenticate_response(self.recv(), version)
        assert r.corr == c, f"SaslAuthenticate: correlation id {r.corr}, sent {c}"
        return r

    def login(self, mech: str, user: str, password: str, version=1) -> kg.SaslAuthResponse:
        """SaslHandshake v1 + SaslAuthenticate; returns the last response (error 0 = success;
        for SCRAM the server signature has been verified)."""
        err, mechs = self.handshake(mech)
        assert err == 0, f"SaslHandshake {mech}: error {err}, mechanisms {mechs}"
        if mech == "PLAIN":
            return self.authenticate(b"\0" + user.encode() + b"\0" + password.encode(), version)
        sc = kg.ScramClient(mech, user, password)
        r = self.authenticate(sc.first(), version)
        if r.error:
            return r
        assert r.session_lifetime_ms in (None, 0), f"intermediate SessionLifetimeMs {r.session_lifetime_ms}"
        r = self.authenticate(sc.final(r.auth_bytes), version)
        if r.error == 0:
            assert sc.verify(r.auth_bytes), f"server-final {r.auth_bytes!r} does not verify"
        return r

    def metadata(self) -> bytes:
        c = self._next()
        self.send(kg.metadata_request(c, self.g.metadata_version))
        resp = self.recv()
        (corr,) = struct.unpack(">i", resp[:4])
        assert corr == c, f"Metadata: correlation id {corr}, sent {c}"
        return resp

    def expect_closed_silently(self, timeout=5.0, what="") -> float:
        """Wait for the gateway to close this connection without sending anything (no Kafka
        response). Returns the seconds it took."""
        self.s.settimeout(timeout)
        got, t0 = b"", time.monotonic()
        while True:
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                raise AssertionError(f"{what}: connection still open after {timeout}s "
                                     f"(received {len(got)} bytes {got[:64]!r})")
            except (ConnectionError, ssl.SSLError, OSError):
                break
            if not chunk:
                break
            got += chunk
        assert got == b"", f"{what}: expected a close without a response, got {len(got)} bytes {got[:80]!r}"
        return time.monotonic() - t0
