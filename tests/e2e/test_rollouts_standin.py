"""Rollouts under constant load on the offline cluster, TF Serving STAND-IN image.

One release (ci/04-kind-hostpath, 2 replicas, PodDisruptionBudget, preStop sleep)
takes a constant bounded REST load through its Service ClusterIP while each step
changes something; every step must lose no request:

    a. publish model version 2 into the volume: served by every pod within 30 s;
    b. publish a broken version 3: version 2 keeps serving, the smoke test shows
       the failed version;
    c. `helm upgrade` changing the server config: rolling update;
    d. delete a pod;
    e. 3 replicas with `grpc.maxConnectionAgeMs`: gRPC load through the ClusterIP
       reaches every pod (each >= 20% by its own request_count metric).

The steps run in file order on the shared release. This is the chart on a real
cluster with the stand-in image, never TensorFlow Serving itself.

Typical usage example:

    make e2e        # or, with the cluster up: pytest -m kind tests/e2e
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import MODEL_NAME, Release, Releases
from tests.e2e.kube import CHART_DIR, Kube, scrape_request_count
from tests.e2e.test_scenarios_standin import run_smoke
from tests.e2e.workload import (
    describe_load,
    finish_load,
    load_argv,
    publish_broken_version,
    publish_version,
    start_load,
)

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

SCENARIO = CHART_DIR / "ci" / "04-kind-hostpath-values.yaml"
REST_PORT = 8501
GRPC_PORT = 8500
METRICS_PATH = "/monitoring/prometheus/metrics"
LOAD_RATE = 20.0
NEW_VERSION_WITHIN_S = 30.0
POLL_S = 0.5
BASE_SETS = {
    "replicaCount": "2",
    "podDisruptionBudget.enabled": "true",
    "service.type": "ClusterIP",
}
GRPC_REPLICAS = 3
GRPC_MIN_SHARE = 0.20
GRPC_SETS = {
    "replicaCount": str(GRPC_REPLICAS),
    "grpc.maxConnectionAgeMs": "1000",
    "grpc.maxConnectionAgeGraceMs": "5000",
}


def version_states(pod_ip: str) -> dict[int, dict]:
    """version -> {"state", "error"} from one pod's REST model status."""
    url = f"http://{pod_ip}:{REST_PORT}/v1/models/{MODEL_NAME}"
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - pod IP
        body = json.load(resp)
    return {
        int(item["version"]): {
            "state": item["state"],
            "error": item.get("status", {}).get("error_message", ""),
        }
        for item in body.get("model_version_status", [])
    }


def wait_every_pod(
    kube: Kube,
    release: Release,
    condition: Callable[[dict[int, dict]], bool],
    timeout_s: float,
) -> float:
    """Seconds until `condition` holds on every Ready pod; fails with the states."""
    started = time.monotonic()
    states: dict[str, object] = {}
    while time.monotonic() - started < timeout_s:
        pods = kube.ready_pods(release.namespace, release.name)
        try:
            states = {name: version_states(ip) for name, ip in pods.items()}
        except (OSError, urllib.error.URLError, ValueError) as err:
            states = {"error": str(err)}
        else:
            if pods and all(condition(s) for s in states.values()):
                return time.monotonic() - started
        time.sleep(POLL_S)
    pytest.fail(f"not reached within {timeout_s} s; pod version states: {states}")


def rest_load(kube: Kube, release: Release, name: str, duration: float):
    """Starts a constant REST load through the Service ClusterIP -> (proc, dir)."""
    out = release.out_dir / name
    cluster_ip = kube.service_cluster_ip(release.namespace, release.name)
    request = release.base_path / "1" / "assets.extra" / "sample_request.json"
    argv = load_argv(
        f"http://{cluster_ip}:{REST_PORT}", out, request, LOAD_RATE, duration
    )
    return start_load(argv, out), out


def assert_no_failed_request(summary: dict, record: Callable, step: str) -> None:
    """The load run completed and every request it sent succeeded."""
    line = describe_load(summary)
    record(f"load_{step}", line)
    print(f"standin rollout step {step}: {line}")
    counts = summary.get("counts", {})
    assert counts.get("sent", 0) > 0, summary["log"]
    assert counts.get("errors") == 0, line
    assert counts.get("ok") == counts.get("sent"), line
    assert summary["exit_code"] == 0, summary["log"]


@pytest.fixture(scope="module")
def rollout(
    kube: Kube, module_releases: Releases, trained_models: dict[int, Path]
) -> Release:
    """The shared release: version 1 on a hostPath volume, 2 replicas, PDB."""
    release = module_releases.new("rollouts")
    publish_version(trained_models[1], release.base_path, 1)
    sets = {"modelStorage.hostPath.path": str(release.models_dir), **BASE_SETS}
    module_releases.install(release, [SCENARIO], sets)
    return release


def test_a_new_version_is_served_within_30s(
    kube: Kube, rollout: Release, trained_models: dict[int, Path], record_property
) -> None:
    """Publishing version 2 under load: every pod serves it in time, 0 failures."""
    proc, out = rest_load(kube, rollout, "a-publish-v2", duration=40)
    time.sleep(5)
    publish_version(trained_models[2], rollout.base_path, 2)
    took = wait_every_pod(
        kube,
        rollout,
        lambda s: s.get(2, {}).get("state") == "AVAILABLE",
        NEW_VERSION_WITHIN_S,
    )
    record_property("v2_served_after_s", round(took, 1))
    print(f"standin rollout step a: version 2 served by every pod after {took:.1f} s")
    assert_no_failed_request(finish_load(proc, out, 40), record_property, "a")


def test_b_broken_version_keeps_the_previous_one(
    kube: Kube, rollout: Release, trained_models: dict[int, Path], record_property
) -> None:
    """A broken version 3 fails to load; version 2 keeps serving; smoke shows it."""
    proc, out = rest_load(kube, rollout, "b-broken-v3", duration=30)
    time.sleep(3)
    publish_broken_version(trained_models[2], rollout.base_path, 3)
    try:
        took = wait_every_pod(
            kube,
            rollout,
            lambda s: (
                s.get(3, {}).get("state") == "END"
                and bool(s[3]["error"])
                and s.get(2, {}).get("state") == "AVAILABLE"
            ),
            NEW_VERSION_WITHIN_S,
        )
        smoke = run_smoke(
            kube,
            rollout.name,
            rollout.namespace,
            rollout.base_path,
            out / "smoke.json",
            "--fail-on-version-errors",
        )
        (out / "smoke.txt").write_text(smoke.stdout + smoke.stderr)
        summary = finish_load(proc, out, 30)
    finally:
        # Later steps start new pods, which must not meet the broken version.
        shutil.rmtree(rollout.base_path / "3", ignore_errors=True)
    print(f"standin rollout step b: version 3 failed on every pod after {took:.1f} s")
    report = json.loads((out / "smoke.json").read_text())
    checks = {c["name"]: c for c in report["checks"]}
    assert smoke.returncode == 1, "--fail-on-version-errors must fail on version 3"
    assert checks["versions.failed"]["status"] == "fail", checks["versions.failed"]
    assert checks["versions.failed"]["detail"].startswith("v3 "), checks
    assert "v3 " in smoke.stdout, smoke.stdout
    for name in ("rest.predict.row", "grpc.predict"):
        assert checks[name]["status"] == "pass", checks[name]
    assert checks["grpc.predict"]["detail"].startswith("v2:"), checks["grpc.predict"]
    assert_no_failed_request(summary, record_property, "b")


def test_c_helm_upgrade_loses_no_request(
    kube: Kube, rollout: Release, module_releases: Releases, record_property
) -> None:
    """A config change rolls both pods (maxUnavailable 0, PDB, preStop): 0 failures."""
    duration = 150.0
    proc, out = rest_load(kube, rollout, "c-helm-upgrade", duration=duration)
    time.sleep(5)
    sets = {
        "modelStorage.hostPath.path": str(rollout.models_dir),
        **BASE_SETS,
        "server.restApiTimeoutMs": "20000",
    }
    took = module_releases.upgrade(rollout, [SCENARIO], sets)
    record_property("upgrade_s", round(took, 1))
    print(f"standin rollout step c: helm upgrade --wait took {took:.1f} s")
    assert took + 5 < duration, "the load window must cover the whole rollout"
    assert_no_failed_request(finish_load(proc, out, duration), record_property, "c")


def test_d_pod_deletion_loses_no_request(
    kube: Kube, rollout: Release, record_property
) -> None:
    """Deleting one of two pods under load: 0 failures; a replacement gets Ready."""
    duration = 60.0
    proc, out = rest_load(kube, rollout, "d-delete-pod", duration=duration)
    time.sleep(5)
    victim = sorted(kube.ready_pods(rollout.namespace, rollout.name))[0]
    kube.kubectl("delete", "pod", victim, "-n", rollout.namespace, "--wait=false")
    started = time.monotonic()
    while time.monotonic() - started < duration - 10:
        pods = kube.ready_pods(rollout.namespace, rollout.name)
        if len(pods) == 2 and victim not in pods:
            break
        time.sleep(1)
    took = time.monotonic() - started
    print(f"standin rollout step d: 2 Ready pods again after {took:.1f} s")
    assert victim not in pods and len(pods) == 2, pods
    assert_no_failed_request(finish_load(proc, out, duration), record_property, "d")


def test_e_grpc_reaches_every_replica(
    kube: Kube, rollout: Release, module_releases: Releases, record_property
) -> None:
    """3 replicas, max connection age: each pod serves >= 20% of a gRPC load."""
    sets = {
        "modelStorage.hostPath.path": str(rollout.models_dir),
        **BASE_SETS,
        "server.restApiTimeoutMs": "20000",
        **GRPC_SETS,
    }
    module_releases.upgrade(rollout, [SCENARIO], sets)
    pods = kube.ready_pods(rollout.namespace, rollout.name)
    assert len(pods) == GRPC_REPLICAS, pods

    def counts() -> dict[str, int]:
        return {
            name: scrape_request_count(ip, REST_PORT, METRICS_PATH, MODEL_NAME)
            for name, ip in pods.items()
        }

    before = counts()
    duration = 30.0
    out = rollout.out_dir / "e-grpc-balance"
    cluster_ip = kube.service_cluster_ip(rollout.namespace, rollout.name)
    request = rollout.base_path / "1" / "assets.extra" / "sample_request.json"
    argv = load_argv(
        f"{cluster_ip}:{GRPC_PORT}",
        out,
        request,
        rate=30.0,
        duration=duration,
        protocol="grpc",
        connections=4,
    )
    summary = finish_load(start_load(argv, out), out, duration)
    after = counts()
    served = {name: after[name] - before[name] for name in pods}
    total = sum(served.values())
    shares = {name: round(n / total, 3) for name, n in served.items()} if total else {}
    record_property("grpc_shares", shares)
    print(f"standin rollout step e: gRPC requests per pod {served}, shares {shares}")
    assert_no_failed_request(summary, record_property, "e")
    assert total >= summary["counts"]["ok"], (served, summary["counts"])
    assert min(shares.values()) >= GRPC_MIN_SHARE, shares
