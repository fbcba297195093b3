"""The chart's NetworkPolicy enforced, on the kind cluster (TF Serving STAND-IN image).

kube-router's firewall (tests/e2e/policy_agent.py) enforces NetworkPolicy on the node
for this test. A release with 2 replicas allows its serving ports from one namespace
(label ``tf-serving-k8s/e2e-client=allowed``); a client pod there and one in another
namespace try TCP connections to the Service's gRPC and REST ports, an HTTP GET of the
metrics (served on the REST port, so they follow its rule) and a connection to a
pod's internal server port behind the drain proxy, which the policy never opens. With
the policy on, the allowed client reaches gRPC, REST and metrics, the other one is
blocked on all (kube-router rejects, so a blocked connection is refused at once; a
dropping enforcer would time out: both count as blocked); nobody reaches the internal
port. With `networkPolicy.enabled=false`, both reach everything, which shows that
every port the policy blocked listens. This is the chart on a real cluster with the
stand-in, never TensorFlow Serving.

Typical usage example:

    make e2e     # or, with the cluster up: pytest -m kind tests/e2e -k network_policy

"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e import policy_agent
from tests.e2e.conftest import Release, Releases
from tests.e2e.kube import CHART_DIR, Kube
from tests.e2e.workload import publish_version

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

SCENARIO = CHART_DIR / "ci" / "04-kind-hostpath-values.yaml"
CLIENT_LABEL = "tf-serving-k8s/e2e-client"
SETS = {
    "replicaCount": "2",
    "service.type": "ClusterIP",
    "networkPolicy.enabled": "true",
    f"networkPolicy.from[0].namespaceSelector.matchLabels.{CLIENT_LABEL}": "allowed",
}
GRPC_PORT, REST_PORT, SERVER_REST_PORT = 8500, 8501, 8511
METRICS_PATH = "/monitoring/prometheus/metrics"
CONNECT_TIMEOUT_S = 3
# kube-router applies a policy change within a sync; the checks retry until then.
SETTLE_TIMEOUT_S = 90.0

# Run in a client pod: one line of JSON, what each target answered. A timeout (the
# packet dropped) and a refusal (rejected) are both "blocked"; anything else is named.
PROBE = """
import json, socket, sys, urllib.error, urllib.request
host, pod_ip, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
def blocked_or_name(err):
    if isinstance(err, (socket.timeout, ConnectionRefusedError)):
        return "blocked"
    return type(err).__name__
def connect(address, port):
    try:
        socket.create_connection((address, port), timeout=timeout).close()
        return "open"
    except OSError as err:
        return blocked_or_name(err)
def metrics():
    url = f"http://{host}:8501/monitoring/prometheus/metrics"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return str(reply.status)
    except urllib.error.URLError as err:
        reason = err.reason if isinstance(err.reason, OSError) else err
        return blocked_or_name(reason)
    except OSError as err:
        return blocked_or_name(err)
print(json.dumps({
    "grpc": connect(host, 8500), "rest": connect(host, 8501),
    "metrics": metrics(), "server_port": connect(pod_ip, 8511),
}))
"""
ALLOWED = {"grpc": "open", "rest": "open", "metrics": "200", "server_port": "blocked"}
DENIED = dict.fromkeys(("grpc", "rest", "metrics", "server_port"), "blocked")
OPEN = {"grpc": "open", "rest": "open", "metrics": "200", "server_port": "open"}


def client_pod(kube: Kube, namespace: str, label: str | None) -> str:
    """A running pod with Python (the client tools image) in a new `namespace`."""
    kube.kubectl("create", "namespace", namespace)
    if label:
        kube.kubectl("label", "namespace", namespace, f"{CLIENT_LABEL}={label}")
    image = f"tf-serving-client-tools:{kube.versions['CLIENT_TOOLS_TAG']}"
    kube.kubectl(
        "run", "client", "-n", namespace, f"--image={image}",
        "--image-pull-policy=IfNotPresent", "--restart=Never",
        "--command", "--", "sleep", "900",
    )  # fmt: skip
    kube.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", "pod/client", "--timeout=120s"
    )
    return namespace


def probe(kube: Kube, namespace: str, host: str, pod_ip: str) -> dict[str, str]:
    proc = kube.kubectl(
        "exec", "-n", namespace, "client", "--", "python3", "-c", PROBE,
        host, pod_ip, str(CONNECT_TIMEOUT_S),
    )  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def settled_probe(
    kube: Kube, namespace: str, host: str, pod_ip: str, expected: dict[str, str]
) -> tuple[dict[str, str], float]:
    """Probes until the answers are `expected` or the settle time is over."""
    started = time.monotonic()
    while True:
        found = probe(kube, namespace, host, pod_ip)
        waited = time.monotonic() - started
        if found == expected or waited > SETTLE_TIMEOUT_S:
            return found, waited
        time.sleep(2)


def server_pod_ip(kube: Kube, release: Release) -> str:
    pod = kube.ready_pods(release.namespace, release.name)[0]
    return kube.kubectl(
        "get", "pod", pod, "-n", release.namespace, "-o", "jsonpath={.status.podIP}"
    ).stdout.strip()


def test_policy_admits_the_allowed_namespace_only_and_off_admits_all(
    kube: Kube,
    releases: Releases,
    trained_models: dict[int, Path],
    record_property,
) -> None:
    release = releases.new("netpol")
    publish_version(trained_models[1], release.base_path, 1)
    sets = {"modelStorage.hostPath.path": str(release.models_dir), **SETS}
    suffix = release.namespace.rsplit("-", 1)[-1]
    clients = {
        "allowed": client_pod(kube, f"e2e-netpol-allowed-{suffix}", "allowed"),
        "other": client_pod(kube, f"e2e-netpol-other-{suffix}", None),
    }
    results: dict[str, dict] = {}
    try:
        with policy_agent.enforcing():
            releases.install(release, [SCENARIO], sets)
            host = kube.service_host(release.namespace, release.name)
            pod_ip = server_pod_ip(kube, release)
            for name, expected in (("allowed", ALLOWED), ("other", DENIED)):
                found, waited = settled_probe(
                    kube, clients[name], host, pod_ip, expected
                )
                results[f"on_{name}"] = {**found, "settled_s": round(waited, 1)}
            releases.upgrade(
                release, [SCENARIO], {**sets, "networkPolicy.enabled": "false"}
            )
            pod_ip = server_pod_ip(kube, release)
            for name in ("allowed", "other"):
                found, waited = settled_probe(kube, clients[name], host, pod_ip, OPEN)
                results[f"off_{name}"] = {**found, "settled_s": round(waited, 1)}
    finally:
        for namespace in clients.values():
            kube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    record_property("network_policy", json.dumps(results))
    print(f"standin network policy (kube-router): {json.dumps(results)}")
    for key, expected in (
        ("on_allowed", ALLOWED),
        ("on_other", DENIED),
        ("off_allowed", OPEN),
        ("off_other", OPEN),
    ):
        found = {k: v for k, v in results[key].items() if k != "settled_s"}
        assert found == expected, (key, results)
