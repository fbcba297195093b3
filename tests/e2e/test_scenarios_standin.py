"""Every chart ci/ scenario on the kind cluster with the TF Serving STAND-IN image.

For each scenario the cluster supports: helm install --wait (scenario values + the
stand-in overrides in values/standin-values.yaml + a hostPath model volume), helm
test --logs, the smoke test over port-forward (REST + gRPC), and a short open-loop
load test with an SLO from an in-cluster Job aimed at the Service. Scenarios the
cluster cannot support skip with the reason. This tests the chart on a real cluster
with the stand-in, never TensorFlow Serving itself.

Typical usage example:

    make e2e        # or, with the cluster up: pytest -m kind tests/e2e
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.e2e import ingress
from tests.e2e.conftest import MODEL_NAME, Release, Releases
from tests.e2e.kube import CHART_DIR, REPO_ROOT, Kube
from tests.e2e.workload import (
    describe_load,
    load_argv,
    make_readable,
    publish_version,
    run_load,
)

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

CI_DIR = CHART_DIR / "ci"
LOAD_RATE = 20.0
LOAD_DURATION_S = 10.0
LOAD_P99_MS = 500.0
SMOKE_TIMEOUT_S = 300


@dataclasses.dataclass(frozen=True)
class Scenario:
    """How the e2e suite runs one ci/ values file."""

    file: str
    # Extra --set values for this cluster (beyond values/standin-values.yaml).
    sets: dict[str, str] = dataclasses.field(default_factory=dict)
    # Model versions the volume holds (copies of the trained v1/v2).
    versions: tuple[int, ...] = (1,)
    # Further model names holding the same versions.
    extra_models: tuple[str, ...] = ()
    smoke_args: tuple[str, ...] = ()
    # The chart must create PVC `claim` on a static hostPath PV.
    claim: str = ""
    # The chart creates its own PVC from the default StorageClass: models are
    # staged into the provisioned volume once it is Bound.
    provisioned: bool = False
    # Returns a reason to skip on this cluster, or "".
    unsupported: Callable[[Kube], str] = lambda kube: ""
    # Before the install: objects the scenario's values name (e.g. TLS Secrets).
    prepare: Callable[[Kube, Release, dict], None] = lambda kube, release, values: None
    # After smoke and load: checks of what only this scenario has.
    check: Callable[[Kube, Release, dict], None] = lambda kube, release, values: None
    note: str = ""


HOST_VOLUME = {"modelStorage.type": "hostPath"}


def needs_default_storage_class(kube: Kube) -> str:
    """Skip reason for scenarios on a chart-created PVC."""
    if kube.has_default_storage_class():
        return ""
    return (
        "the chart-created PVC needs a default StorageClass (dynamic provisioner); "
        "this cluster has none (hack/make-rules/kind-up.sh's offline node has one)"
    )


def needs_ingress(kube: Kube) -> str:
    """Skip reason for scenarios that route traffic through IngressClass nginx."""
    if kube.has_ingress_class("nginx"):
        return ""
    return (
        "needs an ingress controller (IngressClass nginx): make e2e installs Traefik "
        "(tests/e2e/manifests/traefik.yaml); this cluster has none"
    )


def make_tls_secrets(kube: Kube, release: Release, values: dict) -> None:
    """A test CA (out dir tls/ca.crt) and the TLS Secrets the ingress values name."""
    directory = release.out_dir / "tls"
    ca = ingress.TestCA.create(directory)
    ingresses = [values["ingress"]["rest"], values["ingress"]["grpc"]]
    ingress.create_tls_secrets(kube, release.namespace, ingresses, ca, directory)


def check_through_ingress(kube: Kube, release: Release, values: dict) -> None:
    """REST and gRPC over TLS through the controller, as the Ingress host names;
    the gRPC load on ONE connection spreads over every pod (their own counters)."""
    result = ingress.check_release(
        kube,
        release,
        rest_host=values["ingress"]["rest"]["hosts"][0]["host"],
        grpc_host=values["ingress"]["grpc"]["hosts"][0]["host"],
        ca_cert=release.out_dir / "tls" / "ca.crt",
    )
    print(f"standin 06-ingress through Traefik: {json.dumps(result)}")
    assert result["rest_codes"] == {"200": ingress.REST_REQUESTS}, result
    assert result["rest_matches_golden"], result
    assert result["grpc_codes"] == {"OK": ingress.GRPC_REQUESTS}, result
    assert len(result["grpc_per_pod"]) == values["replicaCount"], result
    assert min(result["grpc_shares"].values()) >= ingress.MIN_POD_SHARE, result


FETCH_ELSEWHERE = (
    "needs an S3 server and a credentials Secret: test_model_fetch_standin.py "
    "installs it against a moto S3 server on the host"
)


def needs_gpu_nodes(kube: Kube) -> str:
    """Skip reason for the GPU scenario (its pods request nvidia.com/gpu)."""
    return (
        "its pods request nvidia.com/gpu on a GPU node pool (and 2 CPUs each); this "
        "cluster has no GPU device plugin. tests/chart renders and validates it"
    )


def hardened_minimal(kube: Kube) -> str:
    """Skip reason for the emptyDir / gRPC health-check scenario."""
    return (
        "its emptyDir volume holds no models, so the server never becomes Ready "
        "(the scenario says static checks only), and probes.grpcHealthCheck needs a "
        "TF Serving image tag >= 2.15.1 while the stand-in image is tagged "
        f"{kube.versions['TFS_STANDIN_TAG']}"
    )


SCENARIOS = {
    "01-default": Scenario(
        "01-default-values.yaml",
        provisioned=True,
        unsupported=needs_default_storage_class,
        note="models copied into the provisioned PVC after it binds",
    ),
    "02-multi-model-labels": Scenario(
        "02-multi-model-labels-values.yaml",
        sets=HOST_VOLUME,
        versions=(1, 2),
        extra_models=("half_plus_two",),
        smoke_args=(
            "--expect-versions",
            "1,2",
            "--expect-label",
            "stable=1",
            "--expect-label",
            "canary=2",
        ),
        note="models on a hostPath instead of the default chart-created PVC",
    ),
    "03-pvc": Scenario("03-pvc-values.yaml", claim="tf-serving-models"),
    "04-kind-hostpath": Scenario("04-kind-hostpath-values.yaml"),
    "05-batching-monitoring": Scenario(
        "05-batching-monitoring-values.yaml",
        sets={**HOST_VOLUME, "metrics.serviceMonitor.enabled": "false"},
        note="ServiceMonitor off: no Prometheus Operator CRDs on this cluster",
    ),
    "06-ingress": Scenario(
        "06-ingress-values.yaml",
        sets=HOST_VOLUME,
        unsupported=needs_ingress,
        prepare=make_tls_secrets,
        check=check_through_ingress,
    ),
    "08-gateway": Scenario(
        "08-gateway-values.yaml",
        sets=HOST_VOLUME,
        note="the Ingress object is created but no controller routes it offline",
    ),
    "09-autoscaling-gpu": Scenario(
        "09-autoscaling-gpu-values.yaml", unsupported=needs_gpu_nodes
    ),
    "10-observability": Scenario(
        "10-observability-values.yaml",
        sets={
            **HOST_VOLUME,
            "metrics.serviceMonitor.enabled": "false",
            "metrics.prometheusRule.enabled": "false",
        },
        note="ServiceMonitor and PrometheusRule off: no Prometheus Operator CRDs here",
    ),
    "11-s3-fetch": Scenario(
        "11-s3-fetch-values.yaml", unsupported=lambda kube: FETCH_ELSEWHERE
    ),
    "07-hardened-minimal": Scenario(
        "07-hardened-minimal-values.yaml", unsupported=hardened_minimal
    ),
}


def test_every_ci_scenario_is_listed() -> None:
    """A new ci/ file must get a row in SCENARIOS (run or skipped with a reason)."""
    files = sorted(p.name for p in CI_DIR.glob("*-values.yaml"))
    assert files == sorted(s.file for s in SCENARIOS.values())


def stage_models(
    release_dir: Path, scenario: Scenario, trained: dict[int, Path]
) -> None:
    """Fills the release's host models dir with the scenario's models and versions."""
    for model in (MODEL_NAME, *scenario.extra_models):
        base = release_dir / model
        base.mkdir(parents=True, exist_ok=True)
        for version in scenario.versions:
            publish_version(trained[version], base, version)
    make_readable(release_dir)


def run_smoke(
    kube: Kube, release: str, namespace: str, base_path: Path, out: Path, *extra: str
) -> subprocess.CompletedProcess:
    """`python -m smoke_tests --release` (port-forward to REST and gRPC)."""
    argv = [
        sys.executable,
        "-m",
        "smoke_tests",
        "--release",
        release,
        "--namespace",
        namespace,
        "--model-base-path",
        str(base_path),
        "--wait-ready",
        "60",
        "--json",
        str(out),
        *extra,
    ]
    return subprocess.run(
        argv,
        cwd=REPO_ROOT,
        env=kube.env(),
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT_S,
        check=False,
    )


@pytest.mark.parametrize("scenario_id", list(SCENARIOS))
def test_scenario_on_standin(
    scenario_id: str,
    kube: Kube,
    releases: Releases,
    trained_models: dict[int, Path],
    record_property: Callable[[str, object], None],
) -> None:
    """install -> helm test -> smoke (REST+gRPC) -> load SLO, on the stand-in image."""
    scenario = SCENARIOS[scenario_id]
    reason = scenario.unsupported(kube)
    if reason:
        pytest.skip(f"{scenario.file}: {reason}")

    release = releases.new(scenario_id.split("-", 1)[0])
    sets = {"modelStorage.hostPath.path": str(release.models_dir), **scenario.sets}
    scenario.prepare(
        kube, release, yaml.safe_load((CI_DIR / scenario.file).read_text())
    )
    if scenario.claim:
        releases.add_host_volume(release, scenario.claim)
    if scenario.provisioned:
        releases.install(release, [CI_DIR / scenario.file], sets, wait=False)
        release.models_dir = kube.bound_claim_path(
            release.namespace, release.name, timeout_s=60
        )
        stage_models(release.models_dir, scenario, trained_models)
        releases.wait_available(release)
    else:
        stage_models(release.models_dir, scenario, trained_models)
        releases.install(release, [CI_DIR / scenario.file], sets)
    record_property("install_s", round(release.install_s, 1))

    values = json.loads(
        kube.helm(
            "get",
            "values",
            release.name,
            "-n",
            release.namespace,
            "--all",
            "-o",
            "json",
        ).stdout
    )

    # No --logs: the test pod's hook-delete-policy includes hook-succeeded, so helm
    # deletes a passing pod before it can read its logs ("pods ... not found").
    test = kube.helm(
        "test", release.name, "-n", release.namespace, "--timeout", "3m", check=False
    )
    (release.out_dir / "helm-test.txt").write_text(test.stdout + test.stderr)
    if values["testFramework"]["enabled"]:
        assert test.returncode == 0, test.stdout + test.stderr
        assert "Phase:          Succeeded" in test.stdout, test.stdout

    metrics = []
    if values["metrics"]["enabled"]:
        metrics = ["--metrics-path", values["metrics"]["path"]]
    smoke = run_smoke(
        kube,
        release.name,
        release.namespace,
        release.base_path,
        release.out_dir / "smoke.json",
        *metrics,
        *scenario.smoke_args,
    )
    (release.out_dir / "smoke.txt").write_text(smoke.stdout + smoke.stderr)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    report = json.loads((release.out_dir / "smoke.json").read_text())
    assert "rest" in json.dumps(report).lower() and "grpc" in json.dumps(report).lower()

    # The load runs where users' in-cluster clients do: a Job aimed at the Service.
    host = kube.service_host(release.namespace, release.name)
    port = values["service"]["ports"]["http"]
    request = release.base_path / str(max(scenario.versions))
    summary = run_load(
        load_argv(
            f"http://{host}:{port}",
            release.out_dir / "load",
            request / "assets.extra" / "sample_request.json",
            rate=LOAD_RATE,
            duration=LOAD_DURATION_S,
            warmup=2.0,
            max_p99_ms=LOAD_P99_MS,
            in_cluster=release.namespace,
            image=f"tf-serving-client-tools:{kube.versions['CLIENT_TOOLS_TAG']}",
        ),
        release.out_dir / "load",
        LOAD_DURATION_S,
        env=kube.env(),
    )
    line = describe_load(summary)
    record_property("load", line)
    print(f"standin {scenario_id}: install {release.install_s:.1f}s; load {line}")
    assert summary["exit_code"] == 0, summary["log"]
    assert summary["counts"]["errors"] == 0, line
    scenario.check(kube, release, values)
