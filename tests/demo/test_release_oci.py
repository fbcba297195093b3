"""The release path users install from, on `make demo`'s kind cluster: oci:// and pulls.

hack/make-rules/local-registry.sh runs the CNCF distribution registry (built from the Go
module proxy) on 127.0.0.1:5001 and points the kind node at it, kind's local-registry
pattern; hack/make-rules/release.sh pushes the chart and the app images as the
tag-triggered release workflow does. `helm install` from oci:// then starts a release
whose pods the node pulls from that registry (imageID localhost:5001/...), not from
`kind load`. The images the demo release runs are pushed too; on a machine without a
registry that is the TF Serving STAND-IN, so this proves the chart's release path, not
TF Serving.
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
HELM = REPO_ROOT / "bin" / "helm"
KIND = REPO_ROOT / "bin" / "kind"
# Images of the demo's release that follow it into the registry, by values key.
IMAGE_KEYS = ("image", "drainProxy.image", "testFramework.image")


def run(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    """Runs a command; a failure shows its output."""
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, check=False, **kwargs
    )
    assert proc.returncode == 0, (
        f"{argv} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


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
            HELM, "get", "values", "tf-serving", "--kube-context", CONTEXT,
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
    run(REPO_ROOT / "hack" / "build" / "app-images.sh")
    run(
        REPO_ROOT / "hack" / "make-rules" / "local-registry.sh", "up", "--name", CLUSTER
    )
    release = run(
        REPO_ROOT / "hack" / "make-rules" / "release.sh",
        REGISTRY,
        env={**os.environ, "EXTRA_IMAGES": " ".join(extra)},
    )
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    gateway = values["gateway"]["image"]
    sets["gateway.image.repository"] = f"{REGISTRY}/{gateway['repository']}"
    sets["gateway.image.tag"] = str(gateway["tag"])
    return release.stdout.strip().splitlines()[-1], sets


def kind_nodes() -> list[str]:
    return run(KIND, "get", "nodes", "--name", CLUSTER).stdout.split()


def forget_registry_images() -> None:
    """Removes every localhost:5001 image from the nodes, so the install must pull."""
    for node in kind_nodes():
        run(
            "docker", "exec", node, "sh", "-c",
            f"ctr -n k8s.io images ls -q | grep '^{REGISTRY}/' "
            "| xargs -r ctr -n k8s.io images rm",
        )  # fmt: skip


def pulled_images() -> set[str]:
    """name:tag of each registry image a node holds with its registry digest.

    containerd records `<name>@sha256:...` only for an image pulled from a registry
    (`kind load` imports have none)."""
    held: set[str] = set()
    for node in kind_nodes():
        held |= set(
            run(
                "docker", "exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q"
            ).stdout.split()
        )
    digested = {ref.split("@")[0] for ref in held if "@sha256:" in ref}
    return {ref for ref in held if "@" not in ref and ref.rsplit(":", 1)[0] in digested}


def test_helm_install_from_oci_pulls_every_image_from_the_local_registry(
    released: tuple[str, dict[str, str]],
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
    registry_refs = [
        f"{sets[key]}:{sets[key.replace('repository', 'tag')]}"
        for key in sets
        if key.endswith(".repository") and key.replace("repository", "tag") in sets
    ]
    forget_registry_images()
    try:
        run(
            HELM, "install", "oci-release", chart_ref, "--version", version,
            "--plain-http", "--kube-context", CONTEXT, "--namespace", namespace,
            "--create-namespace", "--values", scenario, *set_args,
            "--wait", "--timeout", "10m",
        )  # fmt: skip
        test = subprocess.run(
            [HELM, "test", "oci-release", "--kube-context", CONTEXT,
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
        pulled = pulled_images()
    finally:
        subprocess.run(
            ["kubectl", "--context", CONTEXT, "delete", "namespace", namespace,
             "--wait=false"],
            capture_output=True, check=False,
        )  # fmt: skip
    assert test.returncode == 0, test.stdout + test.stderr
    requested = {
        container["image"]
        for pod in pods
        for container in pod["spec"].get("initContainers", [])
        + pod["spec"]["containers"]
    }
    print(
        f"oci install of chart {version} from {chart_ref}: images {sorted(requested)}; "
        f"pulled by the node {sorted(pulled)}"
    )
    components = {pod["metadata"]["labels"]["app.kubernetes.io/name"] for pod in pods}
    assert {"tf-serving", "tf-serving-gateway"} <= components, components
    from_registry = {image for image in requested if image.startswith(f"{REGISTRY}/")}
    # The server, its sidecar, the gateway and the helm test pod: all pulled from there.
    assert from_registry <= set(registry_refs) <= pulled, (registry_refs, pulled)
    assert any("tfserving-gateway" in ref for ref in from_registry), from_registry
