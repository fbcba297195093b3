"""Builds sample inputs for a signature when no real data is at hand.

Typical usage example:

    inputs = synthetic_inputs({"x": {"dtype": "DT_FLOAT", "shape": [-1, 4]}}, rows=3)
"""

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from model_export import constants
from model_export.errors import ExportError

UNKNOWN_DIM_SIZE = 8
"""Size used for unknown non-batch dimensions."""


def synthetic_inputs(
    inputs_spec: dict[str, dict[str, object]],
    rows: int = constants.DEFAULT_SAMPLE_SIZE,
    seed: int = constants.DEFAULT_SEED,
) -> dict[str, np.ndarray]:
    """Returns seeded random arrays matching each input's dtype and shape.

    Floats are uniform in [0, 1); integers in [0, 10); booleans random.

    Args:
        inputs_spec: key -> {"dtype": "DT_FLOAT", "shape": [-1, ...]}.
        rows: Batch size of each array.
        seed: Random seed.

    Returns:
        key -> array of shape (rows, ...).

    Raises:
        ExportError: For string inputs or unknown ranks, which cannot be guessed.
    """
    rng = np.random.default_rng(seed)
    result = {}
    for name, spec in inputs_spec.items():
        dtype = tf.dtypes.as_dtype(types_pb2.DataType.Value(spec["dtype"]))
        shape = spec["shape"]
        if shape is None or dtype == tf.string:
            raise ExportError(
                f"cannot build a sample for input {name!r} ({spec['dtype']}, shape "
                f"{shape}); export the model from Keras with `tfs-export convert "
                "model.keras` or give the input a known rank and numeric dtype"
            )
        dims = [rows, *(UNKNOWN_DIM_SIZE if d == -1 else d for d in shape[1:])]
        if dtype.is_floating:
            array = rng.random(dims).astype(dtype.as_numpy_dtype)
        elif dtype.is_integer:
            array = rng.integers(0, 10, dims).astype(dtype.as_numpy_dtype)
        elif dtype == tf.bool:
            array = rng.random(dims) > 0.5
        else:
            raise ExportError(
                f"input {name!r} has unsupported dtype {spec['dtype']}; "
                "use a float, integer or bool input"
            )
        result[name] = array
    return result
