"""Build the request payload once: REST JSON bytes and gRPC PredictRequest bytes.

The body comes from a ``sample_request.json`` (the export contract) or, when
none is given, from the model's REST metadata (zeros of the declared shape).
The PredictRequest is built field by field from the tensorflow-serving-api
protos; it is serialized once and workers only ever see bytes.

Typical usage example:

    payload = load_payload(Path("sample_request.json"), "fashion_mnist")
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests

from loadtest import constants

log = logging.getLogger(__name__)

_DTYPES = {
    "DT_FLOAT": np.float32,
    "DT_DOUBLE": np.float64,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_UINT8": np.uint8,
    "DT_INT8": np.int8,
    "DT_INT16": np.int16,
    "DT_BOOL": np.bool_,
    "DT_HALF": np.float16,
}
_NUMPY_NAMES = {
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "int32": "DT_INT32",
    "int64": "DT_INT64",
    "uint8": "DT_UINT8",
    "int8": "DT_INT8",
    "int16": "DT_INT16",
    "bool": "DT_BOOL",
    "float16": "DT_HALF",
}


class PayloadError(ValueError):
    """Raised when no usable request can be built; the message names the fix."""


@dataclass(frozen=True)
class Payload:
    """One request in both wire forms.

    Attributes:
        rest_body: JSON bytes for ``POST /v1/models/<name>:predict``.
        inputs: input name -> (TF dtype name, numpy array); used for gRPC.
        signature_name: signature the request targets.
    """

    rest_body: bytes
    inputs: dict[str, tuple[str, np.ndarray]]
    signature_name: str


def _dtype_name(value: str | None) -> str:
    if not value:
        return "DT_FLOAT"
    if value in _DTYPES:
        return value
    if value in _NUMPY_NAMES:
        return _NUMPY_NAMES[value]
    raise PayloadError(f"unsupported dtype {value!r}; use one of {sorted(_DTYPES)}")


def _read_export_metadata(request_path: Path) -> dict:
    meta_path = request_path.with_name("export_metadata.json")
    if meta_path.is_file():
        return json.loads(meta_path.read_text())
    return {}


def payload_from_request_file(
    path: Path, input_name: str | None = None, dtype: str | None = None
) -> Payload:
    """Read a sample_request.json (row ``instances`` or columnar ``inputs``).

    Args:
        path: the JSON request file.
        input_name: name of the single input for row-format lists; taken from
            ``export_metadata.json`` beside the file when omitted.
        dtype: dtype override (``DT_FLOAT`` or ``float32``) for every input.

    Returns:
        The payload.

    Raises:
        PayloadError: the file is missing or malformed.
    """
    if not path.is_file():
        raise PayloadError(f"request file {path} not found; pass --request FILE")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PayloadError(f"{path} is not valid JSON: {exc}") from exc
    meta = _read_export_metadata(path)
    meta_inputs: dict = meta.get("inputs", {})
    signature = doc.get("signature_name", meta.get("signature_name", "serving_default"))
    columns: dict[str, object] = {}
    if "instances" in doc:
        rows = doc["instances"]
        if not isinstance(rows, list) or not rows:
            raise PayloadError(f"{path}: 'instances' must be a non-empty list")
        if isinstance(rows[0], dict):
            for key in rows[0]:
                columns[key] = [row[key] for row in rows]
        else:
            name = input_name or (next(iter(meta_inputs)) if meta_inputs else None)
            if name is None:
                raise PayloadError(
                    f"{path}: cannot tell the input name for a row-format request; "
                    "pass --input-name or keep export_metadata.json beside it"
                )
            columns[name] = rows
    elif "inputs" in doc:
        raw = doc["inputs"]
        if isinstance(raw, dict):
            columns.update(raw)
        else:
            name = input_name or (next(iter(meta_inputs)) if meta_inputs else None)
            if name is None:
                raise PayloadError(f"{path}: pass --input-name for unnamed 'inputs'")
            columns[name] = raw
    else:
        raise PayloadError(f"{path}: expected an 'instances' or 'inputs' key")
    inputs = {}
    for name, value in columns.items():
        tf_dtype = _dtype_name(dtype or meta_inputs.get(name, {}).get("dtype"))
        inputs[name] = (tf_dtype, np.asarray(value, dtype=_DTYPES[tf_dtype]))
    body = json.dumps(doc, separators=(",", ":")).encode()
    return Payload(rest_body=body, inputs=inputs, signature_name=signature)


def payload_from_metadata(rest_target: str, model_name: str) -> Payload:
    """Build a zero-filled batch-of-one request from ``GET .../metadata``.

    Args:
        rest_target: base URL of the REST API, e.g. ``http://127.0.0.1:8501``.
        model_name: served model name.

    Returns:
        The payload.

    Raises:
        PayloadError: the metadata cannot be fetched or has no signature.
    """
    url = f"{rest_target.rstrip('/')}/v1/models/{model_name}/metadata"
    try:
        resp = requests.get(url, timeout=10)
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise PayloadError(
            f"cannot read model metadata from {url} ({exc}); pass --request FILE"
        ) from exc
    sigs = resp.json().get("metadata", {}).get("signature_def", {})
    sigs = sigs.get("signature_def", sigs)
    signature = constants.DEFAULT_SIGNATURE
    if signature not in sigs:
        raise PayloadError(f"{url} has no {signature!r} signature; pass --request")
    inputs = {}
    instance: dict[str, object] = {}
    for name, spec in sigs[signature].get("inputs", {}).items():
        tf_dtype = _dtype_name(spec.get("dtype"))
        dims = [
            int(d.get("size", 1)) for d in spec.get("tensor_shape", {}).get("dim", [])
        ]
        shape = [1 if d < 0 else d for d in dims] or [1]
        array = np.zeros(shape, dtype=_DTYPES[tf_dtype])
        inputs[name] = (tf_dtype, array)
        instance[name] = array[0].tolist()
    if not inputs:
        raise PayloadError(f"{url}: signature {signature!r} declares no inputs")
    if len(instance) == 1:
        rows: list[object] = [next(iter(instance.values()))]
    else:
        rows = [instance]
    doc = {"signature_name": signature, "instances": rows}
    body = json.dumps(doc, separators=(",", ":")).encode()
    return Payload(rest_body=body, inputs=inputs, signature_name=signature)


def find_sample_request(model_base_path: Path) -> Path:
    """Return the newest version's ``assets.extra/sample_request.json``.

    Raises:
        PayloadError: no numeric version holds a sample request.
    """
    versions = sorted(
        (int(p.name), p) for p in model_base_path.iterdir() if p.name.isdigit()
    )
    for _, vdir in reversed(versions):
        candidate = vdir / "assets.extra" / "sample_request.json"
        if candidate.is_file():
            return candidate
    raise PayloadError(
        f"no <version>/assets.extra/sample_request.json under {model_base_path}; "
        "export the model with model_export or pass --request FILE"
    )


def grpc_request_bytes(payload: Payload, model_name: str) -> bytes:
    """Serialize a PredictRequest for the payload (imports the protos once).

    Args:
        payload: the payload.
        model_name: ``model_spec.name``.

    Returns:
        The serialized ``tensorflow.serving.PredictRequest``.
    """
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = payload.signature_name
    for name, (tf_dtype, array) in payload.inputs.items():
        tensor = tensor_pb2.TensorProto(
            dtype=types_pb2.DataType.Value(tf_dtype),
            tensor_shape=tensor_shape_pb2.TensorShapeProto(
                dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in array.shape]
            ),
            tensor_content=np.ascontiguousarray(array).tobytes(),
        )
        request.inputs[name].CopyFrom(tensor)
    return request.SerializeToString()
