"""Converts a .keras, .h5 or SavedModel into a published serving version.

Typical usage example:

    convert_and_publish(Path("model.keras"), Path("models/my_model"))
"""

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from model_export import constants, keras_export, samples, signatures
from model_export.errors import ExportError
from model_export.publish import PublishRequest, choose_version, publish
from model_export.warmup import check_warmup_count
from tfserving_contract import headroom

logger = logging.getLogger(__name__)

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")

_Prepared = tuple[Callable[[Path], None], dict[str, np.ndarray], dict[str, np.ndarray]]
"""(write_model, sample_inputs, reference_outputs) for a PublishRequest."""


def _load_keras(path: Path):
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:
        raise ExportError(
            f"cannot read Keras model {path} ({type(err).__name__}: {err}); check "
            "the file is a complete .keras/.h5 save and that any custom layers are "
            "importable"
        ) from err


def _keras_request(path: Path) -> _Prepared:
    model = _load_keras(path)
    specs = keras_export.input_specs(model)
    inputs_spec = {
        spec.name: {
            "dtype": _dtype_name(spec.dtype),
            "shape": [-1 if d is None else int(d) for d in spec.shape],
        }
        for spec in specs
    }
    sample = samples.synthetic_inputs(inputs_spec)
    serve = keras_export.serving_function(model)
    reference = serve(*(tf.constant(sample[spec.name]) for spec in specs))
    reference = {k: np.asarray(v) for k, v in reference.items()}

    def write(staging: Path) -> None:
        keras_export.export_keras_model(model, staging)

    return write, sample, reference


def _dtype_name(dtype: tf.DType) -> str:
    return types_pb2.DataType.Name(dtype.as_datatype_enum)


def _saved_model_request(path: Path) -> _Prepared:
    signature = signatures.serving_signature(path)
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as err:
        raise ExportError(
            f"cannot load SavedModel {path} ({err}); re-export it from the "
            "training code"
        ) from err
    sample = samples.synthetic_inputs(signatures.public_spec(signature["inputs"]))
    fn = loaded.signatures[constants.SIGNATURE_NAME]
    outputs = fn(**{k: tf.constant(v) for k, v in sample.items()})
    reference = {k: v.numpy() for k, v in outputs.items()}

    def write(staging: Path) -> None:
        tf.saved_model.save(loaded, str(staging), signatures=dict(loaded.signatures))

    return write, sample, reference


def convert_and_publish(
    model_path: Path,
    base_path: Path,
    version: int | None = None,
    warmup_records: int = constants.DEFAULT_WARMUP_RECORDS,
    model_name: str | None = None,
    class_names: list[str] | None = None,
    memory: headroom.Settings = headroom.DEFAULT_SETTINGS,
    latest_versions: int = 1,
) -> Path:
    """Publishes an existing model under base_path as the next version.

    Args:
        model_path: A .keras/.h5 file or a SavedModel directory.
        base_path: Directory of numbered versions.
        version: Explicit version, or None for the next free one.
        warmup_records: Number of warmup records.
        model_name: Served model name; defaults to the base path's name.
        memory: The memory check's settings (default: warn, no limit).
        latest_versions: The server's `latest` policy num_versions.
        class_names: Optional class names recorded in the metadata.

    Returns:
        The published version directory.

    Raises:
        ExportError: If the model is missing, unreadable or has no serving
            signature, or the version is taken.
    """
    model_path = Path(model_path)
    check_warmup_count(warmup_records)
    choose_version(Path(base_path), version)
    if not model_path.exists():
        raise ExportError(
            f"model path {model_path} does not exist; pass a .keras or .h5 file or "
            "a SavedModel directory"
        )
    if model_path.is_dir():
        write, sample, reference = _saved_model_request(model_path)
        source_format = "saved_model"
    elif model_path.suffix.lower() in KERAS_SUFFIXES:
        write, sample, reference = _keras_request(model_path)
        source_format = model_path.suffix.lower().lstrip(".")
    else:
        raise ExportError(
            f"{model_path} is neither a SavedModel directory nor a "
            f"{'/'.join(KERAS_SUFFIXES)} file; save the model with model.save()"
        )
    request = PublishRequest(
        base_path=Path(base_path),
        write_model=write,
        sample_inputs=sample,
        reference_outputs=reference,
        version=version,
        model_name=model_name,
        warmup_records=warmup_records,
        memory=memory,
        latest_versions=latest_versions,
        metadata={
            "dataset": None,
            "accuracy": None,
            "class_names": class_names,
            "source": str(model_path),
            "source_format": source_format,
        },
    )
    return publish(request)
