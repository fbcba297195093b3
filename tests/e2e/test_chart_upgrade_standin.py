"""Upgrade from the previous chart release under load, TF Serving STAND-IN image.

What chart-testing's `ct install --upgrade` checks, with traffic: the previous release
(the chart at the last commit that changed its `version`, hack/verify/chart_releases.py)
is installed with its own ci/04-kind-hostpath scenario (2 replicas,
PodDisruptionBudget), then `helm upgrade` moves it to the working tree's chart with the
same values while two in-cluster load Jobs send REST and gRPC to the Service. Every
request must succeed and every old pod must be replaced. This runs the stand-in image,
never TensorFlow Serving.

Typical usage example:

    hack/make-rules/chart-testing.sh upgrade     # or: make e2e
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Release, Releases
from tests.e2e.kube import CHART_DIR, REPO_ROOT, Kube
from tests.e2e.workload import (
    assert_load_lost_nothing,
    describe_load,
    finish_load,
    load_argv,
    publish_version,
    start_load,
    wait_load_started,
)

sys.path.insert(0, str(REPO_ROOT / "hack" / "verify"))
import chart_releases  # noqa: E402

sys.path.pop(0)

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

SCENARIO_FILE = Path("ci") / "04-kind-hostpath-values.yaml"
SETS = {
    "replicaCount": "2",
    "podDisruptionBudget.enabled": "true",
    "service.type": "ClusterIP",
}
LOAD_RATE = 12.0
REST_CONNECTIONS = 4
# Covers the Job pods' start, the rolling update of 2 pods (preStop) and a margin.
LOAD_DURATION_S = 150.0
LOAD_START_TIMEOUT_S = 120.0


def chart_label(kube: Kube, release: Release) -> str:
    """helm.sh/chart of the release's server Deployment, e.g. tf-serving-0.4.0."""
    return kube.kubectl(
        "get",
        "deployment",
        "--namespace",
        release.namespace,
        "-l",
        f"app.kubernetes.io/instance={release.name},app.kubernetes.io/name=tf-serving",
        "-o",
        "jsonpath={.items[0].metadata.labels.helm\\.sh/chart}",
    ).stdout.strip()


def test_upgrade_from_previous_release_loses_no_request(
    kube: Kube,
    releases: Releases,
    trained_models: dict[int, Path],
    tmp_path: Path,
    record_property,
) -> None:
    """previous release -> working tree chart under REST and gRPC load: 0 failures."""
    previous = chart_releases.previous(CHART_DIR)
    previous_dir = chart_releases.extract(CHART_DIR, previous, tmp_path)
    current = chart_releases.current_version(CHART_DIR)
    release = releases.new("upgrade")
    publish_version(trained_models[1], release.base_path, 1)
    sets = {"modelStorage.hostPath.path": str(release.models_dir), **SETS}
    releases.install(release, [previous_dir / SCENARIO_FILE], sets, chart=previous_dir)
    assert chart_label(kube, release) == f"tf-serving-{previous.version}"
    old_pods = set(kube.pod_names(release.namespace, release.name))

    host = kube.service_host(release.namespace, release.name)
    request = release.base_path / "1" / "assets.extra" / "sample_request.json"
    image = f"tf-serving-client-tools:{kube.versions['CLIENT_TOOLS_TAG']}"
    loads = {}
    for protocol, target, connections in (
        ("rest", f"http://{host}:8501", REST_CONNECTIONS),
        ("grpc", f"{host}:8500", 1),
    ):
        out = release.out_dir / f"load-{protocol}"
        argv = load_argv(
            target,
            out,
            request,
            LOAD_RATE,
            LOAD_DURATION_S,
            protocol=protocol,
            connections=connections,
            in_cluster=release.namespace,
            image=image,
        )
        loads[protocol] = (start_load(argv, out, env=kube.env()), out)
    for proc, out in loads.values():
        wait_load_started(kube, out, proc, LOAD_START_TIMEOUT_S)
    sending = time.monotonic()

    took = releases.upgrade(release, [CHART_DIR / SCENARIO_FILE], sets)
    while old_pods & set(kube.pod_names(release.namespace, release.name)):
        assert time.monotonic() - sending < LOAD_DURATION_S - 5, "old pods stay"
        time.sleep(1)
    rolled = time.monotonic() - sending
    assert chart_label(kube, release) == f"tf-serving-{current}"
    record_property("upgrade_s", round(took, 1))
    print(
        f"standin chart upgrade {previous.version} ({previous.commit[:12]}) -> "
        f"{current}: helm upgrade --wait {took:.1f} s, old pods gone after "
        f"{rolled:.1f} s of load"
    )
    for protocol, (proc, out) in loads.items():
        summary = finish_load(proc, out, LOAD_DURATION_S)
        line = describe_load(summary)
        record_property(f"load_{protocol}", line)
        print(f"standin chart upgrade load {protocol}: {line}")
        assert_load_lost_nothing(summary)
