"""Reads signature definitions from a SavedModel, like `saved_model_cli show --all`.

Typical usage example:

    sigs = read_signatures(Path("models/fashion_mnist/1"))
    print(sigs["serving_default"]["inputs"]["image"]["shape"])
"""

from pathlib import Path

from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2

from model_export import constants
from model_export.errors import ExportError

SAVED_MODEL_FILE = "saved_model.pb"


def _tensor_info(info) -> dict[str, object]:
    shape = None
    if not info.tensor_shape.unknown_rank:
        shape = [int(dim.size) for dim in info.tensor_shape.dim]
    return {
        "dtype": types_pb2.DataType.Name(info.dtype),
        "shape": shape,
        "name": info.name,
    }


def read_signatures(version_dir: Path) -> dict[str, dict[str, object]]:
    """Parses every signature of the serving MetaGraph in saved_model.pb.

    Args:
        version_dir: A directory holding saved_model.pb.

    Returns:
        signature name -> {"method_name", "inputs", "outputs"}; inputs and
        outputs map a key to {"dtype": "DT_FLOAT", "shape": [-1, ...] or None,
        "name": graph tensor name}.

    Raises:
        ExportError: If saved_model.pb is missing or unreadable.
    """
    pb_path = Path(version_dir) / SAVED_MODEL_FILE
    if not pb_path.is_file():
        raise ExportError(
            f"{pb_path} not found; point at a SavedModel version directory "
            "(<base_path>/<N>) or a base path that holds one"
        )
    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString(pb_path.read_bytes())
    except Exception as err:  # protobuf raises DecodeError and friends.
        raise ExportError(
            f"{pb_path} is not a valid SavedModel ({err}); re-export the model"
        ) from err
    meta_graphs = [
        mg for mg in saved_model.meta_graphs if "serve" in mg.meta_info_def.tags
    ] or list(saved_model.meta_graphs)
    if not meta_graphs:
        raise ExportError(f"{pb_path} has no MetaGraph; re-export the model")
    result: dict[str, dict[str, object]] = {}
    for name, sig in sorted(meta_graphs[0].signature_def.items()):
        if name == "__saved_model_init_op":
            continue
        result[name] = {
            "method_name": sig.method_name,
            "inputs": {k: _tensor_info(v) for k, v in sorted(sig.inputs.items())},
            "outputs": {k: _tensor_info(v) for k, v in sorted(sig.outputs.items())},
        }
    return result


def serving_signature(version_dir: Path) -> dict[str, object]:
    """Returns the serving_default signature, or raises a clear error.

    Args:
        version_dir: A directory holding saved_model.pb.

    Returns:
        The signature description from read_signatures().

    Raises:
        ExportError: If there is no serving_default signature.
    """
    signatures = read_signatures(version_dir)
    if constants.SIGNATURE_NAME not in signatures:
        found = ", ".join(signatures) or "none"
        raise ExportError(
            f"{version_dir} has no {constants.SIGNATURE_NAME!r} signature "
            f"(found: {found}); re-export with a serving_default signature, "
            "e.g. `tfs-export convert` from the Keras model"
        )
    return signatures[constants.SIGNATURE_NAME]


def public_spec(tensors: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """Drops graph tensor names, keeping {"dtype", "shape"} per key."""
    return {k: {"dtype": v["dtype"], "shape": v["shape"]} for k, v in tensors.items()}
