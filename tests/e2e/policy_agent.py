"""kube-router's firewall as the e2e cluster's NetworkPolicy agent, on the kind node.

The node's bridge CNI enforces no NetworkPolicy. kube-router (built from source by
``hack/build/addons.sh kube-router``) enforces it with the node's iptables and ipset:
it runs on the node as a transient systemd unit with the node's admin kubeconfig,
only while a test needs enforcement, and removes its rules when it stops
(``--cleanup-config``), so the rest of the suite runs on the cluster as before.
kube-network-policies, the agent kind ships, needs nftables' queue statement, which
this VM's kernel lacks (CONFIG_NFT_QUEUE is not set).

Typical usage example:

    with enforcing():
        ...  # NetworkPolicies are enforced on the node
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator

from tests.e2e.kube import NODE, REPO_ROOT, node_run

BINARY = REPO_ROOT / "bin" / "kube-router"
NODE_BINARY = "/usr/local/bin/kube-router"
UNIT = "tf-serving-e2e-kube-router"
HEALTH_PORT = 20244
READY_TIMEOUT_S = 60.0


def service_cidr() -> str:
    """The cluster's Service CIDR, from the node's kube-apiserver manifest."""
    manifest = node_run("cat", "/etc/kubernetes/manifests/kube-apiserver.yaml").stdout
    found = re.search(r"--service-cluster-ip-range=(\S+)", manifest)
    assert found, "kube-apiserver has no --service-cluster-ip-range"
    return found.group(1)


def healthy() -> bool:
    """Whether kube-router's health endpoint on the node answers 200."""
    probe = (
        f"exec 3<>/dev/tcp/127.0.0.1/{HEALTH_PORT} && "
        'printf "GET /healthz HTTP/1.0\\r\\n\\r\\n" >&3 && head -n 1 <&3'
    )
    return " 200 " in node_run("bash", "-c", probe, check=False).stdout


def journal() -> str:
    return node_run(
        "journalctl", "-u", UNIT, "--no-pager", "-n", "40", check=False
    ).stdout


@contextlib.contextmanager
def enforcing() -> Iterator[None]:
    """kube-router's firewall on the node for the duration of the block."""
    assert BINARY.exists(), f"{BINARY} is missing: run hack/build/addons.sh kube-router"
    subprocess.run(  # noqa: S603 - docker with our own arguments
        ["docker", "cp", str(BINARY), f"{NODE}:{NODE_BINARY}"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    node_run(
        "systemd-run",
        f"--unit={UNIT}",
        "--property=Restart=on-failure",
        NODE_BINARY,
        "--kubeconfig=/etc/kubernetes/admin.conf",
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        f"--service-cluster-ip-range={service_cidr()}",
        f"--hostname-override={NODE}",
        f"--health-port={HEALTH_PORT}",
        "--metrics-port=0",
    )
    try:
        started = time.monotonic()
        while not healthy():
            assert time.monotonic() - started < READY_TIMEOUT_S, (
                f"kube-router not healthy after {READY_TIMEOUT_S:.0f} s:\n{journal()}"
            )
            time.sleep(1)
        yield
    finally:
        node_run("systemctl", "stop", UNIT, check=False)
        node_run("systemctl", "reset-failed", UNIT, check=False)
        node_run(NODE_BINARY, "--cleanup-config", check=False)
