"""Rollouts under constant load on the kind cluster, TF Serving STAND-IN image.

The stand-in shuts down like tensorflow_model_server: SIGTERM kills it at once and
every connection still open to it is reset. One release (ci/04-kind-hostpath, 2
replicas, PodDisruptionBudget) takes several constant, bounded loads at the same
time, one per client setup, while each step changes something:

    a. publish model version 2 into the volume: served by every pod within 30 s;
    b. publish a broken version 3: version 2 keeps serving, the smoke test shows
       the failed version;
    c. `helm upgrade` changing the server config: rolling update;
    d. delete a pod;
    e. scale down from 2 replicas to 1;
    f. 3 replicas with a short `server.grpc.maxConnectionAgeMs`: gRPC load through the
       Service reaches every pod (each >= 20% by its own request_count metric).

Every load is a `tfs-load run --in-cluster` Job aimed at a Service, as users'
in-cluster clients are; each step's change starts once every Job is sending.
Per-pod model states and request counters are read through the API server's
pod proxy.

Client setups (E2E_ROLLOUT_DESIGN picks the chart; "designed", the default, is
what CI runs; "baseline" measures the chart without its shutdown mechanisms):

    designed  rest-proxy-naive   REST through the Service (drain proxy), keep-alive,
                                 no retry: 0 failed requests
              rest-direct-naive  REST straight to the server's port (no proxy), no
                                 retry: at most CONNECTIONS failed per stopped pod
              rest-direct-retry  the same with the load tester's retry-once mode:
                                 0 failed requests, retries counted
              grpc-age-naive     gRPC through the Service, maxConnectionAge on, no
                                 retry: 0 failed requests
    baseline  rest-service-naive / grpc-service-naive: at most the naive bound;
              rest-service-retry / grpc-service-retry: 0 failed requests

Zero is asserted only for setups designed to lose nothing; naive ones are held to
the bound their mechanism gives. Every step writes its numbers to
out/e2e/<namespace>/rollout-table.jsonl. This is the chart on a real cluster with
the stand-in image, never TensorFlow Serving itself.

Typical usage example:

    make e2e        # or, with the cluster up: pytest -m kind tests/e2e -k rollouts
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import MODEL_NAME, Release, Releases
from tests.e2e.kube import CHART_DIR, ApiProxy, Kube, scrape_request_count
from tests.e2e.test_scenarios_standin import run_smoke
from tests.e2e.workload import (
    describe_load,
    finish_load,
    load_argv,
    publish_broken_version,
    publish_version,
    start_load,
    wait_load_started,
)

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

SCENARIO = CHART_DIR / "ci" / "04-kind-hostpath-values.yaml"
REST_PORT = 8501
GRPC_PORT = 8500
DIRECT_SERVICE = "direct-server"
METRICS_PATH = "/monitoring/prometheus/metrics"
LOAD_RATE = 12.0
# Connections per REST load: a naive keep-alive client loses at most one request per
# connection to a pod that dies (the one in flight, or one sent on the reset socket).
CONNECTIONS = 4
NEW_VERSION_WITHIN_S = 30.0
POLL_S = 0.5
# Pod start and imports of the client tools image, several Jobs at once on 2 cores.
LOAD_START_TIMEOUT_S = 180.0
# Each Job runs this much longer than its step, so the one that started sending
# first still covers the step's whole `duration` after the last one started.
LOAD_START_SLACK_S = 40.0
# Four 12 req/s Jobs next to up to 3 server pods on one 2-CPU node: the default
# 500m request each would leave some Pending (Insufficient cpu).
LOAD_CPU_REQUEST = "100m"
BASE_SETS = {
    "replicaCount": "2",
    "podDisruptionBudget.enabled": "true",
    "service.type": "ClusterIP",
}
GRPC_REPLICAS = 3
GRPC_MIN_SHARE = 0.20
GRPC_SETS = {
    "replicaCount": str(GRPC_REPLICAS),
    "server.grpc.maxConnectionAgeMs": "1000",
    "server.grpc.maxConnectionAgeGraceMs": "5000",
}


@dataclasses.dataclass(frozen=True)
class Setup:
    """One client setup: protocol, path to the pods, retry mode, what it promises."""

    name: str
    protocol: str
    direct: bool
    retry: bool
    zero_loss: bool


DESIGNS: dict[str, tuple[dict[str, str], tuple[Setup, ...]]] = {
    "designed": (
        {},
        (
            Setup("rest-proxy-naive", "rest", False, False, True),
            Setup("rest-direct-naive", "rest", True, False, False),
            Setup("rest-direct-retry", "rest", True, True, True),
            Setup("grpc-age-naive", "grpc", False, False, True),
        ),
    ),
    "baseline": (
        {
            "drainProxy.enabled": "false",
            "server.grpc.maxConnectionAgeMs": "0",
            "server.grpc.maxConnectionAgeGraceMs": "0",
        },
        (
            Setup("rest-service-naive", "rest", False, False, False),
            Setup("rest-service-retry", "rest", False, True, True),
            Setup("grpc-service-naive", "grpc", False, False, False),
            Setup("grpc-service-retry", "grpc", False, True, True),
        ),
    ),
}
DESIGN = os.environ.get("E2E_ROLLOUT_DESIGN", "designed")
if DESIGN not in DESIGNS:
    raise ValueError(f"E2E_ROLLOUT_DESIGN={DESIGN!r}: use one of {sorted(DESIGNS)}")
DESIGN_SETS, SETUPS = DESIGNS[DESIGN]


def naive_bound(setup: Setup, stopped_pods: int) -> int:
    """Most failed requests a naive setup may have when `stopped_pods` pods die."""
    if setup.protocol == "rest":
        return CONNECTIONS * stopped_pods
    # One channel multiplexes every in-flight call; bound them by a second of load.
    return int(LOAD_RATE) * stopped_pods


def version_states(pod_url: str) -> dict[int, dict]:
    """version -> {"state", "error"} from one pod's REST model status."""
    resp = requests.get(f"{pod_url}/v1/models/{MODEL_NAME}", timeout=5)
    resp.raise_for_status()
    return {
        int(item["version"]): {
            "state": item["state"],
            "error": item.get("status", {}).get("error_message", ""),
        }
        for item in resp.json().get("model_version_status", [])
    }


def wait_every_pod(
    kube: Kube,
    api: ApiProxy,
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
            states = {
                name: version_states(api.pod_url(release.namespace, name, REST_PORT))
                for name in pods
            }
        except (requests.RequestException, ValueError) as err:
            states = {"error": str(err)}
        else:
            if pods and all(condition(s) for s in states.values()):
                return time.monotonic() - started
        time.sleep(POLL_S)
    pytest.fail(f"not reached within {timeout_s} s; pod version states: {states}")


def release_sets(release: Release, **extra: str) -> dict[str, str]:
    """--set pairs of the shared release: volume, base sets, the design, extras."""
    return {
        "modelStorage.hostPath.path": str(release.models_dir),
        **BASE_SETS,
        **DESIGN_SETS,
        **extra,
    }


def create_direct_service(kube: Kube, release: Release) -> None:
    """A Service to the server's own REST port, past the drain proxy (designed only)."""
    selector = kube.kubectl(
        "get",
        "deployment",
        "--namespace",
        release.namespace,
        "-l",
        f"app.kubernetes.io/instance={release.name}",
        "-o",
        "jsonpath={.items[0].spec.selector.matchLabels}",
    ).stdout
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": DIRECT_SERVICE, "namespace": release.namespace},
        "spec": {
            "selector": json.loads(selector),
            "ports": [{"name": "http", "port": REST_PORT, "targetPort": "server-http"}],
        },
    }
    path = release.out_dir / "direct-service.json"
    path.write_text(json.dumps(service))
    kube.kubectl("apply", "-f", str(path))


def service_host(kube: Kube, release: Release, direct: bool) -> str:
    """In-cluster name of the release's Service, or of the direct one."""
    if not direct:
        return kube.service_host(release.namespace, release.name)
    return f"{DIRECT_SERVICE}.{release.namespace}.svc"


def client_image(kube: Kube) -> str:
    """The client tools image the load Jobs run."""
    return f"tf-serving-client-tools:{kube.versions['CLIENT_TOOLS_TAG']}"


def wait_pods_gone(kube: Kube, release: Release, gone: set[str], timeout_s: float):
    """Waits until none of `gone` exists any more (their preStop and death are over)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        left = gone & set(kube.pod_names(release.namespace, release.name))
        if not left:
            return time.monotonic() - started
        time.sleep(1)
    pytest.fail(f"pods {sorted(left)} still exist after {timeout_s} s")


def assert_prestop_hooks_succeeded(kube: Kube, release: Release) -> None:
    """No FailedPreStopHook event: e.g. the drain proxy's SIGUSR1 reached HAProxy."""
    events = kube.kubectl(
        "get",
        "events",
        "--namespace",
        release.namespace,
        "--field-selector",
        "reason=FailedPreStopHook",
        "-o",
        "jsonpath={range .items[*]}{.involvedObject.name}: {.message}{'\\n'}{end}",
    ).stdout.strip()
    assert not events, f"preStop hooks failed:\n{events}"


class Traffic:
    """Every setup's load as an in-cluster Job, sending before the step's change."""

    def __init__(self, kube: Kube, release: Release, step: str, duration: float):
        self.step, self.duration, self.release = step, duration, release
        self.kube = kube
        request = release.base_path / "1" / "assets.extra" / "sample_request.json"
        self.runs = {}
        for setup in SETUPS:
            out = release.out_dir / step / setup.name
            host = service_host(kube, release, setup.direct)
            if setup.protocol == "rest":
                target = f"http://{host}:{REST_PORT}"
            else:
                target = f"{host}:{GRPC_PORT}"
            argv = load_argv(
                target,
                out,
                request,
                LOAD_RATE,
                duration + LOAD_START_SLACK_S,
                protocol=setup.protocol,
                connections=CONNECTIONS if setup.protocol == "rest" else 1,
                max_error_rate=0.0 if setup.zero_loss else 1.0,
                retry_connection_errors=setup.retry,
                in_cluster=release.namespace,
                image=client_image(kube),
                cpu_request=LOAD_CPU_REQUEST,
            )
            self.runs[setup] = (start_load(argv, out, env=kube.env()), out)
        started = time.monotonic()
        for proc, out in self.runs.values():
            wait_load_started(kube, out, proc, LOAD_START_TIMEOUT_S)
        # An upper bound of the gap between the first and the last Job's start.
        self.start_spread_s = time.monotonic() - started
        print(
            f"standin rollout step {step}: every load sending after "
            f"{self.start_spread_s:.1f} s"
        )
        assert self.start_spread_s < LOAD_START_SLACK_S + 1, (
            f"the loads started {self.start_spread_s:.0f} s apart, more than the "
            f"{LOAD_START_SLACK_S:.0f} s slack: the first ones may end too early"
        )

    def finish(self, record: Callable, stopped_pods: int) -> dict[str, dict]:
        """Waits for every load; records the table row; asserts each promise."""
        summaries = {
            setup: finish_load(proc, out, self.duration + LOAD_START_SLACK_S)
            for setup, (proc, out) in self.runs.items()
        }
        rows = []
        for setup, summary in summaries.items():
            counts = summary.get("counts", {})
            line = describe_load(summary)
            record(f"load_{self.step}_{setup.name}", line)
            print(f"standin rollout step {self.step} [{DESIGN}] {setup.name}: {line}")
            rows.append(
                {
                    "design": DESIGN,
                    "step": self.step,
                    "setup": setup.name,
                    "stopped_pods": stopped_pods,
                    "sent": counts.get("sent"),
                    "ok": counts.get("ok"),
                    "errors": counts.get("errors"),
                    "retried": counts.get("retried"),
                    "errors_by_kind": summary.get("errors_by_kind"),
                }
            )
        with (self.release.out_dir / "rollout-table.jsonl").open("a") as table:
            table.writelines(json.dumps(row) + "\n" for row in rows)
        if stopped_pods:
            assert_prestop_hooks_succeeded(self.kube, self.release)
        for setup, summary in summaries.items():
            counts = summary.get("counts", {})
            line = f"{setup.name}: {describe_load(summary)}"
            assert counts.get("sent", 0) > 0, summary["log"]
            if setup.zero_loss:
                assert counts.get("errors") == 0, line
                assert counts.get("ok") == counts.get("sent"), line
                assert summary["exit_code"] == 0, summary["log"]
            else:
                bound = naive_bound(setup, stopped_pods)
                assert counts.get("errors", 0) <= bound, f"bound {bound}: {line}"
        return {setup.name: s for setup, s in summaries.items()}


@pytest.fixture(scope="module")
def rollout(
    kube: Kube, module_releases: Releases, trained_models: dict[int, Path]
) -> Release:
    """The shared release: version 1 on a hostPath volume, 2 replicas, PDB."""
    release = module_releases.new("rollouts")
    publish_version(trained_models[1], release.base_path, 1)
    module_releases.install(release, [SCENARIO], release_sets(release))
    if any(setup.direct for setup in SETUPS):
        create_direct_service(kube, release)
    return release


def test_a_new_version_is_served_within_30s(
    kube: Kube,
    api: ApiProxy,
    rollout: Release,
    trained_models: dict[int, Path],
    record_property,
) -> None:
    """Publishing version 2 under load: every pod serves it in time, 0 failures."""
    traffic = Traffic(kube, rollout, "a-publish-v2", duration=40)
    time.sleep(5)
    publish_version(trained_models[2], rollout.base_path, 2)
    took = wait_every_pod(
        kube,
        api,
        rollout,
        lambda s: s.get(2, {}).get("state") == "AVAILABLE",
        NEW_VERSION_WITHIN_S,
    )
    record_property("v2_served_after_s", round(took, 1))
    print(f"standin rollout step a: version 2 served by every pod after {took:.1f} s")
    traffic.finish(record_property, stopped_pods=0)


def test_b_broken_version_keeps_the_previous_one(
    kube: Kube,
    api: ApiProxy,
    rollout: Release,
    trained_models: dict[int, Path],
    record_property,
) -> None:
    """A broken version 3 fails to load; version 2 keeps serving; smoke shows it."""
    traffic = Traffic(kube, rollout, "b-broken-v3", duration=30)
    out = rollout.out_dir / "b-broken-v3"
    time.sleep(3)
    publish_broken_version(trained_models[2], rollout.base_path, 3)
    try:
        took = wait_every_pod(
            kube,
            api,
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
        traffic.finish(record_property, stopped_pods=0)
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


def test_c_helm_upgrade_loses_no_request(
    kube: Kube, rollout: Release, module_releases: Releases, record_property
) -> None:
    """A config change rolls both pods (maxUnavailable 0, PDB, preStop)."""
    duration = 120.0
    old = set(kube.pod_names(rollout.namespace, rollout.name))
    traffic = Traffic(kube, rollout, "c-helm-upgrade", duration=duration)
    started = time.monotonic()
    time.sleep(5)
    sets = release_sets(rollout, **{"server.restApiTimeoutMs": "20000"})
    took = module_releases.upgrade(rollout, [SCENARIO], sets)
    wait_pods_gone(kube, rollout, old, duration - (time.monotonic() - started))
    record_property("upgrade_s", round(took, 1))
    print(f"standin rollout step c: helm upgrade --wait took {took:.1f} s")
    assert time.monotonic() - started + 3 < duration, "the load must cover the rollout"
    traffic.finish(record_property, stopped_pods=len(old))


def test_d_pod_deletion_loses_no_request(
    kube: Kube, rollout: Release, record_property
) -> None:
    """Deleting one of two pods under load; a replacement gets Ready."""
    duration = 60.0
    traffic = Traffic(kube, rollout, "d-delete-pod", duration=duration)
    time.sleep(5)
    victim = kube.ready_pods(rollout.namespace, rollout.name)[0]
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
    wait_pods_gone(kube, rollout, {victim}, duration - 10 - took)
    traffic.finish(record_property, stopped_pods=1)


def test_e_scale_down_loses_no_request(
    kube: Kube, rollout: Release, record_property
) -> None:
    """Scaling 2 -> 1 replica under load: the removed pod takes no request down."""
    duration = 45.0
    before = set(kube.pod_names(rollout.namespace, rollout.name))
    traffic = Traffic(kube, rollout, "e-scale-down", duration=duration)
    time.sleep(5)
    kube.kubectl(
        "scale", "deployment", "-n", rollout.namespace,
        "-l", f"app.kubernetes.io/instance={rollout.name}", "--replicas=1",
    )  # fmt: skip
    started = time.monotonic()
    while len(set(kube.pod_names(rollout.namespace, rollout.name)) & before) > 1:
        assert time.monotonic() - started < duration - 10, kube.pod_names(
            rollout.namespace, rollout.name
        )
        time.sleep(1)
    took = time.monotonic() - started
    print(f"standin rollout step e: scaled down, pod gone after {took:.1f} s")
    traffic.finish(record_property, stopped_pods=1)


def test_f_grpc_reaches_every_replica(
    kube: Kube,
    api: ApiProxy,
    rollout: Release,
    module_releases: Releases,
    record_property,
) -> None:
    """3 replicas, max connection age: each pod serves >= 20% of a gRPC load."""
    sets = release_sets(rollout, **{"server.restApiTimeoutMs": "20000", **GRPC_SETS})
    module_releases.upgrade(rollout, [SCENARIO], sets)
    pods = kube.ready_pods(rollout.namespace, rollout.name)
    assert len(pods) == GRPC_REPLICAS, pods

    def counts() -> dict[str, int]:
        return {
            name: scrape_request_count(
                api.pod_url(rollout.namespace, name, REST_PORT) + METRICS_PATH,
                MODEL_NAME,
            )
            for name in pods
        }

    before = counts()
    duration = 30.0
    out = rollout.out_dir / "f-grpc-balance"
    host = kube.service_host(rollout.namespace, rollout.name)
    request = rollout.base_path / "1" / "assets.extra" / "sample_request.json"
    argv = load_argv(
        f"{host}:{GRPC_PORT}",
        out,
        request,
        rate=30.0,
        duration=duration,
        protocol="grpc",
        connections=4,
        in_cluster=rollout.namespace,
        image=client_image(kube),
    )
    summary = finish_load(start_load(argv, out, env=kube.env()), out, duration)
    after = counts()
    served = {name: after[name] - before[name] for name in pods}
    total = sum(served.values())
    shares = {name: round(n / total, 3) for name, n in served.items()} if total else {}
    record_property("grpc_shares", shares)
    line = describe_load(summary)
    print(f"standin rollout step f: gRPC requests per pod {served}, shares {shares}")
    print(f"standin rollout step f: {line}")
    assert summary["counts"]["errors"] == 0 and summary["exit_code"] == 0, line
    assert total >= summary["counts"]["ok"], (served, summary["counts"])
    assert min(shares.values()) >= GRPC_MIN_SHARE, shares
