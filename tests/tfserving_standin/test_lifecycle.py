"""Model lifecycle of the TF Serving STAND-IN (not TensorFlow Serving): version
polling, bad versions, labels, config reload, start-up gating and shutdown."""

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import (
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_log_pb2,
)
from tensorflow_serving.config import model_server_config_pb2

from loadtest.loopback import free_port
from tests.standin_fixtures import REPO_ROOT, port_open
from tests.tfserving_standin.conftest import publish_version

pytestmark = pytest.mark.standin


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def states(server) -> dict[str, dict]:
    body = requests.get(server.model_url, timeout=10).json()
    return {row["version"]: row for row in body["model_version_status"]}


def served_version(server, route: str = "") -> str:
    meta = requests.get(f"{server.model_url}{route}/metadata", timeout=10)
    meta.raise_for_status()
    return meta.json()["model_spec"]["version"]


def break_warmup(version_dir: Path) -> None:
    """Replaces the warmup records with one whose input has the wrong dtype."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "fashion_mnist"
    request.inputs["image"].CopyFrom(
        tf.make_tensor_proto(np.zeros((1, 28, 28, 1), np.int32))
    )
    log = prediction_log_pb2.PredictionLog()
    log.predict_log.request.CopyFrom(request)
    path = version_dir / "assets.extra" / "tf_serving_warmup_requests"
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(log.SerializeToString())


def test_standin_new_version_replaces_old_and_bad_ones_are_kept_out(
    standin_server_factory, model_copy, sample_request
):
    server = standin_server_factory(
        model_copy, "--file_system_poll_wait_seconds=1", "--max_num_load_retries=0"
    )
    assert "Starting to read warmup data" in server.logs()

    (model_copy / "7.tmp").mkdir()  # not a number: ignored
    publish_version(model_copy, 1, 2)
    wait_for(
        lambda: states(server).get("2", {}).get("state") == "AVAILABLE",
        what="version 2 AVAILABLE",
    )
    wait_for(lambda: states(server)["1"]["state"] == "END", what="version 1 END")
    assert served_version(server) == "2"
    assert "7" not in states(server)

    broken = publish_version(model_copy, 1, 3)
    break_warmup(broken)
    row = wait_for(
        lambda: (
            states(server).get("3", {}).get("state") == "END" and states(server)["3"]
        ),
        what="version 3 END",
    )
    assert row["status"]["error_code"] == "INVALID_ARGUMENT"
    assert "Type mismatch" in row["status"]["error_message"]
    assert states(server)["2"]["state"] == "AVAILABLE"
    predict = requests.post(
        f"{server.model_url}:predict", json=sample_request, timeout=30
    )
    assert predict.status_code == 200
    assert served_version(server) == "2"


def write_config(path: Path, base_path: Path, labels: dict[str, int]) -> None:
    label_text = "".join(
        f'    version_labels {{ key: "{k}" value: {v} }}\n' for k, v in labels.items()
    )
    path.write_text(
        'model_config_list {\n  config {\n    name: "fashion_mnist"\n'
        f'    base_path: "{base_path}"\n    model_platform: "tensorflow"\n'
        "    model_version_policy { specific { versions: 1 versions: 2 } }\n"
        f"{label_text}  }}\n}}\n"
    )


def test_standin_labels_and_config_reload(
    standin_server_factory, model_copy, tmp_path, sample_request
):
    publish_version(model_copy, 1, 2)
    config = tmp_path / "models.config"
    write_config(config, model_copy, {"stable": 1, "canary": 2})
    server = standin_server_factory(
        None,
        f"--model_config_file={config}",
        "--model_config_file_poll_wait_seconds=1",
        "--allow_version_labels_for_unavailable_models",
    )
    wait_for(
        lambda: (
            {r["state"] for r in states(server).values()} == {"AVAILABLE"}
            and len(states(server)) == 2
        ),
        what="versions 1 and 2 AVAILABLE",
    )
    assert served_version(server, "/labels/stable") == "1"
    assert served_version(server, "/labels/canary") == "2"
    assert served_version(server, "/versions/1") == "1"
    canary = requests.post(
        f"{server.model_url}/labels/canary:predict", json=sample_request, timeout=30
    )
    assert canary.status_code == 200, canary.text
    # GetModelStatus ignores the label and lists every version, as upstream does.
    by_label = requests.get(f"{server.model_url}/labels/canary", timeout=10).json()
    assert len(by_label["model_version_status"]) == 2
    unknown = requests.get(f"{server.model_url}/labels/nope/metadata", timeout=10)
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "Unrecognized servable version label: nope"

    write_config(config, model_copy, {"stable": 2})
    wait_for(
        lambda: served_version(server, "/labels/stable") == "2",
        what="stable label moved to version 2",
    )
    config.write_text("this is { not a config")
    time.sleep(2.5)  # a failed reload is only logged; serving goes on
    assert served_version(server, "/labels/stable") == "2"
    assert "Failed to read ModelServerConfig file" in server.logs()


def test_standin_labels_at_startup_need_the_flag(
    standin_server_factory, model_copy, tmp_path
):
    config = tmp_path / "models.config"
    write_config(config, model_copy, {"stable": 1})
    server = standin_server_factory(
        None, f"--model_config_file={config}", wait_ready=False
    )
    assert server.process.wait(timeout=60) == 255
    assert (
        "Request to assign label to version 1 of model fashion_mnist, which is not "
        "currently available for inference" in server.logs()
    )


def test_standin_ports_stay_closed_until_a_version_loads(
    standin_server_factory, model_copy
):
    empty = model_copy.parent / "empty"
    empty.mkdir()
    server = standin_server_factory(
        empty, "--file_system_poll_wait_seconds=1", wait_ready=False
    )
    wait_for(
        lambda: "No versions of servable" in server.logs(), 60, "the polling warning"
    )
    assert not port_open(server.rest_port)
    assert not port_open(server.grpc_port)
    (model_copy / "1").rename(empty / "1")
    server.wait_ready()
    assert port_open(server.grpc_port)

    started = time.monotonic()
    assert server.stop() == -signal.SIGTERM, "no SIGTERM handler, like the real server"
    assert time.monotonic() - started < 2
    assert not port_open(server.rest_port)


def test_standin_exits_when_a_model_cannot_load(standin_server_factory, model_copy):
    (model_copy / "1" / "saved_model.pb").write_bytes(b"not a protobuf")
    server = standin_server_factory(
        model_copy, "--max_num_load_retries=0", wait_ready=False
    )
    assert server.process.wait(timeout=60) == 255
    logs = server.logs()
    assert "Failed to start server. Error: UNKNOWN: 1 model(s) did not become" in logs
    assert "{name: fashion_mnist version: 1} due to error: DATA_LOSS" in logs


def start_waiting_standin(tmp_path, env=None) -> subprocess.Popen:
    """A stand-in process waiting for a model with no versions (no port open yet)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tfserving_standin",
            f"--port={free_port()}",
            "--model_name=m",
            f"--model_base_path={tmp_path}",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "No versions of servable m" in process.stdout.readline():
            return process
    process.kill()
    pytest.fail("the stand-in never logged the polling warning")


@pytest.mark.parametrize(
    ("signum", "graceful", "exit_code"),
    [
        # No signal handler, like the real server: SIGTERM kills it, nothing drains.
        (signal.SIGTERM, False, -signal.SIGTERM),
        # SIGINT keeps its default action too (no KeyboardInterrupt handling).
        (signal.SIGINT, False, -signal.SIGINT),
        # TFS_STANDIN_GRACEFUL_SHUTDOWN=1 (unit tests only) drains and exits 0.
        (signal.SIGTERM, True, 0),
    ],
    ids=["sigterm-kills", "sigint-kills", "graceful-mode-exits-0"],
)
def test_standin_signal_during_load_wait(tmp_path, signum, graceful, exit_code):
    env = {**os.environ, "TFS_STANDIN_GRACEFUL_SHUTDOWN": "1" if graceful else "0"}
    process = start_waiting_standin(tmp_path, env=env)
    try:
        process.send_signal(signum)
        assert process.wait(timeout=10) == exit_code
    finally:
        if process.poll() is None:
            process.kill()


def test_standin_sigterm_resets_open_connections(standin_server_factory, model_copy):
    """A keep-alive connection to a stopping server is reset, never drained."""
    server = standin_server_factory(model_copy)
    connection = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=5)
    connection.request("GET", "/v1/models/fashion_mnist")
    assert connection.getresponse().read()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=5) == -signal.SIGTERM
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        connection.request("GET", "/v1/models/fashion_mnist")
        connection.getresponse().read()


def test_standin_grpc_reload_config_sets_labels(standin_server_factory, model_copy):
    server = standin_server_factory(model_copy, "--file_system_poll_wait_seconds=0")
    config = model_server_config_pb2.ModelServerConfig()
    model = config.model_config_list.config.add(
        name="fashion_mnist", base_path=str(model_copy), model_platform="tensorflow"
    )
    model.version_labels["stable"] = 1
    request = model_management_pb2.ReloadConfigRequest(config=config)
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        response = stub.HandleReloadConfigRequest(request, timeout=30)
        assert response.status.error_code == 0, response.status.error_message
        model.version_labels["canary"] = 5
        refused = stub.HandleReloadConfigRequest(
            model_management_pb2.ReloadConfigRequest(config=config), timeout=30
        )
    assert refused.status.error_code == 9  # FAILED_PRECONDITION
    assert "version 5 of model fashion_mnist" in refused.status.error_message
    assert served_version(server, "/labels/stable") == "1"


def test_standin_file_system_poll_zero_never_picks_up_new_versions(
    standin_server_factory, model_copy, tmp_path
):
    config = tmp_path / "models.config"
    base = (
        f'name: "fashion_mnist" base_path: "{model_copy}" model_platform: "tensorflow"'
    )
    config.write_text(f"model_config_list {{ config {{ {base} }} }}\n")
    server = standin_server_factory(
        None,
        f"--model_config_file={config}",
        "--model_config_file_poll_wait_seconds=1",
        "--file_system_poll_wait_seconds=0",
    )
    publish_version(model_copy, 1, 2)
    labels = 'version_labels { key: "stable" value: 1 }'
    config.write_text(f"model_config_list {{ config {{ {base} {labels} }} }}\n")
    wait_for(
        lambda: (
            requests.get(
                f"{server.model_url}/labels/stable/metadata", timeout=10
            ).status_code
            == 200
        ),
        what="the label-only config change",
    )
    time.sleep(1.5)
    assert set(states(server)) == {"1"}
    assert served_version(server) == "1"
