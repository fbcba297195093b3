"""`tfs-load run|capacity --in-cluster NAMESPACE`: the same command as a Kubernetes Job.

kubectl port-forward carries one TCP stream through the API server and becomes
the bottleneck long before a model server does. With ``--in-cluster`` the caller's
run options go unchanged to a Job in the target namespace, running the client
tools image, so the load reaches the Service the way other pods' traffic does. The
sample request travels in a ConfigMap owned by the Job; the pod prints its report
JSON (summary.json, or capacity.json) as its last log line (``--print-summary``),
which comes back into ``--out`` here, and the pod's exit code becomes the caller's.

Typical usage example:

    tfs-load run --in-cluster serving --target http://tf-serving.serving.svc:8501 \
        --request models/fashion_mnist/1/assets.extra/sample_request.json \
        --rate 200 --duration 60 --max-p99-ms 100
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from pathlib import Path

from loadtest import constants
from loadtest.payload import find_sample_request
from smoke_tests.cluster import ClusterError, load_config
from tfserving_contract import layout

log = logging.getLogger(__name__)

# The marker in front of the summary line the pod prints with --print-summary.
SUMMARY_MARKER = "TFS_LOAD_SUMMARY "
REQUEST_MOUNT = "/etc/tfs-load"
REQUEST_KEY = "sample_request.json"
POD_OUT = "/tmp/tfs-load"
# Pod scheduling, image start and the Python imports before the first request.
START_MARGIN_S = 120.0
# Waiting reasons that never resolve on their own: fail now, not at the deadline.
FATAL_WAITING = {
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
}
# Run options not passed as given: those that shape the Job, and the request and
# report paths, which the pod gets as its own mount and scratch directory.
NOT_PASSED = {
    "in_cluster", "image", "context", "print_summary", "cpu_request",
    "memory_request", "out", "request", "model_base_path",
}  # fmt: skip
POLL_S = 1.0
# The report each command's pod prints with --print-summary.
REPORT_FILES = {"run": "summary.json", "capacity": "capacity.json"}
DEFAULT_REQUESTS = {"cpu": "500m", "memory": "256Mi"}


class JobError(RuntimeError):
    """The Job could not be created, started or read back."""


def container_args(
    args: argparse.Namespace, parser: argparse.ArgumentParser, command: str = "run"
) -> list[str]:
    """The `command` options the caller set, as pod arguments.

    Options at their default are left out; the request becomes the ConfigMap's
    mount and the pod writes its reports to its own scratch directory.
    """
    argv = [command]
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list
        dest = action.dest
        if not action.option_strings or dest in NOT_PASSED:
            continue
        value = getattr(args, dest, None)
        if value is None or value == action.default:
            continue
        flag = next(o for o in action.option_strings if o.startswith("--"))
        if isinstance(action, argparse._StoreTrueAction):  # noqa: SLF001
            argv.append(flag)
        else:
            argv += [flag, str(value)]
    return [
        *argv,
        "--request",
        f"{REQUEST_MOUNT}/{REQUEST_KEY}",
        "--out",
        POD_OUT,
        "--print-summary",
    ]


def request_files(args: argparse.Namespace) -> dict[str, str]:
    """The sample request the pod sends, and the export_metadata.json beside it.

    Read here from --request or the newest version under --model-base-path; the
    metadata gives the request's dtypes and input names, as it does locally.
    """
    if args.request is not None:
        path = Path(args.request)
    elif args.model_base_path is not None:
        path = Path(find_sample_request(args.model_base_path))
    else:
        raise JobError(
            "--in-cluster needs the request on this machine: pass --request "
            "<sample_request.json> or --model-base-path <exported model dir>"
        )
    files = {REQUEST_KEY: path}
    metadata = path.with_name(layout.EXPORT_METADATA_FILE)
    if metadata.is_file():
        files[layout.EXPORT_METADATA_FILE] = metadata
    try:
        return {key: file.read_text() for key, file in files.items()}
    except OSError as err:
        raise JobError(f"cannot read the sample request {path}: {err}") from err


def job_timeout_s(args: argparse.Namespace) -> float:
    """How long the Job may run: warm-up, run and deadline, plus the start margin."""
    return args.warmup + args.duration + args.timeout + START_MARGIN_S


def job_manifest(
    name: str,
    image: str,
    argv: list[str],
    timeout_s: float,
    requests: dict[str, str] | None = None,
) -> dict:
    """A run-once Job that never retries (a retried load run would double-count).

    `requests` are the pod's resource requests (default 500m CPU, 256Mi memory):
    the scheduler keeps a load Job Pending until a node has that much free."""
    labels = {
        "app.kubernetes.io/name": "tfs-load",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "tfs-load",
    }
    container = {
        "name": "tfs-load",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": argv,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"requests": requests or DEFAULT_REQUESTS},
        "volumeMounts": [
            {"name": "request", "mountPath": REQUEST_MOUNT, "readOnly": True},
            {"name": "scratch", "mountPath": "/tmp"},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": int(timeout_s),
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "runAsGroup": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "request", "configMap": {"name": name}},
                        {"name": "scratch", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def config_map_manifest(name: str, files: dict[str, str], job_uid: str) -> dict:
    """The request files, deleted with the Job (owner reference)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "tfs-load"},
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": job_uid}
            ],
        },
        "data": files,
    }


def split_logs(text: str) -> tuple[str, dict | None]:
    """The pod's report text and the summary from its marker line (None if absent)."""
    report, summary = [], None
    for line in text.splitlines():
        if line.startswith(SUMMARY_MARKER):
            summary = json.loads(line[len(SUMMARY_MARKER) :])
        else:
            report.append(line)
    return "\n".join(report), summary


def pod_outcome(pod) -> tuple[str, int | None, str | None]:
    """(phase, exit code once terminated, fatal waiting reason) of the Job's pod."""
    phase = pod.status.phase or "Pending"
    for status in pod.status.container_statuses or []:
        state = status.state
        if state.terminated is not None:
            return phase, state.terminated.exit_code, None
        if state.waiting is not None and state.waiting.reason in FATAL_WAITING:
            return phase, None, f"{state.waiting.reason}: {state.waiting.message}"
    return phase, None, None


class _Cluster:
    """The two API groups a load Job needs, from the kubeconfig or in-cluster config."""

    def __init__(self, context: str | None) -> None:
        from kubernetes import client

        try:
            load_config(context)
        except ClusterError as err:
            raise JobError(str(err)) from err
        self.core = client.CoreV1Api()
        self.batch = client.BatchV1Api()


def run_as_job(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    command: str = "run",
    timeout_s: float | None = None,
) -> int:
    """Runs `tfs-load <command>` as a Job in args.in_cluster; returns its exit code.

    `timeout_s` bounds the Job (default: job_timeout_s, one run's length); the
    start margin is added to it.
    """
    namespace = args.in_cluster
    try:
        files = request_files(args)
        if args.target is None:
            raise JobError(
                "--in-cluster needs --target as the pod sees it, e.g. http://"
                f"<service>.{namespace}.svc:8501 or <service>.{namespace}.svc:8500"
            )
        cluster = _Cluster(args.context)
        name = f"tfs-load-{uuid.uuid4().hex[:8]}"
        if timeout_s is None:
            timeout_s = job_timeout_s(args)
        else:
            timeout_s += START_MARGIN_S
        argv = container_args(args, parser, command)
        job = cluster.batch.create_namespaced_job(
            namespace,
            job_manifest(
                name,
                args.image,
                argv,
                timeout_s,
                {"cpu": args.cpu_request, "memory": args.memory_request},
            ),
        )
        cluster.core.create_namespaced_config_map(
            namespace, config_map_manifest(name, files, job.metadata.uid)
        )
    except JobError as err:
        print(f"error: {err}", file=sys.stderr)
        return constants.EXIT_USAGE
    except Exception as err:  # noqa: BLE001 - the client raises many types
        print(
            f"error: creating the load Job in {namespace} failed: {err}",
            file=sys.stderr,
        )
        return constants.EXIT_USAGE
    print(f"tfs-load: Job {namespace}/{name} ({args.image})", file=sys.stderr)
    try:
        pod_name, code = _wait(cluster, namespace, name, timeout_s)
        # Raw bytes: the client's deserializer mangles JSON-like log text.
        logs = cluster.core.read_namespaced_pod_log(
            pod_name, namespace, _preload_content=False
        ).data.decode("utf-8", "replace")
    except JobError as err:
        print(f"error: {err}", file=sys.stderr)
        _delete(cluster, namespace, name)
        return constants.EXIT_USAGE
    report, summary = split_logs(logs)
    print(report)
    _delete(cluster, namespace, name)
    if summary is None:
        print(
            f"error: the load pod {pod_name} exited {code} without a summary; "
            "its log is above",
            file=sys.stderr,
        )
        return code if code else constants.EXIT_USAGE
    out = args.out or Path("out/loadtest") / time.strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    report_name = REPORT_FILES[command]
    (out / report_name).write_text(json.dumps(summary, indent=2) + "\n")
    (out / "job.log").write_text(logs)
    print(f"reports: {out} ({report_name}, job.log)", file=sys.stderr)
    return code


def _wait(
    cluster: _Cluster, namespace: str, name: str, timeout_s: float
) -> tuple[str, int]:
    """Waits for the Job's pod to terminate; returns its name and exit code."""
    deadline = time.monotonic() + timeout_s + 30
    running_said = False
    while time.monotonic() < deadline:
        pods = cluster.core.list_namespaced_pod(
            namespace, label_selector=f"job-name={name}"
        ).items
        for pod in pods:
            phase, code, fatal = pod_outcome(pod)
            if fatal is not None:
                raise JobError(
                    f"the load pod {pod.metadata.name} cannot start ({fatal}); is the "
                    "image on the nodes? Set --image to one they can pull"
                )
            if code is not None:
                return pod.metadata.name, code
            if phase == "Running" and not running_said:
                print(f"tfs-load: pod {pod.metadata.name} running", file=sys.stderr)
                running_said = True
        time.sleep(POLL_S)
    raise JobError(
        f"the load Job {namespace}/{name} did not finish in {timeout_s:.0f} s"
    )


def _delete(cluster: _Cluster, namespace: str, name: str) -> None:
    """Deletes the Job, its pod and (by owner reference) its ConfigMap."""
    try:
        cluster.batch.delete_namespaced_job(
            name, namespace, propagation_policy="Background"
        )
    except Exception as err:  # noqa: BLE001 - the TTL removes it later anyway
        log.warning(
            "deleting Job %s/%s failed (%s); its TTL removes it", namespace, name, err
        )
