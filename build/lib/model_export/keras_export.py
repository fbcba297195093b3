"""Writes a Keras model as a SavedModel with stable serving names.

Keras' own `model.export()` names outputs "output_0"; this module exports
through `keras.export.ExportArchive` so the serving signature keeps the model's
input names and uses the output layer names as output keys.

Typical usage example:

    export_keras_model(model, Path("/tmp/staging"))
"""

import logging
from pathlib import Path

import keras
import tensorflow as tf

from model_export import constants

logger = logging.getLogger(__name__)


def input_specs(model: keras.Model) -> list[tf.TensorSpec]:
    """Returns one TensorSpec per model input, named after the Keras input.

    Args:
        model: A built Keras model with known inputs.

    Returns:
        Specs with the batch dimension left unknown.
    """
    specs = []
    for tensor in model.inputs:
        shape = (None, *tensor.shape[1:])
        name = tensor.name.split(":")[0]
        specs.append(tf.TensorSpec(shape=shape, dtype=tensor.dtype, name=name))
    return specs


def output_names(model: keras.Model) -> list[str]:
    """Returns the output keys of the serving signature (output layer names)."""
    names = list(getattr(model, "output_names", None) or [])
    count = len(model.outputs)
    if len(names) != count:
        names = [f"output_{i}" for i in range(count)]
    return names


def serving_function(model: keras.Model):
    """Returns a callable mapping positional inputs to a dict of named outputs."""
    names = output_names(model)

    def serve(*inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        args = inputs[0] if len(inputs) == 1 else list(inputs)
        outputs = model(args, training=False)
        if not isinstance(outputs, list | tuple):
            outputs = [outputs]
        return dict(zip(names, outputs, strict=True))

    return serve


def export_keras_model(
    model: keras.Model,
    path: Path,
    extra_endpoints: dict[str, tuple[object, list[tf.TensorSpec]]] | None = None,
    serving_endpoint: tuple[object, list[tf.TensorSpec]] | None = None,
) -> None:
    """Exports a model as a TF SavedModel with a named serving signature.

    Args:
        model: The Keras model whose variables are saved.
        path: Directory to write (must not hold a SavedModel yet).
        extra_endpoints: Additional signatures: name -> (function, input specs).
        serving_endpoint: Replaces the default serving_default (function, specs).
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    fn, specs = serving_endpoint or (serving_function(model), input_specs(model))
    archive.add_endpoint(constants.SIGNATURE_NAME, fn, input_signature=specs)
    for name, (extra_fn, extra_specs) in (extra_endpoints or {}).items():
        archive.add_endpoint(name, extra_fn, input_signature=extra_specs)
    archive.write_out(str(path), verbose=False)
    logger.info("wrote SavedModel to %s", path)
