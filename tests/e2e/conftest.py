"""e2e fixtures: the chart on a kind cluster with the TF Serving STAND-IN.

These tests install charts/tf-serving on the offline kind cluster
(hack/make-rules/kind-up.sh with tests/e2e/kind-config.yaml) with the stand-in image
(hack/build/standin-image.sh), never TensorFlow Serving itself. They are marked `kind`
and run through `make e2e` (hack/make-rules/e2e.sh), which starts the cluster, loads the
images and tears everything down. Without a cluster they skip, unless
E2E_REQUIRE_CLUSTER=1 (set by hack/make-rules/e2e.sh), where they fail.

Every release gets its own namespace and a host directory of models under
HOST_ROOT, which the kind config mounts into the node at the same path, so a
hostPath volume names it. Teardown always runs: helm uninstall, namespace
delete; on a failed test the namespace's describe/logs/events go to
out/e2e/<namespace>/dump.txt and to stderr first.

Typical usage example:

    def test_x(releases, trained_models):
        rel = releases.install("04-kind-hostpath", values_files=[...])
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.kube import CHART_DIR, REPO_ROOT, ApiProxy, CommandError, Kube
from tests.e2e.workload import make_readable

log = logging.getLogger(__name__)

STANDIN_VALUES = Path(__file__).parent / "values" / "standin-values.yaml"
OUT_ROOT = Path(os.environ.get("E2E_OUT_DIR", REPO_ROOT / "out" / "e2e"))
# tests/e2e/kind-config.yaml mounts this directory into the node at the same path.
HOST_ROOT = Path("/var/tmp/tf-serving-e2e")
MODEL_NAME = "fashion_mnist"
INSTALL_TIMEOUT = "5m"
NAMESPACE_GONE_TIMEOUT_S = 180

_FAILED_NODEIDS: set[str] = set()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remembers failed tests so fixtures can dump their namespace."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        _FAILED_NODEIDS.add(item.nodeid)


@pytest.fixture(scope="session")
def kube() -> Iterator[Kube]:
    """The e2e cluster; skips (or fails with E2E_REQUIRE_CLUSTER=1) when down.

    For the session, KUBECONFIG names it and its kubectl leads PATH, so the tools
    under test (port-forwards, tfs-smoke --release, tfs-rollout) reach it too.
    """
    found = Kube.discover()
    if found is None or not found.is_ready():
        reason = (
            "the e2e kind cluster is not up: run `make e2e` "
            "(E2E_KEEP_CLUSTER=1 leaves it up for reruns)"
        )
        if os.environ.get("E2E_REQUIRE_CLUSTER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with pytest.MonkeyPatch.context() as patch:
        env = found.env()
        patch.setenv("KUBECONFIG", env["KUBECONFIG"])
        patch.setenv("PATH", env["PATH"])
        yield found


@pytest.fixture(scope="session")
def api(kube: Kube) -> Iterator[ApiProxy]:
    """The API server's pod proxy on a loopback port (kubectl proxy)."""
    with ApiProxy(kube) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Versions 1 and 2 of the fashion-MNIST CNN (digits data, tiny), trained once."""
    from model_export.train import train_and_publish

    base = tmp_path_factory.mktemp("e2e-models") / MODEL_NAME
    versions: dict[int, Path] = {}
    for version in (1, 2):
        versions[version] = train_and_publish(
            base,
            version=version,
            epochs=1,
            dataset="digits",
            max_train_samples=512,
            seed=version,
            model_name=MODEL_NAME,
        )
    return versions


@dataclasses.dataclass
class Release:
    """One installed release of the chart in its own namespace."""

    name: str
    namespace: str
    models_dir: Path
    out_dir: Path
    install_s: float = 0.0

    @property
    def base_path(self) -> Path:
        """Host directory of the primary model's versions."""
        return self.models_dir / MODEL_NAME


class Releases:
    """Installs releases and always removes them (namespace, PVs, host dirs)."""

    def __init__(self, kube: Kube, label: str) -> None:
        self.kube = kube
        self.label = label
        self.releases: list[Release] = []
        self.volumes: list[str] = []

    def new(self, slug: str) -> Release:
        """Creates a namespace and an empty host models dir for a release."""
        suffix = uuid.uuid4().hex[:5]
        namespace = f"e2e-{slug}-{suffix}"[:63]
        models_dir = HOST_ROOT / namespace
        models_dir.mkdir(parents=True, exist_ok=True)
        make_readable(HOST_ROOT)
        release = Release("standin", namespace, models_dir, OUT_ROOT / namespace)
        release.out_dir.mkdir(parents=True, exist_ok=True)
        self.kube.kubectl("create", "namespace", namespace)
        self.kube.kubectl("label", "namespace", namespace, "tf-serving-k8s/e2e=standin")
        self.releases.append(release)
        return release

    def helm_args(
        self, release: Release, values_files: list[Path], sets: dict[str, str]
    ) -> list[str]:
        """Values arguments: scenario files, stand-in overrides, then --set pairs."""
        versions = self.kube.versions
        args: list[str] = []
        for path in [*values_files, STANDIN_VALUES]:
            args += ["--values", str(path)]
        pinned = {
            "image.tag": versions["TFS_STANDIN_TAG"],
            "testFramework.image.tag": versions["LOCAL_BUSYBOX_TAG"],
            "gateway.image.tag": versions["GATEWAY_TAG"],
            "drainProxy.image.tag": versions["HAPROXY_VERSION"],
        }
        for key, value in {**pinned, **sets}.items():
            args += [
                "--set-string" if key.endswith("tag") else "--set",
                f"{key}={value}",
            ]
        return args

    def install(
        self,
        release: Release,
        values_files: list[Path],
        sets: dict[str, str],
        wait: bool = True,
        chart: Path = CHART_DIR,
    ) -> None:
        """helm install of `chart` (--wait unless `wait` is False); records the time."""
        started = time.monotonic()
        self.kube.helm(
            "install",
            release.name,
            str(chart),
            "--namespace",
            release.namespace,
            *(["--wait", "--timeout", INSTALL_TIMEOUT] if wait else []),
            *self.helm_args(release, values_files, sets),
        )
        release.install_s = time.monotonic() - started

    def wait_available(self, release: Release) -> None:
        """Waits until the release's Deployments are Available; adds to install_s."""
        started = time.monotonic()
        self.kube.kubectl(
            "wait",
            "--namespace",
            release.namespace,
            "--for=condition=Available",
            "deployment",
            "-l",
            f"app.kubernetes.io/instance={release.name}",
            f"--timeout={INSTALL_TIMEOUT}",
        )
        release.install_s += time.monotonic() - started

    def upgrade(
        self,
        release: Release,
        values_files: list[Path],
        sets: dict[str, str],
        chart: Path = CHART_DIR,
        wait: bool = True,
    ) -> float:
        """helm upgrade to `chart` (values replaced, not reused; --wait unless `wait`
        is False); returns s."""
        started = time.monotonic()
        self.kube.helm(
            "upgrade",
            release.name,
            str(chart),
            "--namespace",
            release.namespace,
            *(["--wait", "--timeout", INSTALL_TIMEOUT] if wait else []),
            *self.helm_args(release, values_files, sets),
        )
        return time.monotonic() - started

    def add_host_volume(self, release: Release, claim: str) -> None:
        """A static hostPath PV bound to PVC `claim` (no provisioner needed)."""
        pv_name = f"{release.namespace}-{claim}"[:63]
        manifest = f"""
apiVersion: v1
kind: PersistentVolume
metadata:
  name: {pv_name}
  labels:
    tf-serving-k8s/e2e: standin
spec:
  capacity:
    storage: 1Gi
  accessModes: [ReadOnlyMany, ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef:
    namespace: {release.namespace}
    name: {claim}
  hostPath:
    path: {release.models_dir}
    type: Directory
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {claim}
  namespace: {release.namespace}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: {pv_name}
  resources:
    requests:
      storage: 1Gi
"""
        self.volumes.append(pv_name)
        path = release.out_dir / "volume.yaml"
        path.write_text(manifest)
        self.kube.kubectl("apply", "-f", str(path))

    def dump(self, release: Release) -> None:
        """Writes the namespace's describe/logs to out/e2e and stderr."""
        text = self.kube.dump_namespace(release.namespace, release.out_dir)
        sys.stderr.write(
            f"\n===== e2e failure dump of namespace {release.namespace} "
            f"(also {release.out_dir / 'dump.txt'})\n{text[-20000:]}\n"
        )

    def cleanup(self, failed: bool) -> None:
        """Uninstalls; deletes namespaces, PVs, host dirs (dumps first on failure)."""
        for release in self.releases:
            if failed:
                try:
                    self.dump(release)
                except Exception as err:  # noqa: BLE001 - teardown must go on
                    sys.stderr.write(f"dump of {release.namespace} failed: {err}\n")
            self.kube.helm(
                "uninstall",
                release.name,
                "--namespace",
                release.namespace,
                "--timeout",
                "2m",
                check=False,
            )
            self.kube.kubectl(
                "delete", "namespace", release.namespace, "--wait=false", check=False
            )
        for pv in self.volumes:
            self.kube.kubectl("delete", "pv", pv, "--wait=false", check=False)
        for release in self.releases:
            shutil.rmtree(release.models_dir, ignore_errors=True)
            shutil.rmtree(HOST_ROOT / release.namespace, ignore_errors=True)
        self.releases.clear()
        self.volumes.clear()


@pytest.fixture
def releases(kube: Kube, request: pytest.FixtureRequest) -> Iterator[Releases]:
    """Per-test releases, removed at the end of the test."""
    manager = Releases(kube, request.node.name)
    yield manager
    manager.cleanup(failed=request.node.nodeid in _FAILED_NODEIDS)


@pytest.fixture(scope="module")
def module_releases(kube: Kube, request: pytest.FixtureRequest) -> Iterator[Releases]:
    """Releases shared by the tests of one module, removed after the module."""
    manager = Releases(kube, request.module.__name__)
    yield manager
    prefix = request.node.nodeid
    manager.cleanup(failed=any(n.startswith(prefix) for n in _FAILED_NODEIDS))


@pytest.fixture(scope="session", autouse=True)
def _namespaces_gone(request: pytest.FixtureRequest) -> Iterator[None]:
    """At the end, wait (bounded) until every e2e namespace and PV is deleted."""
    yield
    found = Kube.discover()
    if found is None:
        return
    deadline = time.monotonic() + NAMESPACE_GONE_TIMEOUT_S
    while time.monotonic() < deadline:
        left = found.kubectl(
            "get",
            "namespace,pv",
            "-l",
            "tf-serving-k8s/e2e=standin",
            "-o",
            "name",
            check=False,
        ).stdout.split()
        if not left:
            return
        time.sleep(2)
    try:
        found.kubectl("get", "namespace,pv", "-l", "tf-serving-k8s/e2e=standin")
    except CommandError as err:
        log.warning("e2e leftovers: %s", err)
