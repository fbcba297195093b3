"""Fixtures for the cluster tests: the e2e kind cluster (hack/make-rules/e2e.sh).

The tests run only when that cluster is up (tests.e2e.kube.Kube.discover: its
kubeconfig, or CLUSTER_KUBECONFIG's, and a Ready node). Otherwise every test skips
with the command that starts it.

Typical usage example:

    def test_nodes(cluster: Cluster):
        assert cluster.kubectl("get", "nodes").returncode == 0
"""

from __future__ import annotations

import dataclasses
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.kube import Kube

KUBECTL_TIMEOUT_S = 120


@dataclasses.dataclass(frozen=True)
class Cluster:
    """A reachable cluster and a scratch namespace for one test session."""

    kubeconfig: Path
    kubectl_path: str
    namespace: str
    versions: dict[str, str]

    @property
    def busybox_image(self) -> str:
        """The local busybox image hack/make-rules/e2e.sh loads into the node."""
        return f"local/busybox:{self.versions['LOCAL_BUSYBOX_TAG']}"

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


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The cluster with a fresh namespace, deleted after the session."""
    found = Kube.discover()
    if found is None or not found.is_ready():
        pytest.skip("the e2e kind cluster is not up; start it with: make e2e")
    namespace = f"cluster-test-{uuid.uuid4().hex[:8]}"
    handle = Cluster(found.kubeconfig, found.kubectl_path, namespace, found.versions)
    handle.kubectl("create", "namespace", namespace)
    # --for=create waits for an object that does not exist yet (a jsonpath wait
    # fails at once with NotFound when the controller has not made it).
    handle.kubectl("wait", "--for=create", "serviceaccount/default", "--timeout=120s")
    try:
        yield handle
    finally:
        handle.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
