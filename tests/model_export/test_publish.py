"""Tests for atomic publishing: versions, validation, crash safety, assets.extra."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from model_export import constants, publish, warmup
from model_export.errors import ExportError
from tests.model_export import helpers
from tfserving_contract import layout

pytestmark = pytest.mark.slow


def test_exported_model_reloads_with_numerically_equal_outputs(tmp_path):
    model = helpers.tiny_model()
    version_dir = publish.publish(helpers.tiny_request(tmp_path / "tiny", model))
    assert version_dir == tmp_path / "tiny" / "1"

    features = helpers.sample_features(rows=5)
    loaded = tf.saved_model.load(str(version_dir))
    served = loaded.signatures["serving_default"](features=tf.constant(features))
    np.testing.assert_allclose(
        served["scores"].numpy(), np.asarray(model(features)), rtol=1e-6, atol=1e-7
    )


def test_second_publish_creates_version_2(tmp_path):
    base = tmp_path / "tiny"
    publish.publish(helpers.tiny_request(base))
    second = publish.publish(helpers.tiny_request(base))
    assert second == base / "2"
    assert helpers.all_entries(base) == ["1", "2"]
    metadata = json.loads(
        (second / layout.ASSETS_EXTRA / layout.EXPORT_METADATA_FILE).read_text()
    )
    assert metadata["version"] == 2


def test_existing_version_is_never_overwritten(tmp_path):
    base = tmp_path / "tiny"
    first = publish.publish(helpers.tiny_request(base))
    before = (first / "saved_model.pb").read_bytes()
    with pytest.raises(ExportError, match="version 1 already exists"):
        publish.publish(helpers.tiny_request(base, helpers.tiny_model(9), version=1))
    assert (first / "saved_model.pb").read_bytes() == before
    assert helpers.all_entries(base) == ["1"]


def test_explicit_version_is_used(tmp_path):
    version_dir = publish.publish(helpers.tiny_request(tmp_path / "tiny", version=7))
    assert version_dir.name == "7"


def _partial_write_then_fail(path):
    path.mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"partial")
    raise RuntimeError("disk full while writing the model")


def _raise(*_args, **_kwargs):
    raise RuntimeError("injected failure")


@pytest.mark.parametrize(
    "step",
    [
        "write_model",
        "run_serving_default",
        "validate",
        "write_assets",
        "sync_tree",
        "rename",
    ],
)
def test_crash_mid_publish_leaves_no_version_and_no_staging_dir(
    tmp_path, monkeypatch, step
):
    base = tmp_path / "tiny"
    request = helpers.tiny_request(base)
    if step == "write_model":
        request.write_model = _partial_write_then_fail
    elif step == "rename":
        monkeypatch.setattr(publish.os, "rename", _raise)
    else:
        monkeypatch.setattr(publish, step, _raise)
    with pytest.raises(RuntimeError):
        publish.publish(request)
    assert helpers.all_entries(base) == []


def test_crash_keeps_earlier_versions_intact(tmp_path, monkeypatch):
    base = tmp_path / "tiny"
    publish.publish(helpers.tiny_request(base))
    monkeypatch.setattr(publish, "write_assets", _raise)
    with pytest.raises(RuntimeError):
        publish.publish(helpers.tiny_request(base))
    assert helpers.all_entries(base) == ["1"]
    assert (base / "1" / layout.ASSETS_EXTRA / layout.WARMUP_REQUESTS_FILE).is_file()


def test_export_that_differs_from_the_model_is_rejected(tmp_path):
    request = helpers.tiny_request(tmp_path / "tiny")
    request.reference_outputs = {
        "scores": request.reference_outputs["scores"] + np.float32(0.01)
    }
    with pytest.raises(ExportError, match="differs from the in-memory model"):
        publish.publish(request)
    assert helpers.all_entries(tmp_path / "tiny") == []


def test_too_many_warmup_records_is_rejected_before_writing(tmp_path):
    request = helpers.tiny_request(tmp_path / "tiny", warmup_records=1001)
    with pytest.raises(ExportError, match="at most 1000"):
        publish.publish(request)
    assert not (tmp_path / "tiny").exists()


def test_base_path_that_is_a_file_is_rejected(tmp_path):
    base = tmp_path / "tiny"
    base.write_text("not a directory")
    with pytest.raises(ExportError, match="is a file"):
        publish.publish(helpers.tiny_request(base))


def test_warmup_count_is_configurable(tmp_path):
    version_dir = publish.publish(
        helpers.tiny_request(tmp_path / "tiny", warmup_records=25)
    )
    logs = warmup.read_warmup_records(
        version_dir / layout.ASSETS_EXTRA / layout.WARMUP_REQUESTS_FILE
    )
    assert len(logs) == 25


@pytest.mark.parametrize("text", ["abc", "1.5", "0", "-1", "", " 2x", "01"])
def test_non_integer_versions_are_rejected(text):
    with pytest.raises(ExportError, match="not a positive integer"):
        publish.parse_version(text)


def test_integer_version_parses():
    assert publish.parse_version("12") == 12


def test_next_version_ignores_staging_and_non_numeric_dirs(tmp_path):
    for name in ("1", "3", ".tmp-abc", "latest"):
        (tmp_path / name).mkdir()
    assert publish.choose_version(tmp_path, None) == 4


def test_rows_format_matches_tf_serving_rest():
    single = publish.rows({"x": np.array([[1.5, 2.0], [3.0, 4.0]], np.float32)})
    assert single == [[1.5, 2.0], [3.0, 4.0]]
    multi = publish.rows(
        {"a": np.array([1, 2], np.int64), "b": np.array([b"\x00", b"hi"], object)}
    )
    assert multi == [{"a": 1, "b": {"b64": "AA=="}}, {"a": 2, "b": {"b64": "aGk="}}]


def test_staging_dir_name_is_not_numeric(tmp_path, monkeypatch):
    seen = []

    def spy(src, dst):
        seen.append((os.path.basename(src), os.path.basename(dst)))
        return os.replace(src, dst)

    monkeypatch.setattr(publish.os, "rename", spy)
    publish.publish(helpers.tiny_request(tmp_path / "tiny"))
    ((staging, target),) = seen
    assert staging.startswith(constants.STAGING_PREFIX)
    assert not staging.isdigit()
    assert target == "1"


def test_leftover_staging_dir_is_reported_and_left_alone(tmp_path, caplog):
    base = tmp_path / "tiny"
    leftover = base / f"{constants.STAGING_PREFIX}killed"
    leftover.mkdir(parents=True)
    with caplog.at_level("WARNING", logger="model_export.publish"):
        publish.publish(helpers.tiny_request(base))
    assert f"{constants.STAGING_PREFIX}killed" in caplog.text
    assert helpers.all_entries(base) == [leftover.name, "1"]
