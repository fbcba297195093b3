"""Model volumes and load runs for the e2e suite (TF Serving STAND-IN on the cluster).

Model directories live on the host (the offline cluster's node IS the host), so a
hostPath volume serves them; every directory is world-readable because the server
runs as uid 1000. Versions are published like model_export does: copy into a
non-numeric staging directory, then rename it to its number.

Typical usage example:

    publish_version(trained / "2", live_base, 2)
    proc = start_load(target, out_dir, rate=25, duration=30)
    summary = finish_load(proc, out_dir)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tests.e2e.kube import REPO_ROOT, Kube

if TYPE_CHECKING:
    from tests.e2e.conftest import Release

# A load Job adds pod start and imports (loadtest.job.START_MARGIN_S bounds them).
LOAD_TIMEOUT_MARGIN_S = 200
# Seconds an in-cluster load Job may take to start sending (image start, imports).
LOAD_START_TIMEOUT_S = 120.0
# What `tfs-load run --in-cluster` prints once it created its Job.
JOB_LINE = re.compile(r"tfs-load: Job ([\w.-]+)/([\w.-]+) ")


def make_readable(root: Path) -> None:
    """chmod a+rX on root and everything below it (the server runs as uid 1000)."""
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o644)
        for name in dirnames:
            os.chmod(Path(dirpath) / name, 0o755)


def publish_version(source: Path, base_path: Path, version: int) -> Path:
    """Copies a version dir into base_path/<version> atomically (stage, rename)."""
    staging = base_path / f".staging-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    make_readable(staging)
    target = base_path / str(version)
    os.rename(staging, target)
    return target


def publish_broken_version(source: Path, base_path: Path, version: int) -> Path:
    """Publishes a copy of `source` whose saved_model.pb is garbage, as `version`."""
    staging = base_path / f".staging-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    (staging / "saved_model.pb").write_bytes(b"not a SavedModel protobuf\x00\xff" * 8)
    make_readable(staging)
    target = base_path / str(version)
    os.rename(staging, target)
    return target


def load_argv(
    target: str,
    out_dir: Path,
    request: Path,
    rate: float,
    duration: float,
    protocol: str = "rest",
    warmup: float = 0.0,
    max_p99_ms: float | None = None,
    connections: int = 0,
    metrics_url: str | None = None,
    max_error_rate: float | None = 0.0,
    retry_connection_errors: bool = False,
    in_cluster: str | None = None,
    image: str | None = None,
    cpu_request: str | None = None,
) -> list[str]:
    """Command line of one bounded open-loop `python -m loadtest run`.

    `max_error_rate` None leaves the tester's default; `retry_connection_errors`
    turns on its counted retry-once mode (never silent); `in_cluster` (a namespace)
    runs it as a Job there with `image` (and `cpu_request`), and `target` is then
    the pod's view."""
    argv = [
        sys.executable,
        "-m",
        "loadtest",
        "run",
        "--protocol",
        protocol,
        "--target",
        target,
        "--request",
        str(request),
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        # A shared 2-core machine: judge the server, not the generator's scheduling.
        "--max-lag-p99-ms",
        "250",
        "--max-backlog-s",
        "5",
        "--timeout",
        "10",
        "--out",
        str(out_dir),
    ]
    if max_error_rate is not None:
        argv += ["--max-error-rate", str(max_error_rate)]
    if retry_connection_errors:
        argv.append("--retry-connection-errors")
    if max_p99_ms is not None:
        argv += ["--max-p99-ms", str(max_p99_ms)]
    if connections:
        argv += ["--connections", str(connections)]
    if metrics_url:
        argv += ["--metrics-url", metrics_url]
    if in_cluster:
        argv += ["--in-cluster", in_cluster, *(["--image", image] if image else [])]
        argv += ["--cpu-request", cpu_request] if cpu_request else []
    return argv


def start_load(
    argv: list[str], out_dir: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Starts a load run in the background; its output goes to out_dir/loadtest.log."""
    out_dir.mkdir(parents=True, exist_ok=True)
    log_file = (out_dir / "loadtest.log").open("w")
    return subprocess.Popen(  # noqa: S603 - our own module
        argv, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, env=env
    )


def wait_load_started(
    kube: Kube, out_dir: Path, proc: subprocess.Popen, timeout_s: float
) -> float:
    """Seconds until an in-cluster load Job's pod says `running:` (it is sending).

    The launcher names its Job in out_dir/loadtest.log; the pod's own log says when
    the warm-up starts, after its image started and its imports finished."""
    started = time.monotonic()
    job = None
    while time.monotonic() - started < timeout_s:
        if proc.poll() is not None:
            raise AssertionError((out_dir / "loadtest.log").read_text())
        if job is None:
            found = JOB_LINE.search((out_dir / "loadtest.log").read_text())
            job = found and found.groups()
        if job:
            logs = kube.kubectl(
                "logs", f"job/{job[1]}", "-n", job[0], check=False
            ).stdout
            if "running: " in logs:
                return time.monotonic() - started
        time.sleep(1)
    raise AssertionError(f"load Job {job} did not start sending in {timeout_s} s")


def finish_load(proc: subprocess.Popen, out_dir: Path, duration: float) -> dict:
    """Waits for a load run and returns summary.json plus `exit_code` and `log`."""
    try:
        code = proc.wait(timeout=duration + LOAD_TIMEOUT_MARGIN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = -9
    summary_path = out_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    summary["exit_code"] = code
    summary["log"] = (out_dir / "loadtest.log").read_text()
    return summary


def run_load(
    argv: list[str], out_dir: Path, duration: float, env: dict[str, str] | None = None
) -> dict:
    """Runs one load run in the foreground; see finish_load."""
    return finish_load(start_load(argv, out_dir, env), out_dir, duration)


def start_service_load(
    kube: Kube,
    release: Release,
    name: str,
    rate: float,
    duration: float,
    max_error_rate: float = 0.0,
) -> tuple[subprocess.Popen, Path]:
    """An in-cluster REST load Job (4 connections, 100m CPU) on the release's Service,
    sending; returns (process, out dir) for finish_load."""
    host = kube.service_host(release.namespace, release.name)
    out = release.out_dir / name
    argv = load_argv(
        f"http://{host}:8501",
        out,
        release.base_path / "1" / "assets.extra" / "sample_request.json",
        rate,
        duration,
        connections=4,
        max_error_rate=max_error_rate,
        in_cluster=release.namespace,
        image=f"tf-serving-client-tools:{kube.versions['CLIENT_TOOLS_TAG']}",
        cpu_request="100m",
    )
    proc = start_load(argv, out, env=kube.env())
    wait_load_started(kube, out, proc, LOAD_START_TIMEOUT_S)
    return proc, out


def describe_load(summary: dict) -> str:
    """One line with the numbers a report needs."""
    counts = summary.get("counts", {})
    p99 = summary.get("latency_ms", {}).get("corrected", {}).get("p99")
    return (
        f"exit={summary.get('exit_code')} verdict={summary.get('verdict')} "
        f"sent={counts.get('sent')} ok={counts.get('ok')} "
        f"errors={counts.get('errors')} by_kind={summary.get('errors_by_kind')} "
        f"retried={counts.get('retried')} "
        f"p99_ms={p99}"
    )


def assert_load_lost_nothing(summary: dict) -> str:
    """Asserts the run sent requests and every one succeeded; returns describe_load."""
    line = describe_load(summary)
    counts = summary.get("counts", {})
    assert summary["exit_code"] == 0, summary["log"]
    assert counts.get("sent", 0) > 0 and counts.get("errors") == 0, line
    assert counts.get("ok") == counts.get("sent"), line
    return line
