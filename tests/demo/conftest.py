"""The `make demo` cluster the demo tests query (kind context kind-tf-serving).

Without it they skip (as in `make test`), unless DEMO_REQUIRE_CLUSTER=1 (set by
`.ci/run` after `make demo`), where they fail.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from smoke_tests import inputs

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTEXT = "kind-tf-serving"
SERVICE = "svc/tf-serving"
BASE_PATH = REPO_ROOT / "models" / "fashion_mnist"


@pytest.fixture(scope="module")
def demo_cluster() -> None:
    probe = subprocess.run(
        ["kubectl", "--context", CONTEXT, "get", SERVICE],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode == 0 and inputs.version_dirs(BASE_PATH):
        return
    why = f"no {SERVICE} on {CONTEXT} ({probe.stderr.strip()[:200]}): run `make demo`"
    if os.environ.get("DEMO_REQUIRE_CLUSTER") == "1":
        pytest.fail(why)
    pytest.skip(why)
