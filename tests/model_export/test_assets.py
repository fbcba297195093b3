"""Tests for the assets.extra files of the shared fixture's version 1."""

import json

import numpy as np
import pytest
import tensorflow as tf

from model_export import constants, signatures, warmup
from tfserving_contract import layout

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def version_dir(fashion_mnist_base_path):
    return fashion_mnist_base_path / "1"


def _asset(version_dir, name):
    return version_dir / layout.ASSETS_EXTRA / name


def test_warmup_records_parse_and_match_the_signature(version_dir):
    signature = signatures.serving_signature(version_dir)
    logs = warmup.read_warmup_records(_asset(version_dir, layout.WARMUP_REQUESTS_FILE))
    assert len(logs) == constants.DEFAULT_WARMUP_RECORDS
    for log in logs:
        assert log.WhichOneof("log_type") == "predict_log"
        request = log.predict_log.request
        assert request.model_spec.name == "fashion_mnist"
        assert request.model_spec.signature_name == "serving_default"
        assert set(request.inputs) == set(signature["inputs"])
        for name, spec in signature["inputs"].items():
            tensor = request.inputs[name]
            assert tf.dtypes.as_dtype(tensor.dtype).name == "float32"
            assert spec["dtype"] == "DT_FLOAT"
            shape = [d.size for d in tensor.tensor_shape.dim]
            assert len(shape) == len(spec["shape"])
            assert all(w in (-1, g) for w, g in zip(spec["shape"], shape, strict=True))
            array = tf.make_ndarray(tensor)
            assert array.shape == (1, 28, 28, 1)


def test_golden_outputs_equal_what_the_saved_model_returns(version_dir):
    sample = json.loads(_asset(version_dir, layout.SAMPLE_REQUEST_FILE).read_text())
    golden = json.loads(_asset(version_dir, layout.GOLDEN_OUTPUTS_FILE).read_text())
    metadata = json.loads(_asset(version_dir, layout.EXPORT_METADATA_FILE).read_text())
    images = np.asarray(sample["instances"], dtype=np.float32)
    assert images.shape == (constants.DEFAULT_SAMPLE_SIZE, 28, 28, 1)

    loaded = tf.saved_model.load(str(version_dir))
    served = loaded.signatures["serving_default"](image=tf.constant(images))
    probabilities = served["probabilities"].numpy()
    expected = np.asarray(golden["predictions"], dtype=np.float32)
    np.testing.assert_allclose(
        probabilities,
        expected,
        rtol=metadata["tolerance"]["rtol"],
        atol=metadata["tolerance"]["atol"],
    )
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, atol=1e-5)
    # Golden values are float32 values stored exactly as JSON floats.
    assert all(float(np.float32(v)) == v for row in golden["predictions"] for v in row)


def test_metadata_records_dataset_accuracy_and_class_names(version_dir):
    metadata = json.loads(_asset(version_dir, layout.EXPORT_METADATA_FILE).read_text())
    assert metadata["dataset"] == "digits"
    assert metadata["class_names"] == [str(i) for i in range(10)]
    assert 0.0 <= metadata["accuracy"] <= 1.0
    assert metadata["signature_name"] == "serving_default"
    assert metadata["tolerance"] == {
        "rtol": constants.DEFAULT_RTOL,
        "atol": constants.DEFAULT_ATOL,
    }
    assert metadata["created"].endswith("+00:00")
