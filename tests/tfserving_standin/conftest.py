"""Fixtures for the TF Serving STAND-IN tests (not TensorFlow Serving)."""

import json
import shutil
from pathlib import Path

import pytest

from tests.standin_fixtures import (  # noqa: F401  (fixtures used by the tests)
    FASHION_MNIST,
    standin_fashion_mnist,
    standin_server_factory,
)


@pytest.fixture(scope="session")
def sample_request(fashion_mnist_base_path: Path) -> dict:
    """assets.extra/sample_request.json of version 1."""
    path = fashion_mnist_base_path / "1" / "assets.extra" / "sample_request.json"
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def golden(fashion_mnist_base_path: Path) -> dict:
    """Golden outputs and tolerance of version 1."""
    extra = fashion_mnist_base_path / "1" / "assets.extra"
    meta = json.loads((extra / "export_metadata.json").read_text())
    return {
        "predictions": json.loads((extra / "golden_outputs.json").read_text())[
            "predictions"
        ],
        "tolerance": meta.get("tolerance", {"rtol": 1e-5, "atol": 1e-6}),
    }


@pytest.fixture
def model_copy(fashion_mnist_base_path: Path, tmp_path: Path) -> Path:
    """A writable copy of the fixture base path."""
    target = tmp_path / "models" / FASHION_MNIST
    shutil.copytree(fashion_mnist_base_path, target)
    return target


def publish_version(base_path: Path, source: int, version: int) -> Path:
    """Copies version ``source`` to ``version`` atomically (temp name, rename)."""
    temp = base_path / f"{version}.tmp"
    shutil.copytree(base_path / str(source), temp)
    final = base_path / str(version)
    temp.rename(final)
    return final
