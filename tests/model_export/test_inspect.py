"""Tests for `tfs-export inspect`: human and JSON output, path resolution."""

import json

import pytest

from model_export import cli

pytestmark = pytest.mark.slow


def test_inspect_human_output_shows_signature_like_saved_model_cli(
    fashion_mnist_base_path, capsys
):
    assert cli.main(["inspect", str(fashion_mnist_base_path)]) == 0
    out = capsys.readouterr().out
    assert f"path: {fashion_mnist_base_path / '1'}" in out
    assert "signature_def['serving_default']:" in out
    assert "inputs['image'] tensor_info:" in out
    assert "shape: (-1, 28, 28, 1)" in out
    assert "outputs['probabilities'] tensor_info:" in out
    assert "shape: (-1, 10)" in out
    assert "dtype: DT_FLOAT" in out
    assert "Method name is: tensorflow/serving/predict" in out


def test_inspect_json_output_uses_minus_one_for_unknown_dims(
    fashion_mnist_base_path, capsys
):
    assert cli.main(["inspect", str(fashion_mnist_base_path / "1"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["version"] == 1
    serving = report["signatures"]["serving_default"]
    assert serving["inputs"]["image"]["shape"] == [-1, 28, 28, 1]
    assert serving["inputs"]["image"]["dtype"] == "DT_FLOAT"
    assert serving["outputs"]["probabilities"]["shape"] == [-1, 10]
    assert report["metadata"]["model_name"] == "fashion_mnist"


def test_inspect_picks_the_newest_version(fashion_mnist_base_path, tmp_path, capsys):
    import shutil

    base = tmp_path / "fashion_mnist"
    shutil.copytree(fashion_mnist_base_path / "1", base / "2")
    shutil.copytree(fashion_mnist_base_path / "1", base / "10")
    (base / ".tmp-staging").mkdir()
    assert cli.main(["inspect", str(base), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(base / "10")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "does not exist"),
        ("empty", "no numeric version directory"),
        ("corrupt", "not a valid SavedModel"),
    ],
)
def test_inspect_errors_exit_2_with_message_and_no_traceback(
    tmp_path, capsys, setup, message
):
    path = tmp_path / "model"
    if setup == "empty":
        path.mkdir()
    elif setup == "corrupt":
        (path / "1").mkdir(parents=True)
        (path / "1" / "saved_model.pb").write_bytes(b"\xff\xfe garbage")
    assert cli.main(["inspect", str(path)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
