"""kubectl/helm helpers for the e2e suite on the offline cluster (STAND-IN image).

Everything shells out to the pinned binaries: kubectl from
hack/cluster/build-kubernetes.sh's cache (else PATH) and helm from bin/.

Typical usage example:

    kube = Kube.discover()
    kube.kubectl("get", "nodes")
    kube.helm("install", "rel", CHART_DIR, "--namespace", "ns")
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from loadtest import metrics
from tests.chart.helpers import versions_env

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "tf-serving"
DEFAULT_STATE_DIR = Path("/var/lib/tf-serving-k8s")
COMMAND_TIMEOUT_S = 600


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
        """Finds the offline cluster; returns None when it is not up."""
        versions = versions_env()
        state = Path(os.environ.get("CLUSTER_STATE_DIR", DEFAULT_STATE_DIR))
        kubeconfig = Path(os.environ.get("CLUSTER_KUBECONFIG", state / "kubeconfig"))
        cache = Path(
            os.environ.get("K8S_CACHE_DIR", Path.home() / ".cache" / "tf-serving-k8s")
        )
        built = cache / f"k8s-{versions.get('KUBERNETES_VERSION', '')}" / "bin"
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

    def service_cluster_ip(
        self, namespace: str, release: str, name: str = "tf-serving"
    ) -> str:
        """ClusterIP of the release's (non-headless) Service of component `name`."""
        return self._service(namespace, release, name)[1]

    def service_host(
        self, namespace: str, release: str, name: str = "tf-serving"
    ) -> str:
        """In-cluster DNS name of that Service, as pods (a load Job) reach it."""
        return f"{self._service(namespace, release, name)[0]}.{namespace}.svc"

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

    def ready_pods(self, namespace: str, release: str) -> dict[str, str]:
        """Name -> pod IP of the release's Ready server pods (not terminating)."""
        proc = self._server_pods(
            namespace,
            release,
            "jsonpath={range .items[*]}{.metadata.name} {.status.podIP} "
            "{.metadata.deletionTimestamp} "
            "{.status.conditions[?(@.type=='Ready')].status}{'\\n'}{end}",
        )
        pods: dict[str, str] = {}
        for line in proc.stdout.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[2] == "True":
                pods[fields[0]] = fields[1]
        return pods

    def bound_claim_path(self, namespace: str, release: str, timeout_s: float) -> Path:
        """Host directory of the release's chart-created PVC once it is Bound.

        Only for the offline cluster's default StorageClass (the kube-controller-manager
        hostPath provisioner on this host).
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
                    return Path(path)
            time.sleep(1)
        raise CommandError(
            f"the PVC of {release} in {namespace} was not Bound within {timeout_s} s; "
            "is the default StorageClass (hack/cluster-up.sh) there?"
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


def scrape_request_count(pod_ip: str, port: int, path: str, model: str) -> int:
    """Total ``:tensorflow:serving:request_count`` of `model` on one pod's metrics."""
    return int(
        metrics.scrape_request_count(f"http://{pod_ip}:{port}{path}", model)["total"]
    )
