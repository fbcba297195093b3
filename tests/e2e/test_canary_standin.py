"""tfs-rollout on the kind cluster: canary, promote, rollback through the release's
ConfigMap while traffic to `/labels/stable` never fails (TF Serving STAND-IN image).

The release serves version 1 labelled stable (specific policy); version 2 is
published into the volume, loaded, labelled canary, promoted, then rolled back
(stable returns to 1). The CLI edits
the `<fullname>-models` ConfigMap with the Kubernetes API; the kubelet updates the
mounted file and the server re-reads it every server.modelConfigPollSeconds. The
CLI and the stable traffic reach the one pod through kubectl port-forward, as the
CLI's own usage shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_rollout.cli import main as rollout
from smoke_tests.portforward import PortForward
from tests.e2e.conftest import Releases
from tests.e2e.kube import CHART_DIR, Kube
from tests.e2e.workload import publish_version
from tests.model_rollout.test_rollout_standin import StableTraffic

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

STEP_TIMEOUT_S = "240"


def test_canary_then_promote_never_fails_stable(
    kube: Kube,
    releases: Releases,
    trained_models: dict[int, Path],
    capsys: pytest.CaptureFixture,
    record_property,
) -> None:
    release = releases.new("canary")
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
    request = json.loads(
        (release.base_path / "1" / "assets.extra" / "sample_request.json").read_text()
    )
    service = kube.service_name(release.namespace, release.name)
    forward = PortForward(f"svc/{service}", ["http"], namespace=release.namespace)
    url = f"http://127.0.0.1:{forward.start()['http']}"
    argv = [
        "--configmap",
        f"{release.name}-tf-serving-models",
        "--namespace",
        release.namespace,
        "--rest-url",
        url,
        "--model-name",
        "fashion_mnist",
        "--timeout",
        STEP_TIMEOUT_S,
    ]
    traffic = StableTraffic(
        f"{url}/v1/models/fashion_mnist/labels/stable:predict", request, limit_s=800
    )
    traffic.start()
    lines = []
    try:
        for step in (["load", "2"], ["canary", "2"], ["promote"], ["rollback"]):
            assert rollout([*argv, *step]) == 0, capsys.readouterr().err
            lines.append(capsys.readouterr().out.strip())
    finally:
        traffic.stop_event.set()
        traffic.join(timeout=30)
        forward.stop()
    (release.out_dir / "rollout.txt").write_text("\n".join(lines))
    print("standin canary on the cluster:", *lines, sep="\n  ")
    record_property("stable_requests", traffic.sent)
    assert traffic.sent > 100
    assert traffic.failures == [], traffic.failures[:5]
    assert "label stable -> 2" in lines[-2]
    assert "label stable -> 1" in lines[-1]
