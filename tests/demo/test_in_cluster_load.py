"""`tfs-load run --in-cluster` against `make demo`'s Service on kind, as a Job.

The client tools image is built locally (hack/build/app-images.sh, nothing pulled)
and loaded into the demo's kind cluster, as a user without a registry would. On a
machine without a registry the demo serves the TF Serving STAND-IN, so this load
reaches the stand-in, not TensorFlow Serving.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest import constants
from smoke_tests import inputs
from tests.demo.conftest import BASE_PATH, CONTEXT, REPO_ROOT

pytestmark = pytest.mark.demo

CLUSTER = CONTEXT.removeprefix("kind-")
NAMESPACE = "default"
SERVICE_HOST = f"tf-serving.{NAMESPACE}.svc"
RATE, DURATION_S = 20, 10


@pytest.fixture(scope="module")
def client_image(demo_cluster: None) -> str:
    """The client tools image, built here and loaded into the kind node."""
    subprocess.run([REPO_ROOT / "hack" / "build" / "app-images.sh"], check=True)
    subprocess.run(
        [
            REPO_ROOT / "hack" / "make-rules" / "kind-load.sh",
            "--name",
            CLUSTER,
            constants.CLIENT_TOOLS_IMAGE,
        ],
        check=True,
    )
    return constants.CLIENT_TOOLS_IMAGE


def sample_request() -> Path:
    """The newest exported version's sample request."""
    newest = max(inputs.version_dirs(BASE_PATH))
    return BASE_PATH / str(newest) / "assets.extra" / "sample_request.json"


@pytest.mark.parametrize(
    ("protocol", "target"),
    [("rest", f"http://{SERVICE_HOST}:8501"), ("grpc", f"{SERVICE_HOST}:8500")],
    ids=["rest-standin-or-real", "grpc-standin-or-real"],
)
def test_load_job_reaches_the_service_and_brings_back_its_summary(
    client_image: str, tmp_path, protocol: str, target: str
) -> None:
    run = subprocess.run(
        [
            sys.executable, "-m", "loadtest", "run", "--in-cluster", NAMESPACE,
            "--context", CONTEXT, "--image", client_image, "--protocol", protocol,
            "--target", target, "--request", str(sample_request()),
            "--rate", str(RATE), "--duration", str(DURATION_S), "--warmup", "1",
            "--max-error-rate", "0", "--max-lag-p99-ms", "250", "--out", str(tmp_path),
        ],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    counts = summary["counts"]
    assert counts["sent"] == counts["ok"] == RATE * DURATION_S, counts
    assert summary["target"] == target and summary["verdict"] == "PASS"
    assert "PASS" in run.stdout
