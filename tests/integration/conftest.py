"""pytest fixtures: a real 3-node Kafka cluster (tests/kafka/kafka-bed.sh) and kafka-gateway
processes in front of it.

Environment:
  KAFKA_VERSION     Kafka version of the test bed (required: 3.6.2, 3.6.2-zk (with ZooKeeper)
                    or 4.3.1)
  KG_REUSE_KAFKA=1  use/leave a bed that is already up (`kafka-bed.sh up` is idempotent);
                    without it the session starts the bed and stops it at the end
  KG_GATEWAY_BIN    gateway binary (default build/kafka-gateway)
  KG_DIRECT=1       development aid only: no gateway, clients talk to the brokers directly
                    (tests asserting gateway addresses then fail, as they should)
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kg  # noqa: E402

RUN_ID = uuid.uuid4().hex[:8]


def pytest_configure(config):
    config.addinivalue_line("markers", "last: run after all other tests (kills brokers)")


def pytest_collection_modifyitems(session, config, items):
    # Tests that disturb the cluster (broker kill/restart) run last.
    items.sort(key=lambda it: 1 if it.get_closest_marker("last") else 0)


def pytest_report_header(config):
    return [f"kafka-gateway integration: KAFKA_VERSION={os.environ.get('KAFKA_VERSION', '<unset>')} "
            f"direct={kg.env_flag('KG_DIRECT')} reuse={kg.env_flag('KG_REUSE_KAFKA')} run={RUN_ID}"]


@pytest.fixture(scope="session")
def kafka_version() -> str:
    v = os.environ.get("KAFKA_VERSION", "").strip()
    if not v:
        pytest.fail("KAFKA_VERSION is not set (e.g. KAFKA_VERSION=3.6.2, 3.6.2-zk or 4.3.1)",
                    pytrace=False)
    return v


@pytest.fixture(scope="session")
def kafka(kafka_version):
    for prog in ("java", "mvn", "kcat"):
        if shutil.which(prog) is None:
            pytest.fail(f"required program '{prog}' not found on PATH", pytrace=False)
    k = kg.Kafka(kafka_version)
    reuse = kg.env_flag("KG_REUSE_KAFKA")
    cp = k.bed("up", timeout=400, check=False)
    if cp.returncode != 0:
        pytest.fail(f"could not start the Kafka {kafka_version} test bed:\n"
                    f"{cp.stderr.decode(errors='replace')[-6000:]}", pytrace=False)
    yield k
    if not reuse:
        k.bed("down", timeout=120, check=False)


@pytest.fixture(scope="session")
def gw_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gateway")


@pytest.fixture(scope="session")
def gateway_bin() -> Path | None:
    if kg.env_flag("KG_DIRECT"):
        return None
    b = Path(os.environ.get("KG_GATEWAY_BIN", kg.REPO / "build" / "kafka-gateway"))
    if not (b.is_file() and os.access(b, os.X_OK)):
        pytest.fail(f"gateway binary {b} not found or not executable: build it first (make), "
                    f"or set KG_GATEWAY_BIN", pytrace=False)
    return b


class GatewayFactory:
    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = workdir
        self.started = []

    def start(self, name: str, **overrides) -> kg.Gateway:
        if self.binary is None:
            return kg.direct_gateway()
        gw = kg.start_gateway(self.binary, self.workdir, name=name, **overrides)
        self.started.append(gw)
        return gw

    def stop_all(self):
        problems = []
        for gw in self.started:
            rc_before = gw.proc.poll()
            if rc_before is not None:
                problems.append(f"gateway '{gw.config_path.name}' had already died with returncode "
                                f"{rc_before}\n--- log tail ---\n{gw.log_tail()}")
                continue
            rc = gw.stop()
            if rc != 0:
                problems.append(f"gateway '{gw.config_path.name}' did not exit cleanly on SIGTERM: "
                                f"{'killed after timeout' if rc is None else 'returncode ' + str(rc)}"
                                f"\n--- log tail ---\n{gw.log_tail()}")
        self.started = []
        return problems


@pytest.fixture(scope="session")
def gateway_factory(kafka, gateway_bin, gw_workdir):
    f = GatewayFactory(gateway_bin, gw_workdir)
    yield f
    problems = f.stop_all()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def gateway(gateway_factory) -> kg.Gateway:
    """The shared gateway of the session (default config)."""
    return gateway_factory.start("gw-main")


@pytest.fixture(autouse=True)
def _gateway_still_alive(request):
    """After every test: every gateway started so far must still be running."""
    yield
    if "gateway_factory" not in request.fixturenames:
        return
    f = request.getfixturevalue("gateway_factory")
    for gw in f.started:
        gw.assert_alive(f"during {request.node.nodeid}")


@pytest.fixture
def names(request):
    """Unique topic/group names per test."""
    # The module name keeps same-named tests of different files apart.
    module = request.node.module.__name__.replace("test_", "").replace("_", "-")
    base = f"{module}-" + request.node.name.replace("[", "-").replace("]", "").replace("_", "-").lower()
    base = "".join(ch for ch in base if ch.isalnum() or ch in "-.")[:150]

    class Names:
        def topic(self, suffix=""):
            return f"kg-{base}{suffix}-{RUN_ID}"

        def group(self, suffix=""):
            return f"kg-grp-{base}{suffix}-{RUN_ID}"
    return Names()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The compatibility matrix (test_matrix.py): one line per cell, then a summary."""
    try:
        import test_matrix
    except ImportError:
        return
    if not test_matrix.RESULTS:
        return
    tr = terminalreporter
    tr.section("compatibility matrix")
    for cell, verdict, detail in test_matrix.RESULTS:
        tr.write_line(f"{verdict:7} {cell}: {detail}")
    n = len(test_matrix.RESULTS)
    bad = sum(1 for _, v, _ in test_matrix.RESULTS if v != "ok")
    tr.write_line(f"matrix: {n} cells, {n - bad} ok, {bad} not ok")
