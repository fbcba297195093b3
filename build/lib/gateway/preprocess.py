"""Turns an uploaded JPEG/PNG into the model's input tensor, driven by its signature.

The served signature decides everything: the input's height, width and channels
(``[batch, height, width, channels]``), and its dtype: DT_FLOAT gets pixel values
scaled to [0, 1], DT_UINT8 the raw 0-255 values, DT_STRING the encoded file itself.

Typical usage example:

    spec = ImageSpec.from_signature(served_signature)
    tensor = to_tensor(decode(upload_bytes, max_pixels=40_000_000), spec)
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from gateway.constants import ACCEPTED_FORMATS
from tfserving_contract.signature import Signature

NUMERIC_DTYPES = ("DT_FLOAT", "DT_UINT8")
# Modes Pillow converts to 8-bit grayscale/RGB without losing meaning.
CONVERTIBLE_MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr")


class UploadError(ValueError):
    """The upload cannot be used; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class UnsupportedModel(ValueError):
    """The served signature is not an image classifier the gateway can feed."""


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """What the model's single input expects."""

    input_name: str
    dtype: str
    height: int | None = None
    width: int | None = None
    channels: int | None = None

    @classmethod
    def from_signature(cls, signature: Signature) -> ImageSpec:
        """Reads the input tensor of a served signature.

        Raises:
            UnsupportedModel: not one image input the gateway can build.
        """
        if len(signature.inputs) != 1:
            raise UnsupportedModel(
                f"signature {signature.name!r} has inputs {sorted(signature.inputs)}; "
                "the gateway feeds models with exactly one image input"
            )
        name, spec = next(iter(signature.inputs.items()))
        if spec.dtype == "DT_STRING":
            return cls(name, spec.dtype)
        if spec.dtype not in NUMERIC_DTYPES:
            raise UnsupportedModel(
                f"input {name!r} is {spec.dtype}; supported: DT_FLOAT, DT_UINT8, "
                "DT_STRING (encoded image bytes)"
            )
        shape = spec.shape
        if shape is None or len(shape) != 4 or shape[3] not in (1, 3):
            raise UnsupportedModel(
                f"input {name!r} has shape {shape}; expected "
                "[batch, height, width, 1 or 3 channels]"
            )
        return cls(
            name,
            spec.dtype,
            height=shape[1] if shape[1] > 0 else None,
            width=shape[2] if shape[2] > 0 else None,
            channels=shape[3],
        )

    def describe(self) -> dict[str, object]:
        """JSON-friendly summary for GET /models."""
        return dataclasses.asdict(self)


def decode(data: bytes, max_pixels: int) -> Image.Image:
    """Opens and fully decodes an upload.

    Raises:
        UploadError: empty, not an image, not JPEG/PNG, too many pixels, corrupt.
    """
    if not data:
        raise UploadError(400, "the upload is empty: attach a JPEG or PNG file")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UploadError(
            415, "the upload is not an image: attach a JPEG or PNG file"
        ) from None
    except Image.DecompressionBombError as err:
        raise UploadError(413, f"{err}: resize the image before uploading") from None
    if image.format not in ACCEPTED_FORMATS:
        raise UploadError(
            415,
            f"unsupported image format {image.format}: convert it to JPEG or PNG",
        )
    width, height = image.size
    if width * height > max_pixels:
        raise UploadError(
            413,
            f"the image has {width}x{height} pixels, more than the limit of "
            f"{max_pixels}: resize it before uploading",
        )
    try:
        image.load()
    except (OSError, SyntaxError) as err:
        raise UploadError(
            400, f"the image is corrupt or truncated ({err}): export it again"
        ) from None
    return image


def to_tensor(image: Image.Image, spec: ImageSpec, raw: bytes = b"") -> np.ndarray:
    """Builds a batch of one for `spec` from a decoded image (or its raw bytes).

    Raises:
        UploadError: a pixel mode that cannot be converted to 8-bit L/RGB.
    """
    if spec.dtype == "DT_STRING":
        return np.array([raw], dtype=object)
    if image.mode not in CONVERTIBLE_MODES:
        raise UploadError(
            415,
            f"unsupported pixel mode {image.mode} (16-bit or float image): "
            "save it as 8-bit grayscale or RGB",
        )
    if image.mode in ("RGBA", "LA", "P"):
        image = _on_white(image)
    image = image.convert("L" if spec.channels == 1 else "RGB")
    if spec.height and spec.width:
        image = image.resize((spec.width, spec.height), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.uint8)
    if spec.channels == 1:
        pixels = pixels[..., np.newaxis]
    batch = pixels[np.newaxis]
    if spec.dtype == "DT_FLOAT":
        return batch.astype(np.float32) / np.float32(255.0)
    return batch


def _on_white(image: Image.Image) -> Image.Image:
    """Flattens transparency onto a white background."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba)
