"""`tfs-rollout analyze` on the kind cluster: a good canary is promoted, a wrong one
rolled back, and traffic to `/labels/stable` never fails (TF Serving STAND-IN image).

Version 1 is stable. Version 2 (a sound export) is loaded, labelled canary and
analysed: promoted. Version 3 serves version 2's model under a golden_outputs.json
that does not match what it computes (an export gone wrong), so its analysis rolls
the canary label back to stable's version. The analysis load and the stable
traffic reach the one pod through kubectl port-forward, as the CLI's usage shows.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model_rollout import analysis
from model_rollout.cli import main as rollout
from smoke_tests.portforward import PortForward
from tests.e2e.conftest import Releases
from tests.e2e.kube import CHART_DIR, Kube
from tests.e2e.workload import make_readable, publish_version
from tests.model_rollout.test_rollout_standin import StableTraffic

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

STEP_TIMEOUT_S = "240"
ANALYSIS = [
    "--rate",
    "30",
    "--duration",
    "8",
    "--warmup",
    "2",
    "--canary-weight",
    "0.3",
]
# A shared 2-core machine: judge the server, not the generator's scheduling.
GATES = ["--max-lag-p99-ms", "250", "--max-backlog-s", "5"]
# The stand-in's p99 over a port-forward moves by tens of ms between two arms of the
# same model; the budget catches a slow version, not that noise.
P99_BUDGET = ["--p99-floor-ms", "200"]


def wrong_golden(source: Path, target: Path) -> Path:
    """A copy of `source` whose golden_outputs.json rows are reversed: what it
    serves no longer matches what its export says it serves."""
    shutil.copytree(source, target)
    golden = target / "assets.extra" / "golden_outputs.json"
    doc = json.loads(golden.read_text())
    doc["predictions"] = [row[::-1] for row in doc["predictions"]]
    golden.write_text(json.dumps(doc))
    make_readable(target)
    return target


def test_analysis_promotes_a_good_canary_and_rolls_back_a_wrong_one(
    kube: Kube,
    releases: Releases,
    trained_models: dict[int, Path],
    capsys: pytest.CaptureFixture,
    record_property,
    tmp_path: Path,
) -> None:
    release = releases.new("analysis")
    publish_version(trained_models[1], release.base_path, 1)
    sets = {
        "modelStorage.hostPath.path": str(release.models_dir),
        "model.versionPolicy": "specific",
        "model.specificVersions": "{1}",
        "model.versionLabels.stable": "1",
        "server.modelConfigPollSeconds": "5",
    }
    releases.install(release, [CHART_DIR / "ci" / "04-kind-hostpath-values.yaml"], sets)
    publish_version(trained_models[2], release.base_path, 2)
    publish_version(
        wrong_golden(trained_models[2], tmp_path / "3"), release.base_path, 3
    )
    request = json.loads(
        (release.base_path / "1" / "assets.extra" / "sample_request.json").read_text()
    )
    service = kube.service_name(release.namespace, release.name)
    forward = PortForward(f"svc/{service}", ["http"], namespace=release.namespace)
    url = f"http://127.0.0.1:{forward.start()['http']}"
    argv = [
        "--configmap", f"{release.name}-tf-serving-models",
        "--namespace", release.namespace,
        "--rest-url", url,
        "--model-name", "fashion_mnist",
        "--model-base-path", str(release.base_path),
        "--timeout", STEP_TIMEOUT_S,
    ]  # fmt: skip
    traffic = StableTraffic(
        f"{url}/v1/models/fashion_mnist/labels/stable:predict", request, limit_s=800
    )
    traffic.start()
    codes, reports = [], []
    try:
        for version in (2, 3):
            for step in (["load", str(version)], ["canary", str(version)]):
                assert rollout([*argv, *step]) == 0, capsys.readouterr().err
            out = release.out_dir / f"analysis-{version}"
            codes.append(
                rollout(
                    [*argv, *ANALYSIS, *GATES, *P99_BUDGET, "--out", str(out)]
                    + ["analyze"]
                )
            )
            capsys.readouterr()
            reports.append(json.loads((out / "analysis.json").read_text())["decision"])
        status = rollout([*argv, "status"])
        status_line = capsys.readouterr().out.strip()
    finally:
        traffic.stop_event.set()
        traffic.join(timeout=30)
        forward.stop()
    summary = [
        (r["decision"], [(c["name"], c["ok"]) for c in r["checks"]]) for r in reports
    ]
    print("standin canary analysis on the cluster:", *summary, sep="\n  ")
    record_property("analysis", json.dumps(summary))
    record_property("stable_requests", traffic.sent)
    assert codes == [analysis.EXIT_PROMOTED, analysis.EXIT_ROLLED_BACK], summary
    # Stable is the promoted version 2; the wrong version 3 lost its canary label.
    assert status == 0, status_line
    assert "'stable': 2" in status_line and "'canary': 2" in status_line, status_line
    assert traffic.sent > 100
    assert traffic.failures == [], traffic.failures[:5]
