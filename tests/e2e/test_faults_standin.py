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
  the restart as kube-state-metrics would report it;
- an upgrade whose new pod cannot start: its model loads slower than the startup
  budget (the budget cut to 1 s, below the stand-in's load time of several seconds),
  or its only version is broken so the load fails and the server exits 255 (TF
  Serving's "did not become available"). The kubelet restarts the container, the
  pod never joins the Service, the old pods serve on (maxUnavailable 0), and
  upgrading back removes it: the load loses nothing;
- the API server stopped for a while and started again (its static pod's manifest
  taken off the node and put back) while a load from the host goes to the Service's
  node port: the pods keep serving, none restarts, the load loses nothing.

This is the chart on a real cluster with the stand-in, never TensorFlow Serving.

Typical usage example:

    make e2e        # or, with the cluster up: pytest -m kind tests/e2e -k faults

"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
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
from tests.e2e.kube import CHART_DIR, Kube, node_address, node_run, wait_until
from tests.e2e.workload import (
    assert_load_lost_nothing,
    describe_load,
    finish_load,
    load_argv,
    publish_broken_version,
    publish_version,
    start_load,
    start_service_load,
)

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

SCENARIO = CHART_DIR / "ci" / "04-kind-hostpath-values.yaml"
SETS = {"replicaCount": "2", "service.type": "ClusterIP"}
CONTAINER = "tf-serving"
PREDICT = "/tensorflow.serving.PredictionService/Predict"
LOAD_RATE = 10.0
LOAD_S = 90.0
OVERSIZED_JSON_FLOATS = 2_500_000  # "0.5," each: a 10 MB body
OVERSIZED_GRPC_FLOATS = 8_000_000  # float32: a 32 MB message
ABANDONED = 20
# `[]` costs the stand-in's JSON parser about 64 bytes of heap per 3 bytes sent:
# a 72 MB body needs about 1.5 GB, past the scenario's 1Gi limit.
OOM_EMPTY_LISTS = 24_000_000
RESTART_TIMEOUT_S = 180.0
STARTUP_FAULT_LOAD_S = 75.0
API_SERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
PARKED_MANIFEST = "/etc/kubernetes/kube-apiserver.yaml.parked"
API_LOAD_LEAD_S = 10.0
# Stopping, 10 s down and starting stay inside the node lifecycle controller's grace
# for a silent kubelet (--node-monitor-grace-period): past it the node turns NotReady
# once the API is back, and its pods leave the endpoints. That is a node outage.
API_DOWN_S = 10.0
API_RESTART_LOAD_S = 100.0
API_TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def release(module_releases: Releases, trained_models: dict[int, Path]) -> Release:
    release = module_releases.new("faults")
    publish_version(trained_models[1], release.base_path, 1)
    sets = {"modelStorage.hostPath.path": str(release.models_dir), **SETS}
    module_releases.install(release, [SCENARIO], sets)
    return release


def container_status(kube: Kube, release: Release, pod: str) -> dict:
    """The server container's status in `pod`."""
    return kube.container_status(release.namespace, pod, CONTAINER)


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

    load = start_service_load(kube, release, "load-bad-requests", LOAD_RATE, LOAD_S)
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

    load = start_service_load(
        kube, release, "load-oom", LOAD_RATE, LOAD_S, max_error_rate=1.0
    )
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


def broken_only_models(release: Release, trained_models: dict[int, Path]) -> Path:
    """A models dir beside the release's whose one version has a garbage graph."""
    models = release.models_dir / "broken-only"
    publish_broken_version(trained_models[1], models / MODEL_NAME, 1)
    return models


# What each fault changes in the release's values, and what its pod must show.
STARTUP_FAULTS = {
    "load-slower-than-startup-budget": (
        lambda release, models: {
            "probes.startup.periodSeconds": "1",
            "probes.startup.failureThreshold": "1",
            "probes.startup.timeoutSeconds": "1",
        },
        "Startup probe failed",
    ),
    "load-fails": (
        # No load retries: the default 5, 60 s apart, hold the pod 5 minutes first.
        lambda release, models: {
            "modelStorage.hostPath.path": str(broken_only_models(release, models)),
            "server.maxNumLoadRetries": "0",
        },
        "did not become available",
    ),
}


def failed_start(kube: Kube, release: Release, pod: str) -> str:
    """The events and the previous server log of `pod`: what names its failure."""
    events = kube.kubectl(
        "get", "events", "-n", release.namespace,
        "--field-selector", f"involvedObject.name={pod}",
        "-o", "jsonpath={range .items[*]}{.message}{'\\n'}{end}",
    ).stdout  # fmt: skip
    previous = kube.kubectl(
        "logs", "-n", release.namespace, pod, "-c", CONTAINER, "--previous",
        "--tail=20", check=False,
    ).stdout  # fmt: skip
    return events + previous


@pytest.mark.parametrize("fault", sorted(STARTUP_FAULTS))
def test_a_new_pod_that_cannot_start_takes_no_traffic(
    kube: Kube,
    module_releases: Releases,
    release: Release,
    trained_models: dict[int, Path],
    fault: str,
    record_property,
) -> None:
    faulty_sets, evidence = STARTUP_FAULTS[fault]
    sets = {"modelStorage.hostPath.path": str(release.models_dir), **SETS}
    service = f"{release.name}-tf-serving"
    old = set(kube.ready_pods(release.namespace, release.name))
    assert len(old) == 2, old
    load = start_service_load(
        kube, release, f"load-{fault}", LOAD_RATE, STARTUP_FAULT_LOAD_S
    )
    module_releases.upgrade(
        release,
        [SCENARIO],
        {**sets, **faulty_sets(release, trained_models)},
        wait=False,
    )
    pod, status, restarted_s = kube.wait_new_pod_restarted(
        release.namespace, release.name, old, CONTAINER, RESTART_TIMEOUT_S
    )
    why = failed_start(kube, release, pod)
    (release.out_dir / f"{fault}.txt").write_text(why)
    in_service = kube.endpoint_ready(release.namespace, service, pod)
    serving = set(kube.ready_pods(release.namespace, release.name))
    undo_s = module_releases.upgrade(release, [SCENARIO], sets)
    after = set(kube.ready_pods(release.namespace, release.name))
    summary = finish_load(*load, STARTUP_FAULT_LOAD_S)
    terminated = status.get("lastState", {}).get("terminated", {})
    result = {
        "fault": fault,
        "restarted_after_s": round(restarted_s, 1),
        "exit_code": terminated.get("exitCode"),
        "reason": terminated.get("reason"),
        "new_pod_in_endpoints": in_service,
        "old_pods_serving": len(serving & old),
        "undo_s": round(undo_s, 1),
        "same_pods_after_undo": after == old,
        "load": describe_load(summary),
    }
    record_property(fault, json.dumps(result))
    print(f"standin faults {fault}: {result}")
    assert evidence in why, (result, why)
    assert not status.get("ready") and in_service is not True, result
    assert serving >= old and after == old, result
    if fault == "load-fails":
        assert terminated.get("exitCode") == 255, result
    assert_load_lost_nothing(summary)


@contextlib.contextmanager
def api_server_stopped(kube: Kube) -> Iterator[float]:
    """The API server's static pod off the node (the kubelet stops it) for the
    block, which gets the seconds it took to stop; then put back."""
    node_run("mv", API_SERVER_MANIFEST, PARKED_MANIFEST)
    try:
        yield wait_until(
            lambda: not kube.is_ready(), "the API server to stop", API_TIMEOUT_S
        )
    finally:
        node_run("mv", PARKED_MANIFEST, API_SERVER_MANIFEST)


def test_api_server_restart_leaves_serving_untouched(
    kube: Kube,
    module_releases: Releases,
    release: Release,
    record_property,
) -> None:
    sets = {
        "modelStorage.hostPath.path": str(release.models_dir),
        **SETS,
        "service.type": "NodePort",
    }
    module_releases.upgrade(release, [SCENARIO], sets)
    service = f"{release.name}-tf-serving"
    node_port = kube.kubectl(
        "get", "service", service, "-n", release.namespace,
        "-o", "jsonpath={.spec.ports[?(@.name=='http')].nodePort}",
    ).stdout.strip()  # fmt: skip
    pods = kube.ready_pods(release.namespace, release.name)
    restarts = {p: container_status(kube, release, p)["restartCount"] for p in pods}
    # From the host: a load Job's launcher follows its Job through the API server.
    out = release.out_dir / "load-api-restart"
    argv = load_argv(
        f"http://{node_address()}:{node_port}",
        out,
        release.base_path / "1" / "assets.extra" / "sample_request.json",
        LOAD_RATE,
        API_RESTART_LOAD_S,
        connections=4,
    )
    proc = start_load(argv, out)
    time.sleep(API_LOAD_LEAD_S)
    with api_server_stopped(kube) as stop_s:
        time.sleep(API_DOWN_S)
    back_s = wait_until(
        kube.is_ready, "the API server to answer again", API_TIMEOUT_S, poll_s=2
    )
    summary = finish_load(proc, out, API_RESTART_LOAD_S)
    after = {p: container_status(kube, release, p)["restartCount"] for p in pods}
    result = {
        "api_stopped_after_s": round(stop_s, 1),
        "api_down_s": round(API_DOWN_S + back_s, 1),
        "load_covered_outage": API_LOAD_LEAD_S + stop_s + API_DOWN_S
        < API_RESTART_LOAD_S,
        "pods_restarted": sum(after[p] - restarts[p] for p in pods),
        "same_pods_ready": kube.ready_pods(release.namespace, release.name) == pods,
        "load": describe_load(summary),
    }
    record_property("api_server_restart", json.dumps(result))
    print(f"standin faults API server restart: {result}")
    assert result["load_covered_outage"], result
    assert result["pods_restarted"] == 0 and result["same_pods_ready"], result
    assert_load_lost_nothing(summary)
