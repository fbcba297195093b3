"""The gateway on the kind cluster in front of the TF Serving STAND-IN image.

Installs ci/04-kind-hostpath with ci/08-gateway's gateway (no ingress controller
offline, so its Ingress is off) and the locally built gateway image, then uploads a
picture made from the export's sample request to the gateway Service (through
kubectl port-forward, as a user tries it) and expects the label of the golden
output. Not a test of TensorFlow Serving itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from smoke_tests.portforward import PortForward
from tests.e2e.conftest import Releases
from tests.e2e.kube import CHART_DIR, Kube
from tests.e2e.workload import publish_version
from tests.gateway.conftest import clearest_row, golden_label, sample_png_bytes

pytestmark = [pytest.mark.kind, pytest.mark.timeout(600)]

CI_DIR = CHART_DIR / "ci"


def test_gateway_page_returns_the_right_label(
    kube: Kube, releases: Releases, trained_models: dict[int, Path], record_property
) -> None:
    release = releases.new("gateway")
    version_dir = publish_version(trained_models[1], release.base_path, 1)
    sets = {
        "modelStorage.hostPath.path": str(release.models_dir),
        "ingress.rest.enabled": "false",
        "gateway.ingress.enabled": "false",
        "gateway.replicaCount": "1",
    }
    releases.install(
        release,
        [CI_DIR / "04-kind-hostpath-values.yaml", CI_DIR / "08-gateway-values.yaml"],
        sets,
    )
    row = clearest_row(version_dir)
    service = kube.service_name(release.namespace, release.name, "tf-serving-gateway")
    with PortForward(f"svc/{service}", ["80"], namespace=release.namespace) as forward:
        url = f"http://127.0.0.1:{forward.local_ports['80']}"
        page = requests.get(url + "/", timeout=10)
        assert page.status_code == 200 and 'id="file"' in page.text
        reply = requests.post(
            f"{url}/predict",
            files={"file": ("sample.png", sample_png_bytes(version_dir, row))},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        bad = requests.post(
            f"{url}/predict", files={"file": ("x.png", b"not an image")}, timeout=30
        )
    record_property("gateway_prediction", body["predictions"][0])
    print(f"standin gateway on the cluster: {body}")
    assert body["version"] == 1
    assert body["predictions"][0]["label"] == golden_label(version_dir, row)
    assert bad.status_code == 415, bad.text
