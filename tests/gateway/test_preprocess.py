"""Image decoding and tensor building from the served signature (no server)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gateway.preprocess import (
    ImageSpec,
    UnsupportedModel,
    UploadError,
    decode,
    to_tensor,
)
from tfserving_contract.signature import Signature, TensorSpec

GRAY28 = ImageSpec("image", "DT_FLOAT", 28, 28, 1)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_spec_from_an_image_signature() -> None:
    sig = Signature(
        "serving_default", {"image": TensorSpec("DT_FLOAT", (-1, 28, 28, 1))}
    )
    assert ImageSpec.from_signature(sig) == GRAY28


def test_spec_keeps_free_sizes_open() -> None:
    sig = Signature("s", {"x": TensorSpec("DT_UINT8", (-1, -1, -1, 3))})
    assert ImageSpec.from_signature(sig) == ImageSpec("x", "DT_UINT8", None, None, 3)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {
                "a": TensorSpec("DT_FLOAT", (-1, 4)),
                "b": TensorSpec("DT_FLOAT", (-1, 4)),
            },
            "exactly one image input",
        ),
        ({"a": TensorSpec("DT_INT64", (-1, 28, 28, 1))}, "DT_INT64"),
        ({"a": TensorSpec("DT_FLOAT", (-1, 784))}, r"expected \[batch, height, width"),
    ],
)
def test_non_image_signatures_are_refused(inputs, message) -> None:
    with pytest.raises(UnsupportedModel, match=message):
        ImageSpec.from_signature(Signature("s", inputs))


def test_float_input_is_scaled_to_unit_range_and_resized() -> None:
    image = decode(png(Image.new("L", (56, 56), color=255)), max_pixels=10_000)
    batch = to_tensor(image, GRAY28)
    assert batch.shape == (1, 28, 28, 1) and batch.dtype == np.float32
    assert float(batch.min()) == pytest.approx(1.0)


def test_uint8_rgb_input_keeps_raw_values() -> None:
    image = decode(png(Image.new("RGB", (4, 4), color=(10, 20, 30))), 10_000)
    batch = to_tensor(image, ImageSpec("x", "DT_UINT8", None, None, 3))
    assert batch.shape == (1, 4, 4, 3) and batch.dtype == np.uint8
    assert batch[0, 0, 0].tolist() == [10, 20, 30]


def test_transparency_is_flattened_onto_white() -> None:
    image = decode(png(Image.new("RGBA", (2, 2), color=(0, 0, 0, 0))), 10_000)
    batch = to_tensor(image, ImageSpec("x", "DT_UINT8", None, None, 1))
    assert batch.max() == batch.min() == 255


def test_string_input_gets_the_encoded_file() -> None:
    data = png(Image.new("RGB", (2, 2)))
    batch = to_tensor(decode(data, 10_000), ImageSpec("image_bytes", "DT_STRING"), data)
    assert batch.tolist() == [data]


def test_too_many_pixels_is_413() -> None:
    with pytest.raises(UploadError, match="more than the limit of 100") as err:
        decode(png(Image.new("L", (11, 10))), max_pixels=100)
    assert err.value.status == 413
