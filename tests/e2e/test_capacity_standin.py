"""`tfs-load capacity --in-cluster` on the kind cluster (TF Serving STAND-IN image).

The search runs as a Job next to a one-pod release, aimed at the Service's
in-cluster address, and its capacity.json comes back to the caller. What this
checks is the tool's path on a cluster (the Job, the steps, the answer and the
plan coming back), not TF Serving's capacity: the server is the stand-in, on a
shared 2-core machine.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest import constants
from tests.e2e.conftest import Releases
from tests.e2e.kube import CHART_DIR, REPO_ROOT, Kube
from tests.e2e.workload import publish_version

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

TARGET_RATE = 200


def test_capacity_search_runs_as_a_job_and_brings_back_its_answer(
    kube: Kube, releases: Releases, trained_models: dict[int, Path], record_property
) -> None:
    release = releases.new("capacity")
    publish_version(trained_models[1], release.base_path, 1)
    releases.install(
        release,
        [CHART_DIR / "ci" / "04-kind-hostpath-values.yaml"],
        {"modelStorage.hostPath.path": str(release.models_dir)},
    )
    service = kube.service_name(release.namespace, release.name)
    request = release.base_path / "1" / "assets.extra" / "sample_request.json"
    out = release.out_dir / "capacity"
    argv = [
        sys.executable, "-m", "loadtest", "capacity",
        "--in-cluster", release.namespace,
        "--image", f"tf-serving-client-tools:{kube.versions['CLIENT_TOOLS_TAG']}",
        "--target", f"http://{service}.{release.namespace}.svc:8501",
        "--request", str(request),
        "--max-p99-ms", "250", "--start-rate", "20", "--max-rate", "160",
        "--precision", "0.2", "--step-duration", "3", "--warmup", "1",
        "--cooldown", "1", "--attempts", "1",
        # A shared 2-core machine: judge the server, not the generator's scheduling.
        "--max-lag-p99-ms", "100",
        "--target-rate", str(TARGET_RATE), "--pods", "1",
        "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.run(  # noqa: S603 - our own module
        argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=800, check=False
    )
    (release.out_dir / "capacity.log").write_text(proc.stdout + proc.stderr)
    assert (out / "capacity.json").is_file(), proc.stdout + proc.stderr
    result = json.loads((out / "capacity.json").read_text())
    rows = [(r["rate"], r["outcome"], r["p99_ms"]) for r in result["steps"]]
    print(
        "standin capacity search on the cluster:", result["ending"], *rows, sep="\n  "
    )
    record_property("capacity_steps", json.dumps(rows))
    assert proc.returncode in (constants.EXIT_PASS, constants.EXIT_INVALID), rows
    assert result["steps"] and result["target"].endswith(".svc:8501")
    assert all(r["ok"] > 0 for r in result["steps"]), rows
    best = result["lower_bound_req_s"]
    record_property("capacity_req_s", best)
    if proc.returncode == constants.EXIT_INVALID:
        assert result["ended_by"] == "generator" and result["capacity_req_s"] is None
        return
    assert best > 0
    if result["ended_by"] == "slo-edge":
        assert result["capacity_req_s"] == best < result["lowest_missed_req_s"]
    advice = result["recommendation"]
    per_pod = best * constants.CAPACITY_UTILIZATION
    assert advice["replicas"] == max(
        math.ceil(TARGET_RATE / per_pod), math.ceil(TARGET_RATE / best) + 1
    )
