"""The release path users install from, on `make demo`'s kind cluster: oci:// and pulls.

hack/local-registry.sh runs the CNCF distribution registry (built from the Go module
proxy) on 127.0.0.1:5001 and points the kind node at it, kind's local-registry
pattern; hack/release.sh pushes the chart and the app images as the tag-triggered
release workflow does. `helm install` from oci:// then starts a release whose pods
the node pulls from that registry (imageID localhost:5001/...), not from `kind load`.
The images the demo release runs are pushed too; on a machine without a registry that
is the TF Serving STAND-IN, so this proves the chart's release path, not TF Serving.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
import yaml

from tests.demo.conftest import CONTEXT, REPO_ROOT

pytestmark = pytest.mark.demo

CLUSTER = CONTEXT.removeprefix("kind-")
REGISTRY = "localhost:5001"
CHART_DIR = REPO_ROOT / "charts" / "tf-serving"
# Images of the demo's release that follow it into the registry, by values key.
IMAGE_KEYS = ("image", "drainProxy.image", "testFramework.image")


def run(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in argv], check=True, capture_output=True, text=True, **kwargs
    )


def dig(values: dict, key: str) -> dict:
    for part in key.split("."):
        values = values[part]
    return values


def local_image(ref: str) -> bool:
    """True when docker has `ref` here (built locally, or pulled by `make demo`)."""
    probe = subprocess.run(
        ["docker", "image", "inspect", ref], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.fixture(scope="module")
def released(demo_cluster: None) -> tuple[str, dict[str, str]]:
    """Registry up, chart and images pushed; (oci:// ref, --set pairs for images)."""
    demo = json.loads(
        run(
            "helm", "get", "values", "tf-serving", "--kube-context", CONTEXT,
            "--all", "-o", "json",
        ).stdout
    )  # fmt: skip
    extra, sets = [], {}
    for key in IMAGE_KEYS:
        image = dig(demo, key)
        ref = f"{image['repository']}:{image['tag']}"
        if local_image(ref):
            extra.append(ref)
            sets[f"{key}.repository"] = f"{REGISTRY}/{image['repository']}"
            sets[f"{key}.tag"] = str(image["tag"])
    run(REPO_ROOT / "hack" / "build-app-images.sh")
    run(REPO_ROOT / "hack" / "local-registry.sh", "up", "--name", CLUSTER)
    release = run(
        REPO_ROOT / "hack" / "release.sh",
        REGISTRY,
        env={**os.environ, "EXTRA_IMAGES": " ".join(extra)},
    )
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    sets["gateway.image.repository"] = (
        f"{REGISTRY}/{values['gateway']['image']['repository']}"
    )
    return release.stdout.strip().splitlines()[-1], sets


def test_helm_install_from_oci_pulls_every_image_from_the_local_registry(
    released: tuple[str, dict[str, str]], tmp_path
) -> None:
    chart_ref, sets = released
    version = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["version"]
    assert chart_ref == f"oci://{REGISTRY}/charts/tf-serving"
    namespace = f"oci-{uuid.uuid4().hex[:6]}"
    scenario = CHART_DIR / "ci" / "04-kind-hostpath-values.yaml"
    set_args = []
    for key, value in {
        **sets,
        "gateway.enabled": "true",
        # The demo release holds the scenario's fixed NodePorts.
        "service.type": "ClusterIP",
    }.items():
        set_args += [
            "--set-string" if key.endswith("tag") else "--set",
            f"{key}={value}",
        ]
    try:
        run(
            "helm", "install", "oci-release", chart_ref, "--version", version,
            "--plain-http", "--kube-context", CONTEXT, "--namespace", namespace,
            "--create-namespace", "--values", scenario, *set_args,
            "--wait", "--timeout", "10m",
        )  # fmt: skip
        test = subprocess.run(
            ["helm", "test", "oci-release", "--kube-context", CONTEXT,
             "--namespace", namespace, "--timeout", "3m"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        pods = json.loads(
            run(
                "kubectl", "--context", CONTEXT, "--namespace", namespace,
                "get", "pods", "-l", "app.kubernetes.io/instance=oci-release",
                "-o", "json",
            ).stdout
        )["items"]  # fmt: skip
    finally:
        subprocess.run(
            ["kubectl", "--context", CONTEXT, "delete", "namespace", namespace,
             "--wait=false"],
            capture_output=True, check=False,
        )  # fmt: skip
    assert test.returncode == 0, test.stdout + test.stderr
    pulled = {
        status["image"]: status["imageID"]
        for pod in pods
        for status in pod["status"].get("containerStatuses", [])
    }
    print(
        f"oci install of chart {version}: images and where the node got them {pulled}"
    )
    components = {pod["metadata"]["labels"]["app.kubernetes.io/name"] for pod in pods}
    assert {"tf-serving", "tf-serving-gateway"} <= components, components
    for image, image_id in pulled.items():
        if image.startswith(f"{REGISTRY}/"):
            assert image_id.startswith(f"{REGISTRY}/"), (image, image_id)
    assert f"{REGISTRY}/tfserving-gateway:" in " ".join(pulled), pulled
