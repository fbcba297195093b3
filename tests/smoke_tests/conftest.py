"""Fixtures for the smoke_tests tests.

The stand-in fixtures come from tests/standin_fixtures.py: they run the TF Serving
STAND-IN (not TensorFlow Serving) on free loopback ports and stop it afterwards.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.standin_fixtures import (  # noqa: F401  (fixtures used by the tests)
    FASHION_MNIST,
    standin_fashion_mnist,
    standin_server_factory,
)


@pytest.fixture
def model_copy(fashion_mnist_base_path: Path, tmp_path: Path) -> Path:
    """A writable copy of the fixture base path (for adding versions)."""
    target = tmp_path / "models" / FASHION_MNIST
    shutil.copytree(fashion_mnist_base_path, target)
    return target
