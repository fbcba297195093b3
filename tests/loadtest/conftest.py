"""Fixtures for the load tester tests: loopback servers in child processes.

Typical usage example:

    def test_x(loopback):
        print(loopback.rest_target)
"""

from collections.abc import Iterator

import pytest

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


from tests.standin_fixtures import (  # noqa: E402, F401
    standin_fashion_mnist,
    standin_resnet,
    standin_server_factory,
)
