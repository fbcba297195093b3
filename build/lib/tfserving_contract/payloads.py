"""Build predict payloads from a sample request and parse TF Serving responses.

REST only needs ``numpy``: row (``instances``) and columnar (``inputs``) bodies,
``{"b64": ...}`` for DT_STRING values. The sample's own input names and value types
are kept, so a sample that disagrees with the served signature produces the
server's own error (which the hints then explain).

Typical usage example:

    tensors = payloads.sample_tensors(sample, served_signature)
    body = payloads.row_body(tensors, "serving_default")
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfserving_contract.signature import Signature, numpy_dtype

_FLOATS = {"DT_FLOAT", "DT_DOUBLE", "DT_HALF"}
_INTS = {
    "DT_INT8",
    "DT_INT16",
    "DT_INT32",
    "DT_INT64",
    "DT_UINT8",
    "DT_UINT16",
    "DT_UINT32",
    "DT_UINT64",
}


class PayloadError(ValueError):
    """A sample or response cannot be turned into tensors."""


@dataclass
class InputTensor:
    """One request tensor: values with batch dimension, TF dtype, and a note."""

    name: str
    values: np.ndarray
    dtype: str
    note: str = ""


@dataclass
class SampleTensors:
    """Request tensors plus whether the sample named its inputs (dict instances)."""

    tensors: dict[str, InputTensor]
    named: bool

    @property
    def batch_size(self) -> int:
        """Returns the size of the first dimension of the first tensor."""
        first = next(iter(self.tensors.values()))
        return int(first.values.shape[0]) if first.values.ndim else 1


def is_b64(value: Any) -> bool:
    """Returns True for a ``{"b64": "..."}`` object."""
    return isinstance(value, dict) and set(value) == {"b64"}


def _decode_b64(value: Any) -> Any:
    if is_b64(value):
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_decode_b64(v) for v in value]
    if isinstance(value, dict):
        return {k: _decode_b64(v) for k, v in value.items()}
    if isinstance(value, str):
        return value.encode("utf-8")
    return value


def _contains_bytes(value: Any) -> bool:
    if isinstance(value, list):
        return any(_contains_bytes(v) for v in value)
    return isinstance(value, bytes)


def _natural_dtype(values: Any) -> str:
    if _contains_bytes(values):
        return "DT_STRING"
    kind = np.asarray(values).dtype.kind
    if kind == "b":
        return "DT_BOOL"
    if kind in "iu":
        return "DT_INT64"
    if kind == "f":
        return "DT_FLOAT"
    raise PayloadError(f"sample values of numpy kind {kind!r} are not supported")


def _compatible(natural: str, target: str) -> bool:
    if target == "DT_STRING" or natural == "DT_STRING":
        return target == natural
    if target == "DT_BOOL":
        return natural == "DT_BOOL"
    if target in _INTS:
        return natural in {"DT_INT64", "DT_BOOL"}
    return target in _FLOATS


def _to_array(values: Any, dtype: str) -> np.ndarray:
    if dtype == "DT_STRING":
        array = np.empty(np.shape(np.asarray(values, dtype=object)), dtype=object)
        array[...] = values
        return array
    return np.asarray(values, dtype=numpy_dtype(dtype))


def _sole_input(signature: Signature | None, input_name: str | None = None) -> str:
    if input_name:
        return input_name
    if signature is not None and len(signature.inputs) == 1:
        return next(iter(signature.inputs))
    names = sorted(signature.inputs) if signature else []
    raise PayloadError(
        "the sample gives unnamed instances but the signature has inputs "
        f"{names}: write the sample as a list of {{name: value}} objects"
    )


def sample_tensors(
    sample: dict[str, Any],
    signature: Signature | None,
    input_name: str | None = None,
) -> SampleTensors:
    """Turns sample_request.json into typed request tensors.

    Args:
        sample: ``{"instances": [...]}`` (row) or ``{"inputs": ...}`` (columnar).
        signature: the served signature; picks dtypes and the name of a sole input.
        input_name: the input that unnamed values belong to (default: the
            signature's sole input).

    Raises:
        PayloadError: the sample is empty or cannot be mapped to inputs.
    """
    if "instances" in sample:
        instances = _decode_b64(sample["instances"])
        if not isinstance(instances, list) or not instances:
            raise PayloadError("sample 'instances' must be a non-empty list")
        named = isinstance(sample["instances"][0], dict) and not is_b64(
            sample["instances"][0]
        )
        if named:
            raw = {k: [inst[k] for inst in instances] for k in instances[0]}
        else:
            raw = {_sole_input(signature, input_name): instances}
    elif "inputs" in sample:
        named = isinstance(sample["inputs"], dict) and not is_b64(sample["inputs"])
        inputs = _decode_b64(sample["inputs"])
        raw = inputs if named else {_sole_input(signature, input_name): inputs}
    else:
        raise PayloadError("sample request has neither 'instances' nor 'inputs'")
    tensors: dict[str, InputTensor] = {}
    for name, values in raw.items():
        natural = _natural_dtype(values)
        spec = signature.inputs.get(name) if signature else None
        note = ""
        if spec is None:
            dtype = natural
            if signature is not None:
                note = f"input {name!r} is not in the served signature"
        elif _compatible(natural, spec.dtype):
            dtype = spec.dtype
        else:
            dtype = natural
            note = f"sample values for {name!r} are {natural}, signature wants "
            note += f"{spec.dtype}; sent as the sample has them"
        tensors[name] = InputTensor(name, _to_array(values, dtype), dtype, note)
    return SampleTensors(tensors, named)


def _json_values(array: np.ndarray) -> Any:
    if array.dtype == object:
        return _b64_encode(array.tolist())
    return array.tolist()


def _b64_encode(value: Any) -> Any:
    if isinstance(value, list):
        return [_b64_encode(v) for v in value]
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}
    return value


def row_body(sample: SampleTensors, signature_name: str) -> dict[str, Any]:
    """Returns a row-format (``instances``) predict body."""
    if sample.named:
        columns = {n: _json_values(t.values) for n, t in sample.tensors.items()}
        instances: Any = [
            {n: col[i] for n, col in columns.items()} for i in range(sample.batch_size)
        ]
    else:
        instances = _json_values(next(iter(sample.tensors.values())).values)
    return {"signature_name": signature_name, "instances": instances}


def columnar_body(sample: SampleTensors, signature_name: str) -> dict[str, Any]:
    """Returns a columnar-format (``inputs``) predict body."""
    inputs = {n: _json_values(t.values) for n, t in sample.tensors.items()}
    return {"signature_name": signature_name, "inputs": inputs}


def _as_array(values: Any) -> np.ndarray:
    decoded = _decode_b64(values)
    if _contains_bytes(decoded):
        return _to_array(decoded, "DT_STRING")
    return np.asarray(decoded)


def _sole_output(output_names: list[str]) -> str:
    return output_names[0] if len(output_names) == 1 else "output"


def parse_predictions(body: dict[str, Any], output_names: list[str]) -> dict[str, Any]:
    """Parses a row-format response (``predictions``) into arrays per output.

    Raises:
        PayloadError: the body has no ``predictions`` list.
    """
    predictions = body.get("predictions")
    if not isinstance(predictions, list):
        raise PayloadError(f"response has no 'predictions' list: {str(body)[:200]}")
    if predictions and isinstance(predictions[0], dict) and not is_b64(predictions[0]):
        keys = list(predictions[0])
        return {k: _as_array([row[k] for row in predictions]) for k in keys}
    return {_sole_output(output_names): _as_array(predictions)}


def parse_outputs(body: dict[str, Any], output_names: list[str]) -> dict[str, Any]:
    """Parses a columnar-format response (``outputs``) into arrays per output.

    Raises:
        PayloadError: the body has no ``outputs``.
    """
    if "outputs" not in body:
        raise PayloadError(f"response has no 'outputs': {str(body)[:200]}")
    outputs = body["outputs"]
    if isinstance(outputs, dict) and not is_b64(outputs):
        return {k: _as_array(v) for k, v in outputs.items()}
    return {_sole_output(output_names): _as_array(outputs)}


def first_rows(sample: SampleTensors, rows: int = 1) -> SampleTensors:
    """Returns the sample cut to its first rows (small bodies for error probes)."""
    return SampleTensors(
        {
            name: InputTensor(t.name, t.values[:rows], t.dtype, t.note)
            for name, t in sample.tensors.items()
        },
        sample.named,
    )


def ragged_row_body(sample: SampleTensors, signature_name: str) -> dict[str, Any]:
    """Returns a row body whose second instance has another shape than the first.

    The server rejects it while decoding JSON (HTTP 400), before any kernel runs:
    a wrong-rank tensor that reaches the model can abort the process in some
    TensorFlow builds (observed: oneDNN Conv2D CHECK failure), which a smoke
    test must never do to a production server.
    """
    body = row_body(first_rows(sample), signature_name)
    first = body["instances"][0]
    if sample.named:
        name = next(iter(sample.tensors))
        body["instances"] = [first, {**first, name: [first[name]]}]
    else:
        body["instances"] = [first, [first]]
    return body
