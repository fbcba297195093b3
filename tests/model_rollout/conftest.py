"""Fixtures: the TF Serving STAND-IN (tests/standin_fixtures.py) for rollout tests."""

from tests.standin_fixtures import (  # noqa: F401  (fixtures used by the tests)
    standin_server_factory,
)
