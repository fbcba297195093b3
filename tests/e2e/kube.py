"""kubectl/helm helpers for the e2e suite on the kind cluster (STAND-IN image).

The cluster is the offline kind cluster hack/make-rules/e2e.sh starts
(hack/make-rules/kind-up.sh with tests/e2e/kind-config.yaml). Everything shells out to
the pinned binaries: kubectl from hack/workarounds/no-registry/build-kubernetes.sh's
cache (else PATH) and helm from bin/. The host reaches no pod or Service IP: traffic
goes through port-forward or from load Jobs inside the cluster, and a test that inspects
one pod uses the API server's proxy (ApiProxy).

Typical usage example:

    kube = Kube.discover()
    kube.kubectl("get", "nodes")
    kube.helm("install", "rel", CHART_DIR, "--namespace", "ns")
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from loadtest import metrics
from tests.chart.helpers import versions_env

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "tf-serving"
CACHE_DIR = Path(
    os.environ.get("K8S_CACHE_DIR", Path.home() / ".cache" / "tf-serving-k8s")
)
# hack/make-rules/e2e.sh's kind cluster; hack/make-rules/kind-up.sh writes its
# kubeconfig here.
KIND_CLUSTER = "tf-serving-e2e"
NODE = f"{KIND_CLUSTER}-control-plane"
DEFAULT_KUBECONFIG = CACHE_DIR / f"kind-{KIND_CLUSTER}.kubeconfig"
# Where the offline node's default StorageClass (kube-controller-manager's hostPath
# provisioner, /tmp/hostpath_pv/<uuid>) puts volumes in the node (containerd makes
# the directory when a pod mounts it), and where tests/e2e/kind-config.yaml mounts
# that directory from the host.
NODE_PROVISIONER_DIR = Path("/tmp/hostpath_pv")
HOST_PROVISIONER_DIR = Path("/var/tmp/tf-serving-e2e-provisioned")
COMMAND_TIMEOUT_S = 600
PROXY_READY_S = 30


class CommandError(RuntimeError):
    """A kubectl/helm command failed; the message holds its output."""


@dataclasses.dataclass(frozen=True)
class Kube:
    """Paths to the cluster's kubeconfig, kubectl and helm."""

    kubeconfig: Path
    kubectl_path: str
    helm_path: str
    versions: dict[str, str]

    @classmethod
    def discover(cls) -> Kube | None:
        """Finds the e2e cluster (or CLUSTER_KUBECONFIG's); None when it is not up."""
        versions = versions_env()
        kubeconfig = Path(os.environ.get("CLUSTER_KUBECONFIG", DEFAULT_KUBECONFIG))
        built = CACHE_DIR / f"k8s-{versions.get('KUBERNETES_VERSION', '')}" / "bin"
        kubectl = (
            str(built / "kubectl")
            if (built / "kubectl").is_file()
            else shutil.which("kubectl")
        )
        helm = REPO_ROOT / "bin" / "helm"
        helm_path = str(helm) if helm.is_file() else shutil.which("helm")
        if not kubeconfig.is_file() or not kubectl or not helm_path:
            return None
        return cls(kubeconfig, kubectl, helm_path, versions)

    def env(self) -> dict[str, str]:
        """Environment for child processes: KUBECONFIG set, kubectl and helm on PATH."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        dirs = [str(Path(self.kubectl_path).parent), str(Path(self.helm_path).parent)]
        env["PATH"] = os.pathsep.join([*dirs, env.get("PATH", "")])
        return env

    def run(
        self,
        argv: list[str],
        check: bool = True,
        timeout: float = COMMAND_TIMEOUT_S,
    ) -> subprocess.CompletedProcess:
        """Runs a command with env(); raises CommandError with its output on failure."""
        log.info("$ %s", " ".join(argv))
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise CommandError(
                f"{' '.join(argv)} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Runs kubectl against the cluster."""
        return self.run(
            [self.kubectl_path, "--kubeconfig", str(self.kubeconfig), *args],
            check=check,
        )

    def helm(
        self, *args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT_S
    ) -> subprocess.CompletedProcess:
        """Runs the pinned helm against the cluster."""
        return self.run(
            [self.helm_path, "--kubeconfig", str(self.kubeconfig), *args],
            check=check,
            timeout=timeout,
        )

    def is_ready(self) -> bool:
        """True when the API server answers and a node is Ready."""
        proc = self.kubectl(
            "get",
            "nodes",
            "-o",
            "jsonpath={.items[*].status.conditions[?(@.type=='Ready')].status}",
            check=False,
        )
        return proc.returncode == 0 and "True" in proc.stdout.split()

    def has_default_storage_class(self) -> bool:
        """True when a StorageClass is annotated as the cluster default."""
        proc = self.kubectl(
            "get",
            "storageclass",
            "-o",
            "jsonpath={.items[*].metadata.annotations.storageclass\\.kubernetes\\.io/is-default-class}",
            check=False,
        )
        return proc.returncode == 0 and "true" in proc.stdout.split()

    def has_ingress_class(self, name: str) -> bool:
        """True when IngressClass `name` exists (an ingress controller is installed)."""
        proc = self.kubectl("get", "ingressclass", name, check=False)
        return proc.returncode == 0

    def has_api(self, group: str) -> bool:
        """True when the API server serves `group` (e.g. monitoring.coreos.com)."""
        proc = self.kubectl("api-versions", check=False)
        return any(line.startswith(group + "/") for line in proc.stdout.splitlines())

    def _service(self, namespace: str, release: str, name: str) -> tuple[str, str]:
        """(name, clusterIP) of the release's one ClusterIP Service of `name`."""
        proc = self.kubectl(
            "get",
            "service",
            "--namespace",
            namespace,
            "-l",
            f"app.kubernetes.io/instance={release},app.kubernetes.io/name={name}",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.spec.clusterIP}{'\\n'}{end}",
        )
        found = [
            tuple(line.split()) for line in proc.stdout.splitlines() if line.strip()
        ]
        services = [(svc, ip) for svc, ip in found if ip != "None"]
        if len(services) != 1:
            raise CommandError(
                f"expected one ClusterIP Service for {release}, got {found}"
            )
        return services[0]

    def service_name(
        self, namespace: str, release: str, name: str = "tf-serving"
    ) -> str:
        """Name of the release's (non-headless) Service of component `name`."""
        return self._service(namespace, release, name)[0]

    def service_host(
        self, namespace: str, release: str, name: str = "tf-serving"
    ) -> str:
        """In-cluster DNS name of that Service, as pods (a load Job) reach it."""
        return f"{self.service_name(namespace, release, name)}.{namespace}.svc"

    def pod_names(self, namespace: str, release: str) -> list[str]:
        """Every server pod of the release, terminating ones included."""
        return self._server_pods(
            namespace, release, "jsonpath={.items[*].metadata.name}"
        ).stdout.split()

    def _server_pods(self, namespace: str, release: str, output: str):
        return self.kubectl(
            "get",
            "pods",
            "--namespace",
            namespace,
            "-l",
            f"app.kubernetes.io/instance={release},app.kubernetes.io/name=tf-serving",
            "-o",
            output,
        )

    def ready_pods(self, namespace: str, release: str) -> list[str]:
        """Names of the release's Ready server pods (not terminating), sorted."""
        proc = self._server_pods(
            namespace,
            release,
            "jsonpath={range .items[*]}{.metadata.name} "
            "{.metadata.deletionTimestamp} "
            "{.status.conditions[?(@.type=='Ready')].status}{'\\n'}{end}",
        )
        return sorted(
            fields[0]
            for fields in (line.split() for line in proc.stdout.splitlines())
            if len(fields) == 2 and fields[1] == "True"
        )

    def container_status(
        self, namespace: str, pod: str, container: str, init: bool = False
    ) -> dict:
        """`container`'s status in `pod` (an init container's with `init`); {} before
        the kubelet reports one."""
        status = json.loads(
            self.kubectl("get", "pod", pod, "-n", namespace, "-o", "json").stdout
        )["status"]
        key = "initContainerStatuses" if init else "containerStatuses"
        return next((c for c in status.get(key) or [] if c["name"] == container), {})

    def wait_new_pod_restarted(
        self,
        namespace: str,
        release: str,
        old: set[str],
        container: str,
        timeout_s: float,
        init: bool = False,
    ) -> tuple[str, dict, float]:
        """Waits until a pod of `release` not in `old` has restarted `container`;
        returns (pod, that container's status, seconds waited)."""
        found: dict[str, dict] = {}

        def restarted() -> bool:
            for pod in set(self.pod_names(namespace, release)) - old:
                status = self.container_status(namespace, pod, container, init)
                if status.get("restartCount", 0) >= 1:
                    found[pod] = status
                    return True
            return False

        waited = wait_until(restarted, f"a new pod restarting {container}", timeout_s)
        ((pod, status),) = found.items()
        return pod, status, waited

    def endpoint_ready(self, namespace: str, service: str, pod: str) -> bool | None:
        """The pod's `ready` condition in `service`'s EndpointSlices (None: absent)."""
        proc = self.kubectl(
            "get",
            "endpointslices",
            "--namespace",
            namespace,
            "-l",
            f"kubernetes.io/service-name={service}",
            "-o",
            "json",
        )
        for item in json.loads(proc.stdout)["items"]:
            for endpoint in item.get("endpoints") or []:
                if endpoint.get("targetRef", {}).get("name") == pod:
                    return bool(endpoint.get("conditions", {}).get("ready"))
        return None

    def bound_claim_path(self, namespace: str, release: str, timeout_s: float) -> Path:
        """Host directory of the release's chart-created PVC once it is Bound.

        Only for the offline kind node's default StorageClass (kube-controller-manager's
        hostPath provisioner), whose directory tests/e2e/kind-config.yaml mounts
        from HOST_PROVISIONER_DIR.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            volume = self.kubectl(
                "get",
                "pvc",
                "--namespace",
                namespace,
                "-l",
                f"app.kubernetes.io/instance={release}",
                "-o",
                "jsonpath={.items[0].spec.volumeName}",
                check=False,
            ).stdout.strip()
            if volume:
                path = self.kubectl(
                    "get", "pv", volume, "-o", "jsonpath={.spec.hostPath.path}"
                ).stdout.strip()
                if path:
                    return HOST_PROVISIONER_DIR / Path(path).relative_to(
                        NODE_PROVISIONER_DIR
                    )
            time.sleep(1)
        raise CommandError(
            f"the PVC of {release} in {namespace} was not Bound within {timeout_s} s; "
            "does the node have its default StorageClass (hack/make-rules/kind-up.sh)?"
        )

    def dump_namespace(self, namespace: str, out_dir: Path) -> str:
        """Writes describe/logs/logs -p/events of a namespace; returns the text."""
        out_dir.mkdir(parents=True, exist_ok=True)
        parts: list[str] = []

        def section(title: str, *args: str) -> None:
            proc = self.kubectl(*args, check=False)
            text = f"===== {title}\n{proc.stdout}{proc.stderr}"
            parts.append(text)

        section("get all", "get", "all,pvc,pdb,cm", "-n", namespace, "-o", "wide")
        section("describe pods", "describe", "pods", "-n", namespace)
        section("describe deploy", "describe", "deployments", "-n", namespace)
        section("events", "get", "events", "-n", namespace, "--sort-by=.lastTimestamp")
        pods = self.kubectl(
            "get", "pods", "-n", namespace, "-o", "name", check=False
        ).stdout.split()
        for pod in pods:
            section(
                f"logs {pod}",
                "logs",
                "-n",
                namespace,
                pod,
                "--all-containers",
                "--tail=200",
            )
            section(
                f"logs -p {pod}",
                "logs",
                "-n",
                namespace,
                pod,
                "--all-containers",
                "--previous",
                "--tail=200",
            )
        text = "\n".join(parts)
        (out_dir / "dump.txt").write_text(text)
        return text


def node_run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs a command in the kind node's container."""
    return subprocess.run(  # noqa: S603 - docker with our own arguments
        ["docker", "exec", NODE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def node_address() -> str:
    """The kind node's IPv4 address on kind's docker network (the host reaches it)."""
    proc = subprocess.run(
        ["docker", "inspect", NODE, "--format",
         "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    addresses = [ip for ip in proc.stdout.split() if "." in ip]
    if proc.returncode != 0 or not addresses:
        raise CommandError(f"no IPv4 address for node {NODE}: {proc.stderr.strip()}")
    return addresses[0]


def kind_network_gateway(network: str = "kind") -> str:
    """The host's IPv4 address on kind's docker network: what pods reach the host at.

    The node's bridge CNI masquerades pod traffic, so a server the host binds to
    this address answers pods, and nothing outside this machine sees it.
    """
    proc = subprocess.run(
        ["docker", "network", "inspect", network, "--format",
         "{{range .IPAM.Config}}{{.Gateway}} {{end}}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    gateways = [ip for ip in proc.stdout.split() if "." in ip]
    if proc.returncode != 0 or not gateways:
        raise CommandError(
            f"no IPv4 gateway on docker network {network!r} (is the kind cluster up?): "
            f"{proc.stderr.strip()}"
        )
    return gateways[0]


def wait_until(
    check: Callable[[], bool], what: str, timeout_s: float, poll_s: float = 1.0
) -> float:
    """Polls `check`; returns the seconds it took (AssertionError after the timeout)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout_s, (
            f"timed out after {timeout_s:.0f} s waiting for {what}"
        )
        time.sleep(poll_s)
    return time.monotonic() - started


def scrape_request_count(metrics_url: str, model: str) -> int:
    """Total ``:tensorflow:serving:request_count`` of `model` on one pod's metrics."""
    return int(metrics.scrape_request_count(metrics_url, model)["total"])


class ApiProxy:
    """``kubectl proxy`` on a loopback port: the API server's pod proxy from the host.

    For tests that inspect one pod (its model states, its request counters): the
    host reaches no pod IP on kind. Service traffic goes through port-forward or
    in-cluster Jobs instead.
    """

    _SERVING = re.compile(r"Starting to serve on 127\.0\.0\.1:(\d+)")

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.process: subprocess.Popen[str] | None = None
        self.base = ""

    def start(self) -> ApiProxy:
        """Starts kubectl proxy on a free port; raises CommandError if it fails."""
        argv = [self.kube.kubectl_path, "--kubeconfig", str(self.kube.kubeconfig)]
        argv += ["proxy", "--port=0", "--address=127.0.0.1"]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        found = self._SERVING.search(line)
        if not found:
            self.stop()
            raise CommandError(f"kubectl proxy did not start: {line.strip()}")
        self.base = f"http://127.0.0.1:{found.group(1)}"
        return self

    def pod_url(self, namespace: str, pod: str, port: int) -> str:
        """Base URL of `pod`'s `port` through the API server (no trailing slash)."""
        return f"{self.base}/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy"

    def stop(self) -> None:
        """Terminates kubectl proxy."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    def __enter__(self) -> ApiProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
