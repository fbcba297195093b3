"""Fixtures for the load tester tests: loopback servers in child processes.

Typical usage example:

    def test_x(loopback):
        print(loopback.rest_target)
"""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest import go_engine
from loadtest.loopback import LoopbackServer


@pytest.fixture(scope="module")
def loopback() -> Iterator[LoopbackServer]:
    """A fault-free loopback REST + gRPC server."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def make_loopback() -> Iterator:
    """Factory for loopback servers with injected faults; all stopped at teardown."""
    servers: list[LoopbackServer] = []

    def make(**faults) -> LoopbackServer:
        server = LoopbackServer(**faults).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def engine_binary(tmp_path_factory) -> Path:
    """tfs-load-engine built from this checkout (needs Go, like `make tools`)."""
    if shutil.which("go") is None:
        pytest.skip("no Go on this machine: `make tools` skips the engine too")
    out = tmp_path_factory.mktemp("engine") / go_engine.BINARY
    source = Path(__file__).resolve().parents[2] / "loadengine"
    subprocess.run(["go", "build", "-o", str(out), "."], cwd=source, check=True)
    return out


@pytest.fixture
def go(engine_binary, monkeypatch) -> Path:
    """``--engine go`` (and the bench's Go loopback) use the built binary."""
    monkeypatch.setenv(go_engine.BINARY_ENV, str(engine_binary))
    return engine_binary


from tests.standin_fixtures import (  # noqa: E402, F401
    standin_fashion_mnist,
    standin_resnet,
    standin_server_factory,
)
