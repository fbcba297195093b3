"""The offline kind cluster (hack/make-rules/kind-up.sh) is a working Kubernetes.

Usage: .venv/bin/python -m pytest tests/cluster -q -m kind   (after make e2e's
cluster is up, e.g. E2E_KEEP_CLUSTER=1)

Real checks against the running cluster: the node is Ready at the pinned
version, a pod from a locally loaded image runs, `kubectl port-forward`
reaches it, a ClusterIP Service answers by DNS name from another pod, a
headless Service resolves to every pod. Skipped when the cluster is not up.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest

from loadtest.loopback import free_port
from tests.cluster.conftest import Cluster

pytestmark = pytest.mark.kind

HTTPD_PORT = 8080
SERVICE_PORT = 80


def http_get(url: str, deadline_s: float = 20.0) -> str:
    """GET url, retrying until it answers or the deadline passes."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="module")
def web(cluster: Cluster) -> str:
    """A busybox httpd pod and a ClusterIP Service, both "web"; returns the pod name."""
    image = cluster.busybox_image
    manifest = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "httpd",
                            "image": image,
                            "imagePullPolicy": "Never",
                            "command": [
                                "sh",
                                "-c",
                                "hostname > /www/index.html && "
                                f"exec httpd -f -p {HTTPD_PORT} -h /www",
                            ],
                            # The image runs as nobody: its web root is a volume.
                            "volumeMounts": [{"name": "www", "mountPath": "/www"}],
                            "ports": [{"containerPort": HTTPD_PORT}],
                            "readinessProbe": {
                                "tcpSocket": {"port": HTTPD_PORT},
                                "periodSeconds": 1,
                            },
                        }
                    ],
                    "volumes": [{"name": "www", "emptyDir": {}}],
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web"},
                "spec": {
                    "selector": {"app": "web"},
                    "ports": [{"port": SERVICE_PORT, "targetPort": HTTPD_PORT}],
                },
            },
        ],
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    cluster.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=90s")
    return "web"


def test_node_is_ready_at_pinned_version(cluster: Cluster) -> None:
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert len(nodes) == 1
    node = nodes[0]
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert (
        node["status"]["nodeInfo"]["kubeletVersion"]
        == cluster.versions["KUBERNETES_VERSION"]
    )
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith(
        "containerd://"
    )


def test_pod_from_local_image_runs(cluster: Cluster, web: str) -> None:
    pod = json.loads(cluster.kubectl("get", "pod", web, "-o", "json").stdout)
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["podIP"].startswith("10.244.")
    assert pod["status"]["containerStatuses"][0]["image"].endswith(
        cluster.busybox_image
    )


def test_port_forward_reaches_pod(cluster: Cluster, web: str) -> None:
    port = free_port()
    forward = subprocess.Popen(
        [
            cluster.kubectl_path,
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--namespace",
            cluster.namespace,
            "port-forward",
            f"pod/{web}",
            f"{port}:{HTTPD_PORT}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert http_get(f"http://127.0.0.1:{port}/").strip() == web
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_service_name_resolves_and_answers_from_pod(cluster: Cluster, web: str) -> None:
    host = f"web.{cluster.namespace}.svc.cluster.local"
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {host} {SERVICE_PORT}"
    cluster.kubectl(
        "run",
        "client",
        "--image",
        cluster.busybox_image,
        "--image-pull-policy=Never",
        "--restart=Never",
        "--command",
        "--",
        "sh",
        "-c",
        request,
    )
    cluster.kubectl(
        "wait",
        "--for=jsonpath={.status.phase}=Succeeded",
        "pod/client",
        "--timeout=90s",
    )
    body = cluster.kubectl("logs", "client").stdout
    assert "200 OK" in body
    assert body.rstrip().endswith(web)


def test_exec_and_logs_stream_through_kubelet(cluster: Cluster, web: str) -> None:
    hostname = cluster.kubectl("exec", web, "--", "hostname").stdout.strip()
    assert hostname == web
    cluster.kubectl(
        "exec", web, "--", "sh", "-c", "echo marker-from-exec > /proc/1/fd/1"
    )
    assert "marker-from-exec" in cluster.kubectl("logs", web).stdout


def test_headless_service_resolves_to_every_pod(cluster: Cluster) -> None:
    image = cluster.busybox_image
    cluster.kubectl(
        "create",
        "deployment",
        "sleepers",
        f"--image={image}",
        "--replicas=2",
        "--",
        "sleep",
        "600",
    )
    cluster.kubectl(
        "create", "service", "clusterip", "sleepers", "--clusterip=None", "--tcp=80:80"
    )
    cluster.kubectl("rollout", "status", "deployment/sleepers", "--timeout=90s")
    pods = json.loads(
        cluster.kubectl("get", "pods", "-l", "app=sleepers", "-o", "json").stdout
    )
    pod_ips = {pod["status"]["podIP"] for pod in pods["items"]}
    assert len(pod_ips) == 2
    name = f"sleepers.{cluster.namespace}.svc.cluster.local"
    deadline = time.monotonic() + 30
    while True:
        answer = cluster.kubectl(
            "exec",
            pods["items"][0]["metadata"]["name"],
            "--",
            "nslookup",
            "-type=a",
            name,
        ).stdout
        resolved = {
            line.split()[-1]
            for line in answer.splitlines()
            if line.startswith("Address:")
        }
        if pod_ips <= resolved or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert pod_ips <= resolved
