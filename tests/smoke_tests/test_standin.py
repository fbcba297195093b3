"""Smoke tool against the TF Serving STAND-IN process (not TensorFlow Serving).

These tests check the tool's behaviour end to end over real sockets; they do
not claim anything about TensorFlow Serving itself.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from smoke_tests import cli
from tests.standin_fixtures import FASHION_MNIST as MODEL
from tests.standin_fixtures import METRICS_PATH, REPO_ROOT

pytestmark = [pytest.mark.standin, pytest.mark.slow]


def _run(
    server, source: Path, tmp_path: Path, *extra: str, rest: bool = True
) -> tuple[int, dict]:
    """Runs the CLI in-process; ``source`` is a base path or an assets.extra dir."""
    out = tmp_path / f"report-{time.monotonic_ns()}.json"
    flag = "--sample-dir" if source.name == "assets.extra" else "--base-path"
    argv = [
        flag, str(source),
        *(["--rest-url", server.rest_url] if rest else []),
        "--grpc-target", server.grpc_target,
        "--timeout", "20",
        "--json", str(out),
        *extra,
    ]  # fmt: skip
    code = cli.main(argv)
    return code, json.loads(out.read_text())


def _by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def _hint_keys(check: dict) -> list[str]:
    return [h["key"] for h in check["hints"]]


def _edited_sample(base_path: Path, tmp_path: Path, edit) -> Path:
    """Copies version 1's assets.extra and rewrites sample_request.json."""
    target = tmp_path / "sample" / "1" / "assets.extra"
    shutil.copytree(base_path / "1" / "assets.extra", target)
    path = target / "sample_request.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    return target


def test_standin_good_deployment_passes_over_rest_and_grpc(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path, capsys
):
    code, report = _run(
        standin_fashion_mnist,
        fashion_mnist_base_path,
        tmp_path,
        "--expect-versions",
        "1",
        "--metrics-path",
        METRICS_PATH,
        "--concurrency",
        "8",
    )
    checks = _by_name(report)
    failed = {n: c["detail"] for n, c in checks.items() if c["status"] == "fail"}
    assert code == 0, failed
    for name in (
        "rest.status",
        "grpc.status",
        "rest.metadata",
        "grpc.metadata",
        "sample.request",
        "rest.predict.row",
        "rest.predict.columnar",
        "rest.predict.batch1",
        "grpc.predict",
        "parity.rest_grpc",
        "rest.concurrent",
        "rest.error.unknown_model",
        "grpc.error.unknown_model",
        "rest.error.wrong_shape",
        "grpc.error.wrong_shape",
        "rest.metrics",
        "versions.failed",
        "ready.after_errors",
    ):
        assert checks[name]["status"] == "pass", (name, checks[name]["detail"])
    assert "match golden" in checks["rest.predict.row"]["detail"]
    assert "NOT_FOUND" in checks["grpc.error.unknown_model"]["detail"]
    stdout = capsys.readouterr().out
    assert "PASSED" in stdout and "grpc.predict" in stdout


def test_standin_wrong_model_name_fails_with_the_servable_hint(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path
):
    code, report = _run(
        standin_fashion_mnist,
        fashion_mnist_base_path,
        tmp_path,
        "--model",
        "no_such_model",
    )
    checks = _by_name(report)
    assert code == 1
    assert checks["rest.status"]["status"] == "fail"
    assert "servable-not-found" in _hint_keys(checks["rest.status"])
    assert checks["grpc.predict"]["status"] == "fail"
    assert "servable-not-found" in _hint_keys(checks["grpc.predict"])


def test_standin_wrong_input_name_fails_with_the_input_hint(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path
):
    sample = _edited_sample(
        fashion_mnist_base_path,
        tmp_path,
        lambda s: {**s, "instances": [{"img": row} for row in s["instances"]]},
    )
    code, report = _run(standin_fashion_mnist, sample, tmp_path)
    checks = _by_name(report)
    assert code == 1
    for name in ("rest.predict.row", "rest.predict.columnar", "grpc.predict"):
        assert checks[name]["status"] == "fail", name
        assert "input-name" in _hint_keys(checks[name]), checks[name]["detail"]
    assert "does not have named input" in checks["rest.predict.row"]["detail"]


def test_standin_wrong_dtype_fails_with_the_dtype_hint(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path
):
    def to_strings(sample):
        def convert(value):
            return [convert(v) for v in value] if isinstance(value, list) else "x"

        return {**sample, "instances": convert(sample["instances"])}

    sample = _edited_sample(fashion_mnist_base_path, tmp_path, to_strings)
    code, report = _run(standin_fashion_mnist, sample, tmp_path)
    checks = _by_name(report)
    assert code == 1
    for name in ("rest.predict.row", "grpc.predict"):
        assert checks[name]["status"] == "fail", name
        assert "dtype" in _hint_keys(checks[name]), checks[name]["detail"]
    assert "not of expected type" in checks["rest.predict.row"]["detail"]


def test_standin_missing_expected_version_fails(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path
):
    code, report = _run(
        standin_fashion_mnist,
        fashion_mnist_base_path,
        tmp_path,
        "--expect-versions",
        "1,2",
    )
    checks = _by_name(report)
    assert code == 1
    assert checks["rest.status"]["status"] == "fail"
    assert "[2]" in checks["rest.status"]["detail"]


def test_standin_model_served_at_other_versions_names_them(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path
):
    """The server serves v1; the caller expects v4 (e.g. a stale --expect-versions)."""
    sample = fashion_mnist_base_path / "1" / "assets.extra"
    code, report = _run(
        standin_fashion_mnist, sample, tmp_path, "--expect-versions", "4"
    )
    checks = _by_name(report)
    assert code == 1
    for name in ("rest.status", "grpc.status"):
        assert "expected versions [4], server serves [1]" in checks[name]["detail"]
        assert "version-mismatch" in _hint_keys(checks[name])
    probe = checks["rest.error.unknown_model"]
    assert probe["status"] == "skip"
    assert "not served" not in probe["detail"], probe["detail"]
    assert "server serves [1]" in probe["detail"]


def test_standin_without_monitoring_gets_a_metrics_404_that_names_the_flag(
    standin_server_factory, fashion_mnist_base_path, tmp_path
):
    server = standin_server_factory(fashion_mnist_base_path)
    code, report = _run(
        server, fashion_mnist_base_path, tmp_path, "--metrics-path", METRICS_PATH
    )
    metrics = _by_name(report)["rest.metrics"]
    assert code == 1
    assert metrics["status"] == "fail"
    assert "HTTP 404" in metrics["detail"]
    assert "--monitoring_config_file" in metrics["detail"]
    assert "metrics.enabled" in metrics["detail"]


def test_standin_rest_only_runs_without_grpc_or_tensorflow(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path
):
    """Must-have 19: the REST path needs only requests and numpy."""
    out = tmp_path / "rest.json"
    code = (
        "import sys\n"
        "for name in ('grpc', 'tensorflow', 'tensorflow_serving', 'keras'):\n"
        "    sys.modules[name] = None\n"
        "from smoke_tests.cli import main\n"
        f"rc = main(['--base-path', {str(fashion_mnist_base_path)!r},\n"
        f"           '--rest-url', {standin_fashion_mnist.rest_url!r},\n"
        f"           '--json', {str(out)!r}])\n"
        "heavy = ('tensorflow', 'grpc')\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in heavy]\n"
        "assert all(sys.modules[m] is None for m in loaded), loaded\n"
        "raise SystemExit(rc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checks = _by_name(json.loads(out.read_text()))
    assert checks["rest.predict.row"]["status"] == "pass"
    assert checks["grpc.predict"]["status"] == "skip"


def test_standin_console_script_reports_usage_errors(tmp_path):
    script = Path(sys.executable).parent / "tfs-smoke"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "smoke_tests"]
    result = subprocess.run(
        [*argv, "--base-path", str(tmp_path), "--rest-url", "http://127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert result.returncode == 2
    assert "no version under" in result.stderr


def test_standin_broken_new_version_is_reported_beside_the_serving_one(
    standin_server_factory, model_copy, tmp_path
):
    """A v2 that fails to load leaves v1 serving: a visible, non-gating failure,
    gating only with --fail-on-version-errors."""
    server = standin_server_factory(
        model_copy, "--max_num_load_retries=0", "--file_system_poll_wait_seconds=1"
    )
    staging = tmp_path / "v2-staging"
    shutil.copytree(model_copy / "1", staging)
    (staging / "saved_model.pb").write_bytes(b"not a saved model")
    staging.rename(model_copy / "2")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = requests.get(server.model_url, timeout=5).json()
        states = {s["version"]: s["state"] for s in body["model_version_status"]}
        if states.get("2") == "END":
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"v2 never reached END: {body}\n{server.logs()[-2000:]}")
    sample = model_copy / "1" / "assets.extra"
    code, report = _run(server, sample, tmp_path, "--expect-versions", "1")
    checks = _by_name(report)
    assert checks["versions.failed"]["status"] == "fail"
    assert checks["versions.failed"]["gating"] is False
    assert "v2" in checks["versions.failed"]["detail"]
    assert code == 0, {
        n: c["detail"] for n, c in checks.items() if c["status"] == "fail"
    }
    code, _ = _run(
        server, sample, tmp_path, "--expect-versions", "1", "--fail-on-version-errors"
    )
    assert code == 1


def test_standin_labels_are_checked_and_predictions_follow_them(
    standin_server_factory, model_copy, tmp_path
):
    shutil.copytree(model_copy / "1", model_copy / "2")
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list {\n  config {\n"
        f'    name: "{MODEL}"\n    base_path: "{model_copy}"\n'
        '    model_platform: "tensorflow"\n'
        "    model_version_policy { specific { versions: 1 versions: 2 } }\n"
        '    version_labels { key: "stable" value: 1 }\n'
        '    version_labels { key: "canary" value: 2 }\n'
        "  }\n}\n"
    )
    server = standin_server_factory(
        None,
        f"--model_config_file={config}",
        "--allow_version_labels_for_unavailable_models=true",
        model_name=MODEL,
    )
    code, report = _run(
        server,
        model_copy,
        tmp_path,
        "--wait-ready", "60",  # ports may open before v2 has loaded
        "--expect-versions", "1,2",
        "--expect-label", "stable=1",
        "--expect-label", "canary=2",
        "--label", "canary",
    )  # fmt: skip
    checks = _by_name(report)
    assert code == 0, {
        n: c["detail"] for n, c in checks.items() if c["status"] == "fail"
    }
    # v2 is a plain copy of v1 (copytree above): reported, but not a failure.
    assert checks["export.versions"]["status"] == "warn"
    assert "copied-version" in _hint_keys(checks["export.versions"])
    assert checks["rest.labels"]["detail"] == "canary=v2, stable=v1"
    assert checks["grpc.labels"]["status"] == "pass"
    assert checks["grpc.predict"]["detail"].startswith("v2:")
    code, report = _run(server, model_copy, tmp_path, "--model-version", "1")
    checks = _by_name(report)
    assert code == 0
    assert checks["grpc.predict"]["detail"].startswith("v1:")
    code, report = _run(server, model_copy, tmp_path, "--expect-label", "stable=2")
    checks = _by_name(report)
    assert code == 1
    assert checks["rest.labels"]["detail"] == "stable -> v1, expected v2"
    assert checks["grpc.labels"]["status"] == "fail"


def _replicated_sample(base_path: Path, tmp_path: Path, rows: int) -> Path:
    """Version 1's sample and golden outputs repeated to ``rows`` instances."""
    target = tmp_path / "big" / "1" / "assets.extra"
    shutil.copytree(base_path / "1" / "assets.extra", target)
    for name, key in (
        ("sample_request.json", "instances"),
        ("golden_outputs.json", "predictions"),
    ):
        path = target / name
        data = json.loads(path.read_text())
        items = data[key]
        data[key] = [items[i % len(items)] for i in range(rows)]
        path.write_text(json.dumps(data))
    return target


def test_standin_grpc_payload_above_4mb_needs_the_client_limit(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path
):
    """Must-have 19: a >4 MB gRPC request succeeds with --max-grpc-message-mb and
    fails with the message-size hint when the client keeps gRPC's 4 MB default."""
    rows = 1400  # 1400 x 28 x 28 x 4 bytes = 4.39 MB of tensor_content
    sample = _replicated_sample(fashion_mnist_base_path, tmp_path, rows)
    code, report = _run(
        standin_fashion_mnist,
        sample,
        tmp_path,
        "--max-grpc-message-mb",
        "16",
        rest=False,
    )
    checks = _by_name(report)
    assert checks["grpc.predict"]["status"] == "pass", checks["grpc.predict"]["detail"]
    assert f"probabilities[{rows}, 10]" in checks["grpc.predict"]["detail"]
    assert code == 0, {
        n: c["detail"] for n, c in checks.items() if c["status"] == "fail"
    }
    code, report = _run(
        standin_fashion_mnist,
        sample,
        tmp_path,
        "--max-grpc-message-mb",
        "4",
        rest=False,
    )
    checks = _by_name(report)
    assert code == 1
    assert checks["grpc.predict"]["status"] == "fail"
    assert "grpc-message-size" in _hint_keys(checks["grpc.predict"])


def test_standin_wait_ready_covers_a_server_that_is_still_loading(
    standin_server_factory, fashion_mnist_base_path, tmp_path
):
    server = standin_server_factory(fashion_mnist_base_path, wait_ready=False)
    code, report = _run(
        server,
        fashion_mnist_base_path,
        tmp_path,
        "--wait-ready",
        "120",
        "--timeout",
        "5",
    )
    checks = _by_name(report)
    assert checks["ready.wait"]["status"] == "pass", checks["ready.wait"]["detail"]
    assert checks["ready.wait"]["detail"].startswith("ready after")
    assert code == 0, {
        n: c["detail"] for n, c in checks.items() if c["status"] == "fail"
    }


def _export_string_model(base_path: Path) -> Path:
    """Saves a tiny SavedModel: "text" DT_STRING -> "length" int32, "upper" string."""
    import tensorflow as tf

    class Strings(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            return {"length": tf.strings.length(text), "upper": tf.strings.upper(text)}

    module = Strings()
    tf.saved_model.save(
        module, str(base_path / "1"), signatures={"serving_default": module.serve}
    )
    # Binary input (NUL, non-ASCII); the outputs stay valid UTF-8 because REST
    # returns string outputs without a "_bytes" suffix as plain JSON strings.
    texts = [b"smoke", b"\x00nul", "caf\u00e9".encode()]
    extra = base_path / "1" / "assets.extra"
    extra.mkdir()
    instances = [{"b64": base64.b64encode(t).decode()} for t in texts]
    (extra / "sample_request.json").write_text(
        json.dumps({"signature_name": "serving_default", "instances": instances})
    )
    predictions = [
        {"length": len(t), "upper": t.upper().decode("utf-8")} for t in texts
    ]
    (extra / "golden_outputs.json").write_text(json.dumps({"predictions": predictions}))
    (extra / "export_metadata.json").write_text(
        json.dumps(
            {
                "model_name": "strings",
                "version": 1,
                "signature_name": "serving_default",
                "inputs": {"text": {"dtype": "DT_STRING", "shape": [-1]}},
                "outputs": {
                    "length": {"dtype": "DT_INT32", "shape": [-1]},
                    "upper": {"dtype": "DT_STRING", "shape": [-1]},
                },
                "tolerance": {"rtol": 0, "atol": 0},
            }
        )
    )
    return base_path


def test_standin_string_inputs_go_as_b64_and_string_outputs_compare(
    standin_server_factory, tmp_path
):
    base_path = _export_string_model(tmp_path / "models" / "strings")
    server = standin_server_factory(base_path, model_name="strings")
    code, report = _run(server, base_path, tmp_path)
    checks = _by_name(report)
    assert "text:DT_STRING[3] (b64)" in checks["sample.request"]["detail"]
    for name in ("rest.predict.row", "rest.predict.columnar", "grpc.predict"):
        assert "match golden" in checks[name]["detail"], name
    assert checks["parity.rest_grpc"]["status"] == "pass"
    assert checks["rest.error.wrong_shape"]["status"] == "pass"
    # A DT_STRING TensorProto with a -1 dimension is refused like
    # Tensor::FromProto refuses it (it used to be accepted).
    assert checks["grpc.error.wrong_shape"]["status"] == "pass"
    assert "tensor parsing error: text" in checks["grpc.error.wrong_shape"]["detail"]
    failed = {n: c["detail"] for n, c in checks.items() if c["status"] == "fail"}
    assert code == 0, failed


@pytest.fixture(scope="module")
def resnet_image_bytes_base_path(tmp_path_factory) -> Path:
    """ResNet50 exported with --image-bytes-signature (random weights, 32 px)."""
    from model_export import cli as export_cli

    base = tmp_path_factory.mktemp("resnet-models") / "resnet50"
    argv = ["resnet50", "--base-path", str(base), "--weights", "none"]
    argv += ["--input-size", "32", "--image-bytes-signature", "--warmup-records", "2"]
    assert export_cli.main(argv) == 0
    return base


def test_standin_resnet_image_bytes_export_passes_the_smoke_test(
    standin_server_factory, resnet_image_bytes_base_path, tmp_path
):
    """tfs-smoke against the stand-in serving the image-bytes ResNet export:
    b64 JPEG/PNG strings over REST and DT_STRING over gRPC, and the gRPC
    wrong-shape probe (a -1 dimension) refused like Tensor::FromProto."""
    server = standin_server_factory(resnet_image_bytes_base_path, model_name="resnet50")
    code, report = _run(server, resnet_image_bytes_base_path, tmp_path)
    checks = _by_name(report)
    failed = {n: c["detail"] for n, c in checks.items() if c["status"] == "fail"}
    assert code == 0, failed
    for name in ("rest.predict.row", "rest.predict.columnar", "grpc.predict"):
        assert checks[name]["status"] == "pass", (name, checks[name]["detail"])
    wrong_shape = checks["grpc.error.wrong_shape"]
    assert "negative dimension" in wrong_shape["detail"]
    assert "INVALID_ARGUMENT: tensor parsing error: " in wrong_shape["detail"]
