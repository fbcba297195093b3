"""Tests for the CLI: train end to end, entry points, and every user error."""

import json
import subprocess
import sys

import pytest

from model_export import cli, datasets
from model_export.errors import ExportError
from tests.model_export import helpers
from tests.without_tensorflow import run_python_without_tensorflow
from tfserving_contract import layout

QUICK_TRAIN = ["--dataset", "digits", "--epochs", "1", "--max-train-samples", "256"]


@pytest.mark.slow
def test_python_m_train_twice_publishes_versions_1_and_2(tmp_path):
    base = tmp_path / "fashion_mnist"
    command = [sys.executable, "-m", "model_export", "train", "--base-path", str(base)]
    first = subprocess.run(
        command + QUICK_TRAIN, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stderr
    assert "version: 1" in first.stdout
    assert "shape: (-1, 28, 28, 1)" in first.stdout

    assert cli.main(["train", "--base-path", str(base), *QUICK_TRAIN]) == 0
    assert helpers.all_entries(base) == ["1", "2"]
    metadata = json.loads(
        (base / "2" / layout.ASSETS_EXTRA / layout.EXPORT_METADATA_FILE).read_text()
    )
    assert metadata["version"] == 2
    assert metadata["dataset"] == "digits"
    assert metadata["train_samples"] == 256


@pytest.mark.slow
def test_train_falls_back_to_digits_when_fashion_mnist_is_unreachable(
    tmp_path, monkeypatch
):
    def offline():
        raise Exception("URL fetch failure: Name or service not known")

    monkeypatch.setattr(datasets, "load_fashion_mnist", offline)
    base = tmp_path / "fashion_mnist"
    args = ["train", "--base-path", str(base), "--epochs", "1"]
    assert cli.main([*args, "--max-train-samples", "128", "--warmup-records", "3"]) == 0
    metadata = json.loads(
        (base / "1" / layout.ASSETS_EXTRA / layout.EXPORT_METADATA_FILE).read_text()
    )
    assert metadata["dataset"] == "digits"
    assert metadata["warmup_records"] == 3


def test_explicit_fashion_mnist_without_network_is_a_clear_error(monkeypatch):
    def offline():
        raise Exception("URL fetch failure")

    monkeypatch.setattr(datasets, "load_fashion_mnist", offline)
    with pytest.raises(ExportError, match="--dataset digits"):
        datasets.load_dataset("fashion_mnist")


def test_digits_fallback_is_shaped_like_fashion_mnist():
    data = datasets.load_digits()
    assert data.x_train.shape[1:] == (28, 28, 1)
    assert data.x_train.dtype.name == "float32"
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert data.class_names == tuple(str(i) for i in range(10))
    assert len(data.x_train) + len(data.x_test) == 1797


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--version", "abc"], "not a positive integer"),
        (["train", "--version", "1.5"], "not a positive integer"),
        (["train", "--warmup-records", "1001"], "at most 1000"),
        (["train", "--warmup-records", "0"], "must be > 0"),
        (["resnet50", "--input-size", "x"], "'x' is not a number"),
    ],
)
def test_bad_flags_exit_2_with_the_problem_on_stderr(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--base-path", str(tmp_path / "m")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_existing_version_exits_2_before_training(tmp_path, capsys, monkeypatch):
    base = tmp_path / "m"
    (base / "1").mkdir(parents=True)

    def must_not_load(_name):
        pytest.fail("the version check must run before loading data")

    monkeypatch.setattr(datasets, "load_dataset", must_not_load)
    assert cli.main(["train", "--base-path", str(base), "--version", "1"]) == 2
    err = capsys.readouterr().err
    assert "version 1 already exists" in err
    assert "omit --version" in err


@pytest.mark.parametrize(
    ("make_source", "message"),
    [
        (lambda p: p / "missing.keras", "does not exist"),
        (lambda p: _write(p / "bad.h5", b"not hdf5"), "cannot read Keras model"),
        (lambda p: _mkdir(p / "no_pb"), "saved_model.pb not found"),
    ],
)
def test_convert_errors_exit_2(tmp_path, capsys, make_source, message):
    source = make_source(tmp_path)
    argv = ["convert", str(source), "--base-path", str(tmp_path / "out")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("tfs-export: error:")
    assert "Traceback" not in err


def test_resnet_imagenet_with_other_input_size_exits_2(tmp_path, capsys):
    argv = ["resnet50", "--base-path", str(tmp_path / "r"), "--weights", "imagenet"]
    assert cli.main([*argv, "--input-size", "64"]) == 2
    assert "ImageNet weights need --input-size 224" in capsys.readouterr().err


def test_console_script_entry_point_is_main():
    assert callable(cli.main)
    parser = cli.build_parser()
    args = parser.parse_args(["inspect", "x", "--json"])
    assert args.command == "inspect" and args.json


def _write(path, data):
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir()
    return path


def test_without_the_export_extra_the_cli_names_the_install_command(tmp_path):
    done = run_python_without_tensorflow(
        f"""\
        from model_export import cli
        raise SystemExit(cli.main(["inspect", {str(tmp_path)!r}]))
        """
    )
    assert done.returncode == cli.EXIT_USAGE, done.stderr
    assert "pip install 'tf-serving-k8s[export]'" in done.stderr
    assert "Traceback" not in done.stderr
