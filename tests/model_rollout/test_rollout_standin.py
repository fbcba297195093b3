"""tfs-rollout against the TF Serving STAND-IN polling a models.config file.

A thread sends predictions to `/labels/stable` the whole time (loopback,
bounded); none may fail while versions load, labels move and versions unload.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
import requests

from model_rollout.cli import main

pytestmark = pytest.mark.standin

MODEL = "fashion_mnist"
CONFIG = """model_config_list {{
  config {{
    name: "{model}" base_path: "{base}" model_platform: "tensorflow"
    model_version_policy {{ specific {{ versions: 1 }} }}
    version_labels {{ key: "stable" value: 1 }}
  }}
}}
"""


class StableTraffic(threading.Thread):
    """Predicts on /labels/stable every 20 ms; records failures and versions."""

    def __init__(self, url: str, body: dict, limit_s: float = 300) -> None:
        super().__init__(daemon=True)
        self.url, self.body, self.limit_s = url, body, limit_s
        self.stop_event = threading.Event()
        self.sent = 0
        self.failures: list[str] = []

    def run(self) -> None:
        started = time.monotonic()
        with requests.Session() as session:
            while (
                not self.stop_event.is_set()
                and time.monotonic() - started < self.limit_s
            ):
                self.sent += 1
                try:
                    reply = session.post(self.url, json=self.body, timeout=10)
                    if reply.status_code != 200:
                        self.failures.append(f"{reply.status_code}: {reply.text[:200]}")
                except requests.RequestException as err:
                    self.failures.append(str(err))
                time.sleep(0.02)


def test_canary_promote_rollback_never_fail_stable(
    fashion_mnist_base_path: Path, standin_server_factory, tmp_path: Path, capsys
) -> None:
    base = tmp_path / MODEL
    for version in (1, 2):
        shutil.copytree(fashion_mnist_base_path / "1", base / str(version))
    config = tmp_path / "models.config"
    config.write_text(CONFIG.format(model=MODEL, base=base))
    server = standin_server_factory(
        None,
        f"--model_config_file={config}",
        "--model_config_file_poll_wait_seconds=1",
        # As the chart renders it whenever labels are set (labels at start-up).
        "--allow_version_labels_for_unavailable_models=true",
        model_name=MODEL,
    )
    request = json.loads(
        (base / "1" / "assets.extra" / "sample_request.json").read_text()
    )
    traffic = StableTraffic(f"{server.model_url}/labels/stable:predict", request)
    traffic.start()

    def rollout(*args: str) -> str:
        argv = [
            "--config-file",
            str(config),
            "--rest-url",
            server.rest_url,
            "--model",
            MODEL,
            "--timeout",
            "60",
            *args,
        ]
        assert main(argv) == 0, capsys.readouterr().err
        return capsys.readouterr().out

    try:
        assert "version 2 AVAILABLE" in rollout("load", "2")
        assert "label canary -> 2" in rollout("canary", "2")
        assert "label stable -> 2" in rollout("promote")
        out = rollout("rollback")
        assert "label stable -> 1" in out
        assert "--set 'model.specificVersions={1,2}'" in out
        assert "label stable -> 2" in rollout("promote")
        assert (
            main(
                [
                    "--config-file",
                    str(config),
                    "--rest-url",
                    server.rest_url,
                    "--model",
                    MODEL,
                    "unload",
                    "2",
                ]
            )
            == 1
        )
        assert "labelled ['canary', 'stable']" in capsys.readouterr().err
    finally:
        traffic.stop_event.set()
        traffic.join(timeout=20)
    assert traffic.sent > 50
    assert traffic.failures == []
    status = requests.get(f"{server.model_url}/labels/stable", timeout=10).json()
    assert status["model_version_status"][0]["version"] == "2"


def test_a_label_cannot_move_to_a_version_that_failed_to_load(
    fashion_mnist_base_path: Path, standin_server_factory, tmp_path: Path, capsys
) -> None:
    base = tmp_path / MODEL
    shutil.copytree(fashion_mnist_base_path / "1", base / "1")
    shutil.copytree(fashion_mnist_base_path / "1", base / "2")
    (base / "2" / "saved_model.pb").write_bytes(b"not a SavedModel")
    config = tmp_path / "models.config"
    config.write_text(CONFIG.format(model=MODEL, base=base))
    server = standin_server_factory(
        None,
        f"--model_config_file={config}",
        "--model_config_file_poll_wait_seconds=1",
        "--allow_version_labels_for_unavailable_models=true",
        "--max_num_load_retries=0",
        model_name=MODEL,
    )
    argv = [
        "--config-file",
        str(config),
        "--rest-url",
        server.rest_url,
        "--model",
        MODEL,
        "--timeout",
        "15",
    ]
    assert main([*argv, "load", "2"]) == 1
    assert "timed out" in capsys.readouterr().err
    before = config.read_text()
    assert main([*argv, "canary", "2"]) == 1
    err = capsys.readouterr().err
    assert "version 2 is END, not AVAILABLE" in err, err
    assert config.read_text() == before
    assert main([*argv, "canary", "5"]) == 1
    assert "version 5 is not loaded" in capsys.readouterr().err
