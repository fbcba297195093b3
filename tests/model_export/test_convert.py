"""Tests for converting .keras, .h5 and SavedModel inputs into the serving layout."""

import json

import numpy as np
import pytest
import tensorflow as tf

from model_export import signatures
from model_export.convert import convert_and_publish
from model_export.errors import ExportError
from tests.model_export import helpers
from tfserving_contract import layout

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_file_converts_with_stable_names_and_equal_outputs(tmp_path, suffix):
    model = helpers.tiny_model()
    source = tmp_path / f"tiny{suffix}"
    model.save(source)

    version_dir = convert_and_publish(source, tmp_path / "tiny", class_names=["a"])

    signature = signatures.serving_signature(version_dir)
    assert signatures.public_spec(signature["inputs"]) == {
        "features": {"dtype": "DT_FLOAT", "shape": [-1, helpers.FEATURES]}
    }
    assert signatures.public_spec(signature["outputs"]) == {
        "scores": {"dtype": "DT_FLOAT", "shape": [-1, helpers.CLASSES]}
    }
    features = helpers.sample_features(rows=4)
    loaded = tf.saved_model.load(str(version_dir))
    served = loaded.signatures["serving_default"](features=tf.constant(features))
    np.testing.assert_allclose(
        served["scores"].numpy(), np.asarray(model(features)), rtol=1e-6, atol=1e-7
    )
    metadata = json.loads(
        (version_dir / layout.ASSETS_EXTRA / layout.EXPORT_METADATA_FILE).read_text()
    )
    assert metadata["source_format"] == suffix.lstrip(".")
    assert metadata["class_names"] == ["a"]


def test_saved_model_converts_keeping_serving_default(
    tmp_path, fashion_mnist_base_path
):
    source = fashion_mnist_base_path / "1"
    version_dir = convert_and_publish(source, tmp_path / "copy", version=3)

    assert version_dir.name == "3"
    assert signatures.public_spec(
        signatures.serving_signature(version_dir)["inputs"]
    ) == {"image": {"dtype": "DT_FLOAT", "shape": [-1, 28, 28, 1]}}
    images = np.random.default_rng(1).random((2, 28, 28, 1)).astype(np.float32)
    original = tf.saved_model.load(str(source)).signatures["serving_default"]
    copy = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    np.testing.assert_allclose(
        copy(image=tf.constant(images))["probabilities"].numpy(),
        original(image=tf.constant(images))["probabilities"].numpy(),
        rtol=1e-6,
        atol=1e-7,
    )
    assert (version_dir / layout.ASSETS_EXTRA / layout.WARMUP_REQUESTS_FILE).is_file()


def test_missing_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        convert_and_publish(tmp_path / "nope.keras", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unreadable_keras_file_is_a_clear_error(tmp_path):
    source = tmp_path / "broken.keras"
    source.write_bytes(b"this is not a zip archive")
    with pytest.raises(ExportError, match="cannot read Keras model"):
        convert_and_publish(source, tmp_path / "out")


def test_unknown_file_type_is_a_clear_error(tmp_path):
    source = tmp_path / "model.onnx"
    source.write_bytes(b"\x00")
    with pytest.raises(ExportError, match="neither a SavedModel directory"):
        convert_and_publish(source, tmp_path / "out")


def test_saved_model_without_serving_signature_is_a_clear_error(tmp_path):
    module = tf.Module()
    module.scale = tf.Variable(2.0)
    module.double = tf.function(
        lambda x: x * module.scale, input_signature=[tf.TensorSpec([None], tf.float32)]
    )
    source = tmp_path / "no_signature"
    tf.saved_model.save(module, str(source), signatures={})

    with pytest.raises(ExportError, match="no 'serving_default' signature"):
        convert_and_publish(source, tmp_path / "out")


def test_directory_without_saved_model_is_a_clear_error(tmp_path):
    source = tmp_path / "empty_dir"
    source.mkdir()
    with pytest.raises(ExportError, match="saved_model.pb not found"):
        convert_and_publish(source, tmp_path / "out")
