"""Exports Keras' ResNet50, optionally with the tutorials' encoded-image signature.

With `image_bytes=True`, serving_default has the signature of the ResNet
SavedModel that TF Serving's tutorials serve: "image_bytes" (tf.string, a batch
of JPEG or PNG files) in, "classes" (int64, the argmax) and "probabilities"
(float32) out. Images are decoded, resized and preprocessed in the graph, so
REST clients send {"instances": [{"b64": "..."}]} and read
predictions[0]["classes"]. The float signature "predict_images" takes "images"
float32 (-1, S, S, 3) holding RGB values in [0, 255] and is always exported
(it is serving_default without image_bytes); it has the same outputs.

Typical usage example:

    export_resnet50(Path("models/resnet50"), image_bytes=True)
"""

import contextlib
import logging
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from model_export import constants, keras_export
from model_export.errors import ExportError
from model_export.publish import PublishRequest, choose_version, publish
from model_export.warmup import check_warmup_count
from tfserving_contract import headroom

logger = logging.getLogger(__name__)

MIN_INPUT_SIZE = 32
RESNET_SAMPLE_SIZE = 2
RESNET_ATOL = 1e-4


def build_resnet50(weights: str, input_size: int):
    """Builds ResNet50 with ImageNet weights when possible.

    Args:
        weights: "auto" (ImageNet if downloadable, else random), "imagenet" or
            "none".
        input_size: Square input side in pixels (ImageNet weights need 224).

    Returns:
        (model, weights actually used: "imagenet" or "none").

    Raises:
        ExportError: If the options conflict or ImageNet weights were required
            and could not be fetched.
    """
    import keras

    if weights not in constants.RESNET_WEIGHTS_CHOICES:
        choices = ", ".join(constants.RESNET_WEIGHTS_CHOICES)
        raise ExportError(f"unknown --weights {weights!r}; use one of: {choices}")
    if input_size < MIN_INPUT_SIZE:
        raise ExportError(
            f"--input-size {input_size} is too small; ResNet50 needs at least "
            f"{MIN_INPUT_SIZE}"
        )
    if weights == "imagenet" and input_size != constants.RESNET_INPUT_SIZE:
        raise ExportError(
            f"ImageNet weights need --input-size {constants.RESNET_INPUT_SIZE}; "
            "drop --input-size or pass --weights none"
        )
    shape = (input_size, input_size, 3)
    if weights == "none" or input_size != constants.RESNET_INPUT_SIZE:
        logger.info("building ResNet50 with random weights (--weights none)")
        return keras.applications.ResNet50(weights=None, input_shape=shape), "none"
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Keras prints progress.
            model = keras.applications.ResNet50(weights="imagenet", input_shape=shape)
        return model, "imagenet"
    except Exception as err:
        if weights == "imagenet":
            raise ExportError(
                f"cannot fetch ImageNet weights ({err}); connect to the internet, "
                "put the .h5 file in ~/.keras/models, or pass --weights none"
            ) from err
        logger.warning(
            "ImageNet weights unavailable (%s); exporting ResNet50 with RANDOM "
            "weights: predictions are meaningless, only shapes and latency are real",
            err,
        )
        return keras.applications.ResNet50(weights=None, input_shape=shape), "none"


def _sample_images(size: int, rows: int) -> np.ndarray:
    """Smooth seeded RGB images (uint8) that compress well as JPEG."""
    rng = np.random.default_rng(constants.DEFAULT_SEED)
    grid = np.linspace(0.0, 1.0, size, dtype=np.float32)
    images = []
    for _ in range(rows):
        a, b, c = rng.random(3)
        red = np.outer(grid, np.ones(size)) * 255 * a
        green = np.outer(np.ones(size), grid) * 255 * b
        blue = np.full((size, size), 255 * c)
        images.append(np.stack([red, green, blue], axis=-1))
    return np.clip(np.round(np.stack(images)), 0, 255).astype(np.uint8)


def export_resnet50(
    base_path: Path,
    version: int | None = None,
    weights: str = "auto",
    image_bytes: bool = False,
    input_size: int = constants.RESNET_INPUT_SIZE,
    warmup_records: int = constants.DEFAULT_WARMUP_RECORDS,
    model_name: str | None = None,
    memory: headroom.Settings = headroom.DEFAULT_SETTINGS,
    latest_versions: int = 1,
) -> Path:
    """Builds ResNet50 and publishes it under base_path.

    Args:
        base_path: Directory of numbered versions.
        version: Explicit version, or None for the next free one.
        weights: "auto", "imagenet" or "none".
        image_bytes: Make serving_default take encoded image bytes.
        input_size: Square input side (224 for ImageNet weights).
        warmup_records: Number of warmup records.
        model_name: Served model name; defaults to the base path's name.
        memory: The memory check's settings (default: warn, no limit).
        latest_versions: The server's `latest` policy num_versions.

    Returns:
        The published version directory.

    Raises:
        ExportError: On bad options or a failed check.
    """
    import keras

    check_warmup_count(warmup_records)
    choose_version(Path(base_path), version)
    model, used_weights = build_resnet50(weights, input_size)
    preprocess = keras.applications.resnet50.preprocess_input
    size = input_size

    def predict_images(images: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = model(preprocess(images), training=False)
        return {
            constants.RESNET_CLASSES_OUTPUT: tf.argmax(
                probabilities, axis=-1, output_type=tf.int64
            ),
            constants.RESNET_OUTPUT: probabilities,
        }

    def decode_one(data: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        image = tf.image.resize(tf.cast(image, tf.float32), (size, size))
        return tf.ensure_shape(image, (size, size, 3))

    def predict_bytes(encoded: tf.Tensor) -> dict[str, tf.Tensor]:
        images = tf.map_fn(
            decode_one,
            encoded,
            fn_output_signature=tf.TensorSpec((size, size, 3), tf.float32),
        )
        return predict_images(images)

    float_spec = [
        tf.TensorSpec((None, size, size, 3), tf.float32, constants.RESNET_FLOAT_INPUT)
    ]
    bytes_spec = [tf.TensorSpec((None,), tf.string, constants.RESNET_BYTES_INPUT)]
    pixels = _sample_images(size, RESNET_SAMPLE_SIZE)
    if image_bytes:
        encoded = np.array(
            [tf.io.encode_jpeg(p, quality=95).numpy() for p in pixels], dtype=object
        )
        sample = {constants.RESNET_BYTES_INPUT: encoded}
        reference = predict_bytes(tf.constant(encoded))
        serving = (predict_bytes, bytes_spec)
        extra = {constants.RESNET_FLOAT_SIGNATURE: (predict_images, float_spec)}
    else:
        floats = pixels.astype(np.float32)
        sample = {constants.RESNET_FLOAT_INPUT: floats}
        reference = predict_images(tf.constant(floats))
        serving = (predict_images, float_spec)
        extra = {constants.RESNET_FLOAT_SIGNATURE: (predict_images, float_spec)}

    def write(staging: Path) -> None:
        keras_export.export_keras_model(
            model, staging, extra_endpoints=extra, serving_endpoint=serving
        )

    request = PublishRequest(
        base_path=Path(base_path),
        write_model=write,
        sample_inputs=sample,
        reference_outputs={k: np.asarray(v) for k, v in reference.items()},
        version=version,
        model_name=model_name,
        warmup_records=warmup_records,
        memory=memory,
        latest_versions=latest_versions,
        atol=RESNET_ATOL,
        metadata={
            "dataset": "imagenet" if used_weights == "imagenet" else None,
            "accuracy": None,
            "class_names": None,
            "weights": used_weights,
            "input_size": size,
            "image_bytes_signature": image_bytes,
        },
    )
    return publish(request)
