"""Faults under constant load, on the kind cluster (TF Serving STAND-IN image).

One release of two replicas serves an in-cluster REST load Job through its Service
while a test hurts one pod (reached through `kubectl port-forward`):

- oversized requests (a 10 MB JSON body, ten times nginx's default limit; a 32 MB
  gRPC message, eight times the 4 MB most gRPC clients and proxies allow, while
  TF Serving's own limit is INT32_MAX: model_servers/server.cc:397 at 2.20.0) and
  abruptly abandoned ones (half-sent bodies, cancelled calls): each gets its error,
  the pod keeps serving, and the load loses nothing;
- a request whose parse needs more memory than the container's limit: the kernel
  kills the server (OOMKilled), the pod leaves the Service's endpoints and comes
  back after the restart. The requests lost are those in flight on that pod until
  it left the endpoints (TF Serving dies the same way: it has no memory guard); the
  test bounds and prints them, and promtool evaluates the chart's alert rules over
  the restart as kube-state-metrics would report it.

This is the chart on a real cluster with the stand-in, never TensorFlow Serving.

Typical usage example:

    make e2e        # or, with the cluster up: pytest -m kind tests/e2e -k faults

"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
import yaml

from loadtest.payload import Payload, grpc_request_bytes, payload_from_request_file
from smoke_tests.portforward import PortForward
from tests.chart.alert_rules import PROMTOOL, expected_alert, promtool_test, rule_spec
from tests.e2e.conftest import MODEL_NAME, Release, Releases
from tests.e2e.kube import CHART_DIR, Kube, wait_until
from tests.e2e.workload import (
    assert_load_lost_nothing,
    describe_load,
    finish_load,
    load_argv,
    publish_version,
    start_load,
    wait_load_started,
)

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

SCENARIO = CHART_DIR / "ci" / "04-kind-hostpath-values.yaml"
SETS = {"replicaCount": "2", "service.type": "ClusterIP"}
CONTAINER = "tf-serving"
PREDICT = "/tensorflow.serving.PredictionService/Predict"
LOAD_RATE = 10.0
LOAD_S = 90.0
LOAD_START_TIMEOUT_S = 120.0
OVERSIZED_JSON_FLOATS = 2_500_000  # "0.5," each: a 10 MB body
OVERSIZED_GRPC_FLOATS = 8_000_000  # float32: a 32 MB message
ABANDONED = 20
# `[]` costs the stand-in's JSON parser about 64 bytes of heap per 3 bytes sent:
# a 72 MB body needs about 1.5 GB, past the scenario's 1Gi limit.
OOM_EMPTY_LISTS = 24_000_000
RESTART_TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def release(module_releases: Releases, trained_models: dict[int, Path]) -> Release:
    release = module_releases.new("faults")
    publish_version(trained_models[1], release.base_path, 1)
    sets = {"modelStorage.hostPath.path": str(release.models_dir), **SETS}
    module_releases.install(release, [SCENARIO], sets)
    return release


def start_rest_load(kube: Kube, release: Release, name: str, max_error_rate: float):
    host = kube.service_host(release.namespace, release.name)
    out = release.out_dir / name
    argv = load_argv(
        f"http://{host}:8501",
        out,
        release.base_path / "1" / "assets.extra" / "sample_request.json",
        LOAD_RATE,
        LOAD_S,
        connections=4,
        max_error_rate=max_error_rate,
        in_cluster=release.namespace,
        image=f"tf-serving-client-tools:{kube.versions['CLIENT_TOOLS_TAG']}",
        cpu_request="100m",
    )
    proc = start_load(argv, out, env=kube.env())
    wait_load_started(kube, out, proc, LOAD_START_TIMEOUT_S)
    return proc, out


def container_status(kube: Kube, release: Release, pod: str) -> dict:
    """The server container's status in `pod`."""
    status = json.loads(
        kube.kubectl("get", "pod", pod, "-n", release.namespace, "-o", "json").stdout
    )["status"]
    return next(c for c in status["containerStatuses"] if c["name"] == CONTAINER)


def rest_predict(port: int, body: bytes) -> tuple[int, str]:
    """POST `body` as a predict on the forwarded port: (status, error text)."""
    reply = requests.post(
        f"http://127.0.0.1:{port}/v1/models/{MODEL_NAME}:predict",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=120,
    )
    return reply.status_code, reply.json().get("error", "")


def abandon_rest_requests(port: int, count: int) -> None:
    """`count` connections that send a predict's headers and part of its body,
    then close."""
    head = (
        f"POST /v1/models/{MODEL_NAME}:predict HTTP/1.1\r\nHost: faults\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    ).encode()
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head + b'{"instances": [' + b"0.5," * 10_000)


def grpc_calls(port: int, request: bytes, cancel: int) -> tuple[str, list[str]]:
    """The code of one Predict of `request`, and `cancel` calls cancelled in flight."""
    options = [("grpc.max_send_message_length", -1)]
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        predict = channel.unary_unary(PREDICT)
        try:
            predict(request, timeout=60)
            code = "OK"
        except grpc.RpcError as err:
            code = err.code().name
        cancelled = []
        for _ in range(cancel):
            future = predict.future(request, timeout=60)
            time.sleep(0.05)
            future.cancel()
            cancelled.append("CANCELLED" if future.cancelled() else "DONE")
    return code, cancelled


def test_oversized_and_abandoned_requests_fail_alone(
    kube: Kube, release: Release, record_property
) -> None:
    """Each bad request gets its error; the pod and the load see nothing."""
    payload = payload_from_request_file(
        release.base_path / "1" / "assets.extra" / "sample_request.json"
    )
    name = next(iter(payload.inputs))
    oversized = Payload(
        rest_body=b"",
        inputs={name: ("DT_FLOAT", np.zeros((1, OVERSIZED_GRPC_FLOATS), np.float32))},
        signature_name=payload.signature_name,
    )
    grpc_request = grpc_request_bytes(oversized, MODEL_NAME)
    json_body = b'{"instances": [[' + b"0.5," * (OVERSIZED_JSON_FLOATS - 1) + b"0.5]]}"
    pod = kube.ready_pods(release.namespace, release.name)[0]
    restarts = container_status(kube, release, pod)["restartCount"]

    load = start_rest_load(kube, release, "load-bad-requests", max_error_rate=0.0)
    forward = PortForward(f"pod/{pod}", ["8501", "8500"], namespace=release.namespace)
    ports = forward.start()
    try:
        json_status, json_error = rest_predict(ports["8501"], json_body)
        abandon_rest_requests(ports["8501"], ABANDONED)
        grpc_code, cancelled = grpc_calls(ports["8500"], grpc_request, ABANDONED)
        after_status, _ = rest_predict(ports["8501"], payload.rest_body)
    finally:
        forward.stop()
    line = assert_load_lost_nothing(finish_load(*load, LOAD_S))
    result = {
        "json_body_mb": round(len(json_body) / 1e6, 1),
        "json_status": json_status,
        "json_error": json_error[:120],
        "grpc_message_mb": round(len(grpc_request) / 1e6, 1),
        "grpc_code": grpc_code,
        "abandoned_rest": ABANDONED,
        "cancelled_grpc": cancelled.count("CANCELLED"),
        "status_after": after_status,
    }
    record_property("bad_requests", json.dumps(result))
    record_property("load", line)
    print(f"standin faults bad requests: {result}; load {line}")
    # INVALID_ARGUMENT: TensorFlow refuses the shape, as it would a small request.
    assert json_status == 400 and json_error, result
    assert grpc_code == "INVALID_ARGUMENT", result
    assert after_status == 200, result
    assert container_status(kube, release, pod)["restartCount"] == restarts


def restart_alerts_fire(
    kube: Kube, releases: Releases, release: Release, pod: str, reason: str, out: Path
) -> str:
    """promtool over the release's rendered alert rules, fed the restart as
    kube-state-metrics reports it (restart counter 0 -> 1, last terminated reason)."""
    rendered = kube.helm(
        "template",
        release.name,
        str(CHART_DIR),
        "--namespace",
        release.namespace,
        *releases.helm_args(
            release,
            [SCENARIO],
            {
                **SETS,
                "metrics.serviceMonitor.enabled": "true",
                "metrics.prometheusRule.enabled": "true",
            },
        ),
    ).stdout
    spec = rule_spec([doc for doc in yaml.safe_load_all(rendered) if doc])
    labels = f'namespace="{release.namespace}", pod="{pod}", container="{CONTAINER}"'
    exp = {"namespace": release.namespace, "pod": pod, "container": CONTAINER}
    test = {
        "interval": "1m",
        "input_series": [
            {
                "series": f"kube_pod_container_status_restarts_total{{{labels}}}",
                "values": "0 0 1 1 1 1 1 1",
            },
            {
                "series": "kube_pod_container_status_last_terminated_reason"
                f'{{{labels}, reason="{reason}"}}',
                "values": "0 0 1 1 1 1 1 1",
            },
        ],
        "alert_rule_test": [
            {
                "alertname": "TFServingContainerRestarted",
                "eval_time": "4m",
                "exp_alerts": [
                    expected_alert(spec, "TFServingContainerRestarted", exp)
                ],
            },
            {
                "alertname": "TFServingOOMKilled",
                "eval_time": "4m",
                "exp_alerts": [
                    expected_alert(
                        spec, "TFServingOOMKilled", {**exp, "reason": reason}
                    )
                ],
            },
        ],
    }
    result = promtool_test(spec, [test], out)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_oom_kill_restarts_the_server_and_the_service_drops_it(
    kube: Kube,
    module_releases: Releases,
    release: Release,
    record_property,
) -> None:
    assert PROMTOOL.exists(), f"{PROMTOOL} is missing: run `make tools`"
    pod = kube.ready_pods(release.namespace, release.name)[0]
    service = f"{release.name}-tf-serving"
    before = container_status(kube, release, pod)["restartCount"]
    body = b'{"instances": [' + b"[]," * (OOM_EMPTY_LISTS - 1) + b"[]]}"

    load = start_rest_load(kube, release, "load-oom", max_error_rate=1.0)
    forward = PortForward(f"pod/{pod}", ["8501"], namespace=release.namespace)
    port = forward.start()["8501"]
    sent = time.monotonic()
    try:
        try:
            outcome = str(rest_predict(port, body)[0])
        except requests.RequestException as err:
            outcome = type(err).__name__
    finally:
        forward.stop()
    answered_s = time.monotonic() - sent
    left_s = wait_until(
        lambda: kube.endpoint_ready(release.namespace, service, pod) is not True,
        f"{pod} to leave the endpoints",
        RESTART_TIMEOUT_S,
        poll_s=0.5,
    )
    back_s = wait_until(
        lambda: kube.endpoint_ready(release.namespace, service, pod) is True,
        f"{pod} to be Ready again after its restart",
        RESTART_TIMEOUT_S,
    )
    summary = finish_load(*load, LOAD_S)
    status = container_status(kube, release, pod)
    terminated = status.get("lastState", {}).get("terminated", {})
    reason = terminated.get("reason", "")
    alerts = restart_alerts_fire(
        kube, module_releases, release, pod, reason, release.out_dir / "promtool"
    )
    counts = summary.get("counts", {})
    # What pod's share of the load could have been in flight or sent to it until it
    # left the endpoints (the parse blocked it from the start), plus a poll's margin.
    lost_bound = int(LOAD_RATE * (answered_s + left_s + 2))
    result = {
        "oom_body_mb": round(len(body) / 1e6, 1),
        "answer": outcome,
        "answered_after_s": round(answered_s, 1),
        "left_endpoints_after_s": round(answered_s + left_s, 1),
        "ready_again_after_s": round(answered_s + left_s + back_s, 1),
        "reason": reason,
        "exit_code": terminated.get("exitCode"),
        "restarts": status["restartCount"] - before,
        "load": describe_load(summary),
        "lost_bound": lost_bound,
        "promtool": alerts,
    }
    record_property("oom", json.dumps(result))
    print(f"standin faults OOM kill: {result}")
    assert reason == "OOMKilled" and status["restartCount"] == before + 1, result
    assert status["ready"], result
    assert counts.get("sent", 0) > 0, result
    assert counts.get("errors", 0) <= lost_bound, result
    assert counts.get("ok", 0) + counts.get("errors", 0) == counts["sent"], result
