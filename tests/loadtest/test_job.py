"""`tfs-load run --in-cluster`: the Job it builds and the summary it brings back.

The Job itself runs on a cluster in tests/demo (kind, `make demo`); here are the
parts that need none: pod arguments, manifests, the summary line, bad input.
"""

import json

import pytest
from kubernetes import client

from loadtest import constants, job
from loadtest.cli import _add_capacity_args, _add_run_args, build_parser, main
from tests.loadtest.helpers import RELAXED_GATES, run_cli, write_sample_request


def _run_parser(add_args=_add_run_args):
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    add_args(parser)
    return parser


def _parse(*argv: str):
    return build_parser().parse_args(["run", *argv])


def test_pod_arguments_carry_every_option_the_caller_set(tmp_path):
    request = write_sample_request(tmp_path)
    args = _parse(
        "--in-cluster", "serving", "--context", "kind-x", "--image", "tools:1",
        "--protocol", "grpc", "--target", "tf.serving.svc:8500",
        "--request", str(request), "--rate", "250", "--duration", "20",
        "--max-p99-ms", "80", "--retry-connection-errors", "--out", str(tmp_path),
    )  # fmt: skip
    argv = job.container_args(args, _run_parser())
    assert argv[0] == "run"
    pod = build_parser().parse_args(argv)
    for dest in ("protocol", "target", "rate", "duration", "max_p99_ms", "timeout"):
        assert getattr(pod, dest) == getattr(args, dest), dest
    assert pod.retry_connection_errors is True
    assert str(pod.request) == f"{job.REQUEST_MOUNT}/{job.REQUEST_KEY}"
    assert str(pod.out) == job.POD_OUT
    assert pod.print_summary is True
    assert pod.in_cluster is None and pod.context is None
    assert pod.image == constants.CLIENT_TOOLS_IMAGE


def test_a_capacity_search_runs_in_the_pod_with_the_callers_search_flags(tmp_path):
    request = write_sample_request(tmp_path)
    args = build_parser().parse_args(
        [
            "capacity", "--in-cluster", "serving", "--target", "http://tf.serving.svc:8501",
            "--request", str(request), "--max-p99-ms", "50", "--start-rate", "100",
            "--precision", "0.1", "--target-rate", "900", "--pods", "3",
        ]
    )  # fmt: skip
    argv = job.container_args(args, _run_parser(_add_capacity_args), "capacity")
    assert argv[0] == "capacity"
    pod = build_parser().parse_args(argv)
    for dest in ("target", "max_p99_ms", "start_rate", "precision", "target_rate"):
        assert getattr(pod, dest) == getattr(args, dest), dest
    assert pod.pods == 3 and pod.print_summary is True and pod.in_cluster is None
    assert job.REPORT_FILES["capacity"] == "capacity.json"


def test_the_request_comes_from_the_newest_exported_version(tmp_path):
    base = tmp_path / "m"
    write_sample_request(base / "3" / "assets.extra")
    args = _parse("--in-cluster", "ns", "--model-base-path", str(base))
    files = job.request_files(args)
    assert json.loads(files[job.REQUEST_KEY])["signature_name"] == "serving_default"
    metadata = json.loads(files["export_metadata.json"])
    assert metadata["inputs"]["image"]["dtype"] == "float32"


def test_job_never_retries_and_its_deadline_covers_the_run(tmp_path):
    args = _parse("--duration", "30", "--warmup", "5", "--timeout", "10")
    timeout = job.job_timeout_s(args)
    assert timeout == 45 + job.START_MARGIN_S
    manifest = job.job_manifest("tfs-load-x", "tools:1", ["run"], timeout)
    spec = manifest["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == int(timeout)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"] for m in container["volumeMounts"]} == {
        job.REQUEST_MOUNT,
        "/tmp",
    }
    assert {"name": "request", "configMap": {"name": "tfs-load-x"}} in pod["volumes"]
    owner = job.config_map_manifest("tfs-load-x", {"a": "{}"}, "uid-1")["metadata"]
    assert owner["ownerReferences"][0] == {
        "apiVersion": "batch/v1", "kind": "Job", "name": "tfs-load-x", "uid": "uid-1"
    }  # fmt: skip


def test_print_summary_line_is_the_summary_json(loopback, tmp_path, capsys):
    code, summary = run_cli(
        tmp_path, "--target", loopback.rest_target, "--rate", "50",
        "--duration", "1", "--warmup", "0", "--print-summary", *RELAXED_GATES,
    )  # fmt: skip
    assert code == constants.EXIT_PASS
    report, printed = job.split_logs(capsys.readouterr().out)
    assert printed == summary
    assert job.SUMMARY_MARKER not in report
    assert "PASS" in report


def _pod(phase, terminated=None, waiting=None):
    state = client.V1ContainerState(terminated=terminated, waiting=waiting)
    status = client.V1ContainerStatus(
        name="tfs-load",
        image="i",
        image_id="",
        ready=False,
        restart_count=0,
        state=state,
    )
    return client.V1Pod(
        status=client.V1PodStatus(phase=phase, container_statuses=[status])
    )


def test_pod_outcome_reads_exit_code_and_fatal_waits():
    done = client.V1ContainerStateTerminated(exit_code=1)
    assert job.pod_outcome(_pod("Failed", terminated=done)) == ("Failed", 1, None)
    pull = client.V1ContainerStateWaiting(
        reason="ErrImageNeverPull", message="not here"
    )
    assert (
        job.pod_outcome(_pod("Pending", waiting=pull))[2]
        == "ErrImageNeverPull: not here"
    )
    creating = client.V1ContainerStateWaiting(reason="ContainerCreating")
    assert job.pod_outcome(_pod("Pending", waiting=creating)) == ("Pending", None, None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "http://x.ns.svc:8501"], "--in-cluster needs the request"),
        (["--request", "REQUEST"], "--in-cluster needs --target as the pod sees it"),
    ],
)
def test_missing_inputs_fail_before_any_cluster_call(tmp_path, capsys, extra, message):
    request = write_sample_request(tmp_path)
    argv = [str(request) if a == "REQUEST" else a for a in extra]
    assert main(["run", "--in-cluster", "ns", *argv]) == constants.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_no_kubeconfig_is_a_clear_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    request = write_sample_request(tmp_path)
    code = main(
        [
            "run",
            "--in-cluster",
            "ns",
            "--target",
            "http://x:8501",
            "--request",
            str(request),
        ]
    )
    assert code == constants.EXIT_USAGE
    assert "cannot load a kubeconfig" in capsys.readouterr().err


def test_job_resource_requests_come_from_the_flags():
    args = _parse("--cpu-request", "100m", "--memory-request", "128Mi")
    requests = {"cpu": args.cpu_request, "memory": args.memory_request}
    manifest = job.job_manifest("tfs-load-x", "tools:1", ["run"], 60, requests)
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
    assert "--cpu-request" not in job.container_args(args, _run_parser())


@pytest.mark.parametrize("bad", ["half", "-1", "100 m", "1.5.2", ""])
def test_a_request_that_is_no_quantity_is_refused_with_an_example(bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _parse("--cpu-request", bad)
    assert exit_info.value.code == 2
    assert "is not a Kubernetes quantity: write e.g. 250m" in capsys.readouterr().err
