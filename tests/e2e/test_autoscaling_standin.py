"""The chart's HPA for real, on the kind cluster (TF Serving STAND-IN image).

metrics-server (built from the Go module proxy, tests/e2e/manifests/metrics-server.yaml)
serves the resource metrics API; the chart's HorizontalPodAutoscaler scales the
release on CPU (tests/e2e/values/autoscaling-values.yaml: 1 to 3 replicas). Two
in-cluster load Jobs send REST to the Service: a light one for the whole test, and
a pressure one for its first part. Under pressure the HPA must reach its maximum and
every new pod become Ready; once the pressure ends it must come back to its minimum.
Both Jobs must see 0 failed requests, while pods are added and while they are
removed (preStop and the drain proxy, as in a rolling update). The times go to the
test's output and its JUnit properties. This is the chart on a real cluster with the
stand-in, never TensorFlow Serving itself.

Typical usage example:

    make e2e        # or, with the cluster up: pytest -m kind tests/e2e -k autoscaling

"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Release, Releases
from tests.e2e.kube import CHART_DIR, Kube, wait_until
from tests.e2e.workload import (
    assert_load_lost_nothing,
    describe_load,
    finish_load,
    publish_version,
    start_service_load,
)

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

SCENARIO = CHART_DIR / "ci" / "04-kind-hostpath-values.yaml"
AUTOSCALING_VALUES = Path(__file__).parent / "values" / "autoscaling-values.yaml"
# The server's CPU request; with the drain proxy's 20m the pod asks for 50m, and the
# HPA's 40% target is 20m a pod: the stand-in idles far below it and the pressure
# load puts one pod far above it.
SETS = {"service.type": "ClusterIP", "resources.requests.cpu": "30m"}
MIN_REPLICAS, MAX_REPLICAS = 1, 3
PRESSURE_RATE, PRESSURE_S = 40.0, 150.0
LIGHT_RATE = 2.0
# The light load outlasts the pressure by the scale-down: metrics (10 s resolution),
# the HPA's 15 s sync, its 20 s stabilization window and the pods' preStop.
SCALE_DOWN_BUDGET_S = 150.0
METRICS_TIMEOUT_S = 120.0


def hpa_status(kube: Kube, release: Release) -> dict:
    """The release's HPA status: replicas and the CPU utilisation it last saw."""
    hpa = json.loads(
        kube.kubectl(
            "get",
            "hpa",
            f"{release.name}-tf-serving",
            "--namespace",
            release.namespace,
            "-o",
            "json",
        ).stdout
    )
    status = hpa.get("status", {})
    cpu = [
        m["resource"]["current"].get("averageUtilization")
        for m in status.get("currentMetrics") or []
        if m.get("type") == "Resource"
    ]
    return {
        "current": status.get("currentReplicas", 0),
        "desired": status.get("desiredReplicas", 0),
        "cpu_percent": cpu[0] if cpu else None,
    }


def pod_metrics_listed(kube: Kube, release: Release) -> bool:
    """Whether metrics.k8s.io lists a usage for every server pod of the release."""
    proc = kube.kubectl(
        "get",
        "--raw",
        f"/apis/metrics.k8s.io/v1beta1/namespaces/{release.namespace}/pods",
        check=False,
    )
    if proc.returncode != 0:
        return False
    listed = {item["metadata"]["name"] for item in json.loads(proc.stdout)["items"]}
    pods = set(kube.ready_pods(release.namespace, release.name))
    return bool(pods) and pods <= listed


def settled(kube: Kube, release: Release, replicas: int) -> bool:
    """`replicas` server pods, all Ready, none terminating, and the HPA agrees."""
    pods = kube.pod_names(release.namespace, release.name)
    ready = kube.ready_pods(release.namespace, release.name)
    status = hpa_status(kube, release)
    return len(pods) == len(ready) == replicas == status["current"]


def assert_no_failure(name: str, summary: dict, record_property) -> None:
    record_property(f"load_{name}", describe_load(summary))
    print(f"standin autoscaling load {name}: {describe_load(summary)}")
    assert_load_lost_nothing(summary)


def test_hpa_scales_up_under_load_and_back_down_losing_nothing(
    kube: Kube,
    releases: Releases,
    trained_models: dict[int, Path],
    record_property,
) -> None:
    # make e2e installs metrics-server and waits for it to serve node metrics.
    wait_until(lambda: kube.has_api("metrics.k8s.io"), "the metrics.k8s.io API", 60)
    release = releases.new("hpa")
    publish_version(trained_models[1], release.base_path, 1)
    sets = {"modelStorage.hostPath.path": str(release.models_dir), **SETS}
    releases.install(release, [SCENARIO, AUTOSCALING_VALUES], sets)
    metrics_s = wait_until(
        lambda: pod_metrics_listed(kube, release),
        "metrics.k8s.io to list the server pod",
        METRICS_TIMEOUT_S,
    )
    first_reading_s = wait_until(
        lambda: hpa_status(kube, release)["cpu_percent"] is not None,
        "the HPA's first CPU reading",
        METRICS_TIMEOUT_S,
    )
    before = hpa_status(kube, release)
    assert before["current"] == MIN_REPLICAS, before

    light = start_service_load(
        kube, release, "light", LIGHT_RATE, PRESSURE_S + SCALE_DOWN_BUDGET_S
    )
    pressure = start_service_load(kube, release, "pressure", PRESSURE_RATE, PRESSURE_S)
    pressed = time.monotonic()
    readings = []

    def scaled_up() -> bool:
        readings.append(hpa_status(kube, release)["cpu_percent"] or 0)
        return settled(kube, release, MAX_REPLICAS)

    up_s = wait_until(scaled_up, f"{MAX_REPLICAS} Ready replicas", PRESSURE_S - 10)
    assert_no_failure("pressure", finish_load(*pressure, PRESSURE_S), record_property)
    released = time.monotonic()
    down_s = wait_until(
        lambda: settled(kube, release, MIN_REPLICAS),
        f"{MIN_REPLICAS} replica after the pressure",
        SCALE_DOWN_BUDGET_S - 10,
    )
    assert_no_failure(
        "light",
        finish_load(*light, PRESSURE_S + SCALE_DOWN_BUDGET_S),
        record_property,
    )
    times = {
        "metrics_listed_s": round(metrics_s, 1),
        "first_hpa_reading_s": round(first_reading_s, 1),
        "idle_cpu_percent": before["cpu_percent"],
        "peak_cpu_percent": max(readings),
        "scale_up_s": round(up_s, 1),
        "pressure_end_to_min_s": round(down_s, 1),
        "pressure_total_s": round(released - pressed, 1),
    }
    for key, value in times.items():
        record_property(key, value)
    span = f"{MIN_REPLICAS}->{MAX_REPLICAS}->{MIN_REPLICAS}"
    print(f"standin autoscaling {span}: {times}")
