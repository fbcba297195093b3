"""Tests for the ResNet50 export with the tutorials' encoded-image signature.

Uses the session fixture `resnet_bytes_base_path` (--input-size 32, random
weights) to keep CPU cost low.
"""

import base64
import json

import numpy as np
import pytest
import tensorflow as tf

from model_export import signatures, warmup
from tests.conftest import RESNET_FIXTURE_SIZE as SIZE
from tfserving_contract import layout

pytestmark = pytest.mark.slow

OUTPUTS = {
    "classes": {"dtype": "DT_INT64", "shape": [-1]},
    "probabilities": {"dtype": "DT_FLOAT", "shape": [-1, 1000]},
}


@pytest.fixture(scope="module")
def resnet_version_dir(resnet_bytes_base_path):
    return resnet_bytes_base_path / "1"


def test_serving_default_has_the_tutorial_signature_and_float_one_is_kept(
    resnet_version_dir,
):
    sigs = signatures.read_signatures(resnet_version_dir)
    assert signatures.public_spec(sigs["serving_default"]["inputs"]) == {
        "image_bytes": {"dtype": "DT_STRING", "shape": [-1]}
    }
    assert signatures.public_spec(sigs["predict_images"]["inputs"]) == {
        "images": {"dtype": "DT_FLOAT", "shape": [-1, SIZE, SIZE, 3]}
    }
    for name in ("serving_default", "predict_images"):
        assert signatures.public_spec(sigs[name]["outputs"]) == OUTPUTS


def test_b64_sample_decodes_to_the_golden_outputs(resnet_version_dir):
    assets = resnet_version_dir / layout.ASSETS_EXTRA
    sample = json.loads((assets / layout.SAMPLE_REQUEST_FILE).read_text())
    golden = json.loads((assets / layout.GOLDEN_OUTPUTS_FILE).read_text())
    encoded = [base64.b64decode(row["b64"]) for row in sample["instances"]]
    loaded = tf.saved_model.load(str(resnet_version_dir))
    served = loaded.signatures["serving_default"](image_bytes=tf.constant(encoded))
    rows = golden["predictions"]
    np.testing.assert_allclose(
        served["probabilities"].numpy(),
        np.asarray([row["probabilities"] for row in rows], np.float32),
        rtol=1e-4,
        atol=1e-4,
    )
    classes = served["classes"].numpy()
    assert classes.dtype == np.int64
    assert classes.tolist() == [row["classes"] for row in rows]
    assert classes.tolist() == np.argmax(served["probabilities"], axis=-1).tolist()
    # The float signature agrees with the bytes signature on the decoded pixels.
    pixels = np.stack([tf.io.decode_jpeg(e, channels=3).numpy() for e in encoded])
    floats = loaded.signatures["predict_images"](
        images=tf.constant(pixels.astype(np.float32))
    )
    np.testing.assert_allclose(
        floats["probabilities"].numpy(), served["probabilities"].numpy(), atol=1e-5
    )


def test_warmup_records_carry_encoded_images(resnet_version_dir):
    logs = warmup.read_warmup_records(
        resnet_version_dir / layout.ASSETS_EXTRA / layout.WARMUP_REQUESTS_FILE
    )
    assert len(logs) == 4
    tensor = logs[0].predict_log.request.inputs["image_bytes"]
    assert tf.dtypes.as_dtype(tensor.dtype) == tf.string
    assert [d.size for d in tensor.tensor_shape.dim] == [1]
    assert tensor.string_val[0][:3] == b"\xff\xd8\xff"  # JPEG, as the tutorials send
    image = tf.io.decode_image(tensor.string_val[0], channels=3)
    assert tuple(image.shape) == (SIZE, SIZE, 3)


def test_metadata_says_weights_are_random(resnet_version_dir):
    metadata = json.loads(
        (
            resnet_version_dir / layout.ASSETS_EXTRA / layout.EXPORT_METADATA_FILE
        ).read_text()
    )
    assert metadata["weights"] == "none"
    assert metadata["image_bytes_signature"] is True
    assert metadata["input_size"] == SIZE
