"""Readiness that means "can serve", on the kind cluster (TF Serving STAND-IN image).

A release serves two models, fashion_mnist and a copy of it. The copy's served
version is taken out of models.config by a live config reload (the
`<fullname>-models` ConfigMap is patched, as tfs-rollout does; a `helm upgrade`
would change the layout check's arguments and roll the pod instead). The copy then
has no AVAILABLE version: its status still answers 200, its metadata 404. The pod
must leave the Service's endpoints (EndpointSlice `ready: false`) without a restart,
while fashion_mnist keeps answering on the pod (asked through the API server's pod
proxy); with the ConfigMap restored it must come back, still the same pod. Both
readiness designs run: the drain proxy's `/-/ready` monitor (default) and the bash
exec probe without the proxy. This is the chart on a real cluster with the stand-in,
never TensorFlow Serving itself.

Typical usage example:

    make e2e        # or, with the cluster up: pytest -m kind tests/e2e -k readiness

"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.conftest import MODEL_NAME, Release, Releases
from tests.e2e.kube import CHART_DIR, ApiProxy, Kube, wait_until
from tests.e2e.workload import make_readable, publish_version

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

SCENARIO = CHART_DIR / "ci" / "04-kind-hostpath-values.yaml"
COPY = "fashion_mnist_copy"
REST_PORT = 8501
MISSING_VERSION = "99"
# ConfigMap propagation (kubelet sync, up to about a minute) + config poll + probes.
TRANSITION_TIMEOUT_S = 240.0


def release_sets(release: Release, copy_versions: str = "{1}") -> dict[str, str]:
    return {
        "modelStorage.hostPath.path": str(release.models_dir),
        "service.type": "ClusterIP",
        "server.modelConfigPollSeconds": "5",
        "extraModels[0].name": COPY,
        "extraModels[0].versionPolicy": "specific",
        "extraModels[0].specificVersions": copy_versions,
    }


def rendered_models_config(
    kube: Kube, releases: Releases, release: Release, sets: dict[str, str]
) -> str:
    """models.config as the chart renders it for `sets` (helm template, no cluster)."""
    out = kube.helm(
        "template",
        release.name,
        str(CHART_DIR),
        "--namespace",
        release.namespace,
        *releases.helm_args(release, [SCENARIO], sets),
    ).stdout
    for doc in yaml.safe_load_all(out):
        if (
            doc
            and doc["kind"] == "ConfigMap"
            and doc["metadata"]["name"].endswith("-models")
        ):
            return doc["data"]["models.config"]
    raise AssertionError("the chart rendered no <fullname>-models ConfigMap")


def patch_models_config(kube: Kube, release: Release, text: str) -> None:
    kube.kubectl(
        "patch",
        "configmap",
        f"{release.name}-tf-serving-models",
        "--namespace",
        release.namespace,
        "--type",
        "merge",
        "-p",
        json.dumps({"data": {"models.config": text}}),
    )


def server_pod(kube: Kube, release: Release) -> dict:
    """The release's only model-server pod."""
    pods = json.loads(
        kube.kubectl(
            "get",
            "pods",
            "--namespace",
            release.namespace,
            "-l",
            f"app.kubernetes.io/instance={release.name},app.kubernetes.io/name=tf-serving",
            "-o",
            "json",
        ).stdout
    )["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 1, [p["metadata"]["name"] for p in live]
    return live[0]


def restarts(pod: dict) -> dict[str, int]:
    return {
        c["name"]: c["restartCount"] for c in pod["status"].get("containerStatuses", [])
    }


def http_status(url: str) -> int:
    """The status of GET url; 0 when nothing answers."""
    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return 0


@pytest.mark.parametrize(
    "drain_proxy", ["true", "false"], ids=["drain-proxy-monitor", "exec-probe"]
)
def test_pod_leaves_endpoints_while_a_model_has_no_available_version(
    kube: Kube,
    api: ApiProxy,
    releases: Releases,
    trained_models: dict[int, Path],
    drain_proxy: str,
    record_property,
) -> None:
    release = releases.new("readiness")
    publish_version(trained_models[1], release.base_path, 1)
    publish_version(trained_models[1], release.models_dir / COPY, 1)
    make_readable(release.models_dir)
    sets = {**release_sets(release), "drainProxy.enabled": drain_proxy}
    releases.install(release, [SCENARIO], sets)

    pod = server_pod(kube, release)
    name = pod["metadata"]["name"]
    before = restarts(pod)
    pod_url = api.pod_url(release.namespace, name, REST_PORT)
    copy_url = f"{pod_url}/v1/models/{COPY}"
    main_url = f"{pod_url}/v1/models/{MODEL_NAME}"
    service = f"{release.name}-tf-serving"

    def in_endpoints() -> bool | None:
        return kube.endpoint_ready(release.namespace, service, name)

    assert in_endpoints() is True
    assert http_status(f"{copy_url}/metadata") == 200

    served = rendered_models_config(kube, releases, release, sets)
    away = rendered_models_config(
        kube,
        releases,
        release,
        {**sets, "extraModels[0].specificVersions": "{" + MISSING_VERSION + "}"},
    )
    assert served != away and f"versions: {MISSING_VERSION}" in away

    patch_models_config(kube, release, away)
    left_s = wait_until(
        lambda: in_endpoints() is not True,
        f"{name} to leave the endpoints once {COPY} has no AVAILABLE version",
        TRANSITION_TIMEOUT_S,
    )
    # The gap the old probe had: status 200 for a model that cannot serve.
    assert http_status(copy_url) == 200
    assert http_status(f"{copy_url}/metadata") == 404
    assert http_status(f"{main_url}/metadata") == 200
    pod = server_pod(kube, release)
    assert pod["metadata"]["name"] == name, "the pod was replaced, not taken out"
    assert restarts(pod) == before, "liveness must not fail for a missing version"

    patch_models_config(kube, release, served)
    back_s = wait_until(
        lambda: in_endpoints() is True,
        f"{name} to come back once {COPY} is AVAILABLE again",
        TRANSITION_TIMEOUT_S,
    )
    assert http_status(f"{copy_url}/metadata") == 200
    pod = server_pod(kube, release)
    assert pod["metadata"]["name"] == name
    assert restarts(pod) == before

    summary = {"design": drain_proxy, "left_s": left_s, "back_s": back_s}
    (release.out_dir / "readiness.json").write_text(json.dumps(summary))
    print(f"readiness ({'proxy' if drain_proxy == 'true' else 'exec'}):", summary)
    record_property("left_endpoints_s", round(left_s, 1))
    record_property("back_in_endpoints_s", round(back_s, 1))
