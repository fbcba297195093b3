"""Fixtures for the offline cluster tests (hack/cluster-up.sh).

The tests run only when the offline cluster is up: its admin kubeconfig
(<state>/kubeconfig, state dir from CLUSTER_STATE_DIR or /var/lib/tf-serving-k8s)
exists and the API server answers /readyz. Otherwise every test skips with the
command that starts the cluster. CLUSTER_KUBECONFIG points the same tests at
another cluster holding our busybox image, e.g. the offline kind cluster from
hack/kind-up.sh (then ClusterIPs are not routed to the host).

Typical usage example:

    def test_nodes(cluster: Cluster):
        assert cluster.kubectl("get", "nodes").returncode == 0
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chart.helpers import versions_env

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = Path("/var/lib/tf-serving-k8s")
KUBECTL_TIMEOUT_S = 120


@dataclasses.dataclass(frozen=True)
class Cluster:
    """A reachable offline cluster and a scratch namespace for one test session."""

    kubeconfig: Path
    kubectl_path: str
    namespace: str
    versions: dict[str, str]
    host_routes_services: bool

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run kubectl against the cluster in the scratch namespace."""
        return subprocess.run(
            [
                self.kubectl_path,
                "--kubeconfig",
                str(self.kubeconfig),
                "--namespace",
                self.namespace,
                *args,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            check=check,
            timeout=KUBECTL_TIMEOUT_S,
        )


def find_kubectl(versions: dict[str, str]) -> str | None:
    """Return the kubectl from hack/cluster/build-kubernetes.sh, else PATH's."""
    cache = Path(
        os.environ.get("K8S_CACHE_DIR", Path.home() / ".cache" / "tf-serving-k8s")
    )
    built = cache / f"k8s-{versions.get('KUBERNETES_VERSION', '')}" / "bin" / "kubectl"
    if built.is_file():
        return str(built)
    return shutil.which("kubectl")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The offline cluster with a fresh namespace, deleted after the session."""
    state_dir = Path(os.environ.get("CLUSTER_STATE_DIR", DEFAULT_STATE_DIR))
    override = os.environ.get("CLUSTER_KUBECONFIG")
    kubeconfig = Path(override) if override else state_dir / "kubeconfig"
    versions = versions_env()
    kubectl = find_kubectl(versions)
    if not kubeconfig.is_file() or kubectl is None:
        pytest.skip(
            f"offline cluster not up ({kubeconfig} missing); "
            "start it with: sudo hack/cluster-up.sh"
        )
    probe = subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig), "get", "--raw", "/readyz"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(
            f"offline cluster API not ready ({probe.stderr.strip()}); "
            "start it with: sudo hack/cluster-up.sh"
        )
    namespace = f"cluster-test-{uuid.uuid4().hex[:8]}"
    handle = Cluster(kubeconfig, kubectl, namespace, versions, not override)
    handle.kubectl("create", "namespace", namespace)
    # --for=create waits for an object that does not exist yet (a jsonpath wait
    # fails at once with NotFound when the controller has not made it).
    handle.kubectl("wait", "--for=create", "serviceaccount/default", "--timeout=120s")
    try:
        yield handle
    finally:
        handle.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
