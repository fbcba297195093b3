"""The measured resident memory in export_metadata.json and the publish-time check.

Typical usage example:

    .venv/bin/python -m pytest tests/model_export/test_memory.py -q
"""

import json
import logging
import shutil

import keras
import pytest
import tensorflow as tf

from model_export import cli, keras_export, memory_probe, publish
from model_export.errors import ExportError
from tests.model_export import helpers
from tfserving_contract import headroom, layout
from tfserving_contract.quantity import mib, parse_bytes

pytestmark = pytest.mark.slow

BIG_UNITS = 2500
BIG_INPUTS = 4000
"""A Dense layer of 4000 x 2500 float32 weights: 40 MB."""


def metadata(version_dir):
    path = version_dir / layout.ASSETS_EXTRA / layout.EXPORT_METADATA_FILE
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def tiny_keras(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "tiny.keras"
    helpers.tiny_model().save(path)
    return path


@pytest.fixture(scope="module")
def published(tmp_path_factory, tiny_keras):
    """A base path holding version 1 of the tiny model, published by tfs-export."""
    base = tmp_path_factory.mktemp("models") / "tiny"
    argv = ["convert", str(tiny_keras), "--model-base-path", str(base)]
    assert cli.main([*argv, "--memory-check", "off"]) == 0
    return base


def test_publish_records_the_memory_measured_in_a_child_process(published):
    figure = metadata(published / "1")[headroom.METADATA_KEY]
    assert 0 < figure["loaded_bytes"] <= figure["peak_bytes"]
    assert figure["baseline_bytes"] > figure["loaded_bytes"]  # Python + TensorFlow
    assert figure["tensorflow_version"] == tf.__version__
    assert "child process" in figure["method"] and "VmRSS" in figure["method"]


def test_the_figure_grows_with_the_weights_it_loads(tmp_path):
    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(BIG_INPUTS,), name="features", dtype="float32")
    big = keras.Model(inputs, keras.layers.Dense(BIG_UNITS, name="wide")(inputs))
    sample = {"features": tf.random.uniform((1, BIG_INPUTS)).numpy()}
    small_dir, big_dir = tmp_path / "small", tmp_path / "big"
    keras_export.export_keras_model(helpers.tiny_model(), small_dir)
    keras_export.export_keras_model(big, big_dir)
    weights = BIG_INPUTS * BIG_UNITS * 4
    small = memory_probe.measure(small_dir, {"features": helpers.sample_features()})
    large = memory_probe.measure(big_dir, sample)
    assert large["loaded_bytes"] - small["loaded_bytes"] >= 0.9 * weights
    # VmRSS itself saw most of them (reused free pages can hide some).
    assert large["rss_delta_bytes"] - small["rss_delta_bytes"] >= 0.5 * weights
    assert large["variables_bytes"] >= weights


def test_a_swap_above_the_limit_is_refused_and_nothing_is_published(
    published, tiny_keras, tmp_path, capsys
):
    base = tmp_path / "tiny"
    shutil.copytree(published, base)
    old = metadata(base / "1")[headroom.METADATA_KEY]["loaded_bytes"]
    baseline = parse_bytes(headroom.DEFAULT_SERVER_BASELINE)
    limit = baseline + old  # no room left for version 2
    argv = ["convert", str(tiny_keras), "--model-base-path", str(base)]
    argv += ["--memory-limit", str(limit), "--memory-check", "refuse"]
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "tfs-export: error: memory check refused: loading tiny version 2" in err
    assert f"server baseline {mib(baseline)} (assumed)" in err
    assert f"version 1 {mib(old)} resident" in err
    assert f"above the memory limit {mib(limit)} (--memory-limit)" in err
    assert "raise resources.limits.memory to at least" in err
    assert helpers.all_entries(base) == ["1"]


def test_a_swap_within_the_limit_publishes_without_a_warning(
    published, tiny_keras, tmp_path, caplog
):
    base = tmp_path / "tiny"
    shutil.copytree(published, base)
    argv = ["convert", str(tiny_keras), "--model-base-path", str(base)]
    argv += ["--memory-limit", "4Gi", "--memory-check", "refuse"]
    with caplog.at_level(logging.WARNING):
        assert cli.main(argv) == 0
    assert "memory check" not in caplog.text
    assert helpers.all_entries(base) == ["1", "2"]


def test_a_version_without_a_figure_is_named_as_unchecked(published, tmp_path, caplog):
    base = tmp_path / "tiny"
    shutil.copytree(published, base)
    path = base / "1" / layout.ASSETS_EXTRA / layout.EXPORT_METADATA_FILE
    old = json.loads(path.read_text())
    del old[headroom.METADATA_KEY]
    path.write_text(json.dumps(old))
    settings = headroom.Settings(mode="refuse", limit_bytes=parse_bytes("4Gi"))
    with caplog.at_level(logging.WARNING):
        publish.publish(helpers.tiny_request(base, memory=settings))
    assert "tiny version 1 has no recorded resident_memory" in caplog.text
    assert "cannot be checked and counts as 0" in caplog.text
    assert helpers.all_entries(base) == ["1", "2"]


def test_without_a_limit_the_check_says_it_cannot_check(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        publish.publish(helpers.tiny_request(tmp_path / "tiny"))
    assert "no memory limit known for loading tiny version 1" in caplog.text
    assert "pass --memory-limit" in caplog.text


def test_a_child_that_cannot_load_the_version_fails_the_publish(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
    with pytest.raises(ExportError, match="in a child process to measure"):
        memory_probe.measure(broken, {"features": helpers.sample_features()})


@pytest.mark.parametrize(
    ("on_disk", "version", "latest", "kept"),
    [
        ([], 1, 1, []),
        ([1], 2, 1, [1]),  # the only loaded version stays until 2 is AVAILABLE
        ([1, 2], 3, 1, [2]),
        ([1, 2], 3, 2, [2]),  # 1 is unwanted and unloads first: 2 is AVAILABLE
        ([1, 2, 3], 4, 3, [2, 3]),
        ([1], 2, 2, [1]),
        ([5], 3, 1, None),  # not the newest: never loads
    ],
)
def test_versions_kept_while_one_loads_follow_the_availability_policy(
    on_disk, version, latest, kept
):
    assert headroom.kept_during_load(on_disk, version, latest) == kept


@pytest.mark.parametrize("bad", ["512MB", "512m", "lots", "0"])
def test_an_unparseable_memory_limit_exits_2_naming_the_fix(bad, capsys):
    argv = ["convert", "m.keras", "--model-base-path", "x", "--memory-limit", bad]
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "argument --memory-limit" in err and "e.g. 512Mi" in err
