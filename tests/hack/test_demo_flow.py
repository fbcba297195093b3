"""The order and idempotency of `make demo`, with recording stand-ins for the CLIs.

hack/make-rules/demo.sh runs from a scratch copy of the repository whose bin/ holds
small stub programs (docker, kind, helm, kubectl, make, python) that only log their
arguments. The real cluster path needs registry access, which this machine does not
have; these tests check what the script asks the tools to do, and that a second run
reuses the cluster and the exported model.

Typical usage example:

    .venv/bin/python -m pytest tests/hack/test_demo_flow.py -q
"""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "demo-flow"
RELEASE = "demo-release"

STUB = r"""#!/usr/bin/env bash
# Records its argv; answers the few queries hack/make-rules/demo.sh makes.
echo "$(basename "$0") $*" >>"${STUB_CALLS}"
case "$(basename "$0") $1 $2" in
  "kind get clusters") cat "${STUB_STATE}/clusters" 2>/dev/null ;;
  "kind create cluster") echo "${CLUSTER_NAME}" >>"${STUB_STATE}/clusters" ;;
  "docker pull"*)
    [[ -z "${STUB_NO_REGISTRY:-}" ]] || { echo "connection refused" >&2; exit 1; } ;;
  "docker image inspect") [[ -z "${STUB_NO_REGISTRY:-}" ]] || exit 1 ;;
  "kind-up.sh --config"*) echo "${CLUSTER_NAME}" >>"${STUB_STATE}/clusters" ;;
  "kubectl --context"*)
    case "$*" in
      *" get deployments "*) echo "deployment.apps/${RELEASE_NAME}" ;;
      *" get services "*) echo "service/${RELEASE_NAME}" ;;
    esac ;;
  "make --no-print-directory -C")
    mkdir -p "${MODELS_ROOT}/fashion_mnist/1"
    touch "${MODELS_ROOT}/fashion_mnist/1/saved_model.pb" ;;
esac
exit 0
"""


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    """A copy of what demo.sh reads, with recording stubs in bin/ and .venv/bin/."""
    repo = tmp_path / "repo"
    for relative in [
        "hack/make-rules/demo.sh",
        "hack/make-rules/dockerd-up.sh",
        "hack/versions.env",
        "hack/workarounds/no-registry/lib.sh",
        "k8s/kind-config.yaml",
    ]:
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / relative, repo / relative)
    scenario = repo / "charts/tf-serving/ci/04-kind-hostpath-values.yaml"
    scenario.parent.mkdir(parents=True)
    scenario.write_text("image:\n  pullPolicy: IfNotPresent\n")
    (repo / "hack/lib").mkdir()
    for lib in ("common.sh", "kind.sh"):
        shutil.copy2(REPO_ROOT / "hack/lib" / lib, repo / "hack/lib" / lib)
    for stub in [
        *(f"bin/{name}" for name in ("docker", "kind", "helm", "kubectl", "make")),
        ".venv/bin/python",
        "hack/make-rules/kind-up.sh",
        "hack/build/standin-image.sh",
        "hack/workarounds/no-registry/build-drain-proxy-image.sh",
    ]:
        path = repo / stub
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(STUB)
        path.chmod(0o755)
    (tmp_path / "state").mkdir()
    return repo


def run_demo(
    repo: Path, **extra_env: str
) -> tuple[subprocess.CompletedProcess, list[str]]:
    calls = repo.parent / "calls.log"
    calls.write_text("")
    env = {
        "PATH": f"{repo / 'bin'}:/usr/bin:/bin",
        "HOME": str(repo.parent),
        "STUB_CALLS": str(calls),
        "STUB_STATE": str(repo.parent / "state"),
        "CLUSTER_NAME": CLUSTER,
        "RELEASE_NAME": RELEASE,
        "MODELS_ROOT": str(repo / "models"),
    } | extra_env
    result = subprocess.run(
        [str(repo / "hack/make-rules/demo.sh"), CLUSTER, RELEASE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, calls.read_text().splitlines()


def versions() -> dict[str, str]:
    lines = (REPO_ROOT / "hack/versions.env").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and line[0] != "#")
    return dict(pairs)


def first_index(calls: list[str], prefix: str) -> int:
    return next(i for i, call in enumerate(calls) if call.startswith(prefix))


def test_first_run_creates_exports_installs_and_smoke_tests_in_order(scratch_repo):
    result, calls = run_demo(scratch_repo)
    assert result.returncode == 0, result.stderr
    pins = versions()
    serving = f"tensorflow/serving:{pins['TF_SERVING_VERSION']}"
    create = f"kind create cluster --name {CLUSTER} --config {scratch_repo}/k8s/"
    steps = [
        "make --no-print-directory -C",
        create,
        f"kind load docker-image --name {CLUSTER} {serving} "
        f"haproxy:{pins['HAPROXY_VERSION']}",
        f"helm upgrade --install {RELEASE} {scratch_repo}/charts/tf-serving",
        f"kubectl --context kind-{CLUSTER} --namespace default rollout status",
        "python -m smoke_tests --release",
    ]
    order = [first_index(calls, step) for step in steps]
    assert order == sorted(order), calls
    assert f"--image {pins['KIND_NODE_IMAGE']}" in calls[order[1]]
    helm = calls[order[3]]
    assert "ci/04-kind-hostpath-values.yaml" in helm
    assert f"--set image.tag={pins['TF_SERVING_VERSION']}" in helm
    assert f"--set-string drainProxy.image.tag={pins['HAPROXY_VERSION']}" in helm
    assert "--wait" in helm
    smoke = calls[order[5]]
    assert f"--context kind-{CLUSTER}" in smoke and "--model-base-path models/" in smoke
    assert "Next steps" in result.stdout and "make down" in result.stdout


def test_without_a_registry_the_stand_in_serves_under_a_banner(scratch_repo):
    """SERVER=auto: the refused pull picks the offline path; nothing is pulled."""
    result, calls = run_demo(scratch_repo, STUB_NO_REGISTRY="1")
    assert result.returncode == 0, result.stderr
    pins = versions()
    standin = f"tfserving-standin:{pins['TFS_STANDIN_TAG']}"
    steps = [
        "standin-image.sh",
        "build-drain-proxy-image.sh",
        "make --no-print-directory -C",
        f"kind-up.sh --config {scratch_repo}/k8s/kind-config.yaml {CLUSTER}",
        f"kind load docker-image --name {CLUSTER} {standin} "
        f"local/haproxy:{pins['HAPROXY_VERSION']} "
        f"local/busybox:{pins['LOCAL_BUSYBOX_TAG']}",
        f"helm upgrade --install {RELEASE}",
        "python -m smoke_tests --release",
    ]
    order = [first_index(calls, step) for step in steps]
    assert order == sorted(order), calls
    assert len([call for call in calls if call.startswith("docker pull")]) == 1
    assert not [call for call in calls if call.startswith("kind create")]
    helm = calls[order[5]]
    assert "--set image.repository=tfserving-standin" in helm
    assert f"--set image.tag={pins['TFS_STANDIN_TAG']}" in helm
    assert "--set drainProxy.image.repository=local/haproxy" in helm
    assert "--set testFramework.image.repository=local/busybox" in helm
    for stream in (result.stderr, result.stdout):
        assert "STAND-IN" in stream and "NOT TensorFlow Serving" in stream
        assert "connection refused" in stream
    assert "The TF Serving STAND-IN (not TensorFlow Serving) is serving" in (
        result.stdout
    )


def test_server_standin_pulls_nothing(scratch_repo):
    result, calls = run_demo(scratch_repo, SERVER="standin")
    assert result.returncode == 0, result.stderr
    assert not [call for call in calls if call.startswith("docker pull")]
    assert "SERVER=standin was asked for" in result.stdout


def test_unknown_server_is_refused_before_any_cluster_work(scratch_repo):
    result, calls = run_demo(scratch_repo, SERVER="tfs")
    assert result.returncode != 0
    assert "SERVER=tfs: use auto, real or standin" in result.stderr
    assert not [call for call in calls if call.startswith(("kind", "helm"))]


def test_second_run_reuses_the_cluster_and_the_model(scratch_repo):
    run_demo(scratch_repo)
    result, calls = run_demo(scratch_repo)
    assert result.returncode == 0, result.stderr
    assert not [call for call in calls if call.startswith("kind create")]
    assert not [call for call in calls if call.startswith("make ")]
    assert f"reusing kind cluster '{CLUSTER}'" in result.stderr
    assert any(call.startswith(f"helm upgrade --install {RELEASE}") for call in calls)


def test_missing_scenario_stops_before_any_cluster_work(scratch_repo):
    for scenario in (scratch_repo / "charts/tf-serving/ci").iterdir():
        scenario.unlink()
    result, calls = run_demo(scratch_repo)
    assert result.returncode != 0
    assert "DEMO_VALUES" in result.stderr
    assert not [call for call in calls if call.startswith(("kind create", "helm"))]


def test_models_dir_other_than_models_is_refused(scratch_repo):
    result, calls = run_demo(scratch_repo, MODELS_DIR="elsewhere")
    assert result.returncode != 0
    assert "only sees ./models" in result.stderr
    assert not [call for call in calls if call.startswith(("kind create", "helm"))]


def test_runs_without_home_in_the_environment(scratch_repo):
    """Regression: dockerd-up.sh used $HOME unguarded and died under `env -i`."""
    calls_file = scratch_repo.parent / "calls.log"
    result = subprocess.run(
        [str(scratch_repo / "hack/make-rules/demo.sh"), CLUSTER, RELEASE],
        env={
            "PATH": f"{scratch_repo / 'bin'}:/usr/bin:/bin",
            "STUB_CALLS": str(calls_file),
            "STUB_STATE": str(scratch_repo.parent / "state"),
            "CLUSTER_NAME": CLUSTER,
            "RELEASE_NAME": RELEASE,
            "MODELS_ROOT": str(scratch_repo / "models"),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
