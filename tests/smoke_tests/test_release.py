"""--release mode without a cluster: Service choice, and the port-forward's lifetime.

kubectl is replaced by a script on PATH that prints kubectl's forwarding lines
and sleeps; the kubernetes API lookup is replaced in a wrapper process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from smoke_tests import cluster
from tests.smoke_tests.helpers import write_sample_dir

REPO_ROOT = Path(__file__).resolve().parents[2]


def _service(name: str, ports: dict[str, int], cluster_ip: str = "10.0.0.1"):
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name),
        spec=SimpleNamespace(
            cluster_ip=cluster_ip,
            ports=[SimpleNamespace(name=n, port=p) for n, p in ports.items()],
        ),
    )


def test_pick_service_prefers_clusterip_with_http_and_grpc_ports():
    services = [
        _service("tfs-headless", {"http": 8501, "grpc": 8500}, cluster_ip="None"),
        _service("tfs-metrics", {"metrics": 9090}),
        _service("tfs", {"http": 8501, "grpc": 8500}),
    ]
    chosen = cluster.pick_service(services, "ml", "tfs")
    assert (chosen.name, chosen.ports) == ("tfs", {"http": 8501, "grpc": 8500})


def test_pick_service_explains_what_it_found():
    with pytest.raises(cluster.ClusterError, match="tfs-metrics"):
        cluster.pick_service([_service("tfs-metrics", {"metrics": 1})], "ml", "tfs")


WRAPPER = """
import sys
from smoke_tests import cli, cluster
cluster.find_service = lambda release, namespace, context, timeout: cluster.ServiceRef(
    release + "-svc", namespace, {"http": 8501, "grpc": 8500})
raise SystemExit(cli.main(sys.argv[1:]))
"""


def _fake_kubectl(
    bin_dir: Path, pid_file: Path, http_port: int, grpc_port: int
) -> dict:
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$$ $*" > {pid_file}\n'
        f'echo "Forwarding from 127.0.0.1:{http_port} -> 8501"\n'
        f'echo "Forwarding from 127.0.0.1:{grpc_port} -> 8500"\n'
        "exec sleep 120\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _argv(tmp_path: Path, timeout: str) -> list[str]:
    sample = write_sample_dir(tmp_path / "base")
    return [
        sys.executable, "-c", WRAPPER,
        "--release", "tfs", "--namespace", "ml",
        "--sample-dir", str(sample),
        "--timeout", timeout,
        "--json", str(tmp_path / "report.json"),
    ]  # fmt: skip


def test_release_uses_the_forwarded_ports_and_stops_kubectl(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]  # closed below: connections are refused
    pid_file = tmp_path / "kubectl.pid"
    env = _fake_kubectl(tmp_path / "bin", pid_file, free, free)
    result = subprocess.run(
        _argv(tmp_path, "2"), cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    pid, args = pid_file.read_text().split(" ", 1)
    assert "port-forward svc/tfs-svc 0:http 0:grpc" in args
    assert "--namespace ml" in args
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["target"]["rest_url"] == f"http://127.0.0.1:{free}"
    assert report["target"]["service"] == "ml/tfs-svc"
    assert _gone(int(pid))


def test_sigterm_during_a_run_still_stops_the_port_forward(tmp_path):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        pid_file = tmp_path / "kubectl.pid"
        env = _fake_kubectl(tmp_path / "bin", pid_file, port, port)
        process = subprocess.Popen(
            _argv(tmp_path, "60"), cwd=REPO_ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the REST status call is now waiting on the silent socket
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    assert code == 128 + signal.SIGTERM
    pid = int(pid_file.read_text().split(" ", 1)[0])
    assert _gone(pid)
