"""Build the request payload once: REST JSON bytes and gRPC PredictRequest bytes.

The body comes from a ``sample_request.json`` (the export contract) or, when
none is given, from the model's REST metadata (zeros of the declared shape).
Values are typed and encoded by the contract package (``tfserving_contract.payloads``
for samples and ``{"b64": ...}`` strings, ``tfserving_contract.tensors`` for
TensorProtos), so every dtype ``tfs-smoke`` sends, DT_STRING included, works
here over REST and gRPC. The PredictRequest is serialized once, without
importing TensorFlow; workers only ever see bytes.

Typical usage example:

    payload = payload_from_request_file(Path("sample_request.json"))
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests

from loadtest import constants
from tfserving_contract import layout
from tfserving_contract import payloads as sample_payloads
from tfserving_contract import signature as signatures

log = logging.getLogger(__name__)


class PayloadError(ValueError):
    """Raised when no usable request can be built; the message names the fix."""


@dataclass(frozen=True)
class Payload:
    """One request in both wire forms.

    Attributes:
        rest_body: JSON bytes for ``POST /v1/models/<name>:predict``.
        inputs: input name -> (TF dtype name, numpy array; object array of
            bytes for DT_STRING); used for gRPC.
        signature_name: signature the request targets.
    """

    rest_body: bytes
    inputs: dict[str, tuple[str, np.ndarray]]
    signature_name: str


def _dtype_name(value: str) -> str:
    try:
        return signatures.normalize_dtype(value)
    except signatures.SignatureError as exc:
        choices = sorted(signatures.DTYPES)
        raise PayloadError(f"{exc}; use one of {choices} (or numpy names)") from exc


def _override(array: np.ndarray, tf_dtype: str, name: str) -> np.ndarray:
    """Converts one input's values to the ``--dtype`` override."""
    is_text = array.dtype == object
    if (tf_dtype == "DT_STRING") != is_text:
        kind = "strings" if is_text else "numbers"
        raise PayloadError(
            f"--dtype {tf_dtype} cannot convert input {name!r}: the sample holds "
            f"{kind}; drop --dtype or fix the sample"
        )
    if is_text:
        return array
    return np.asarray(array, dtype=signatures.numpy_dtype(tf_dtype))


def _read_export_metadata(request_path: Path) -> dict:
    meta_path = request_path.with_name(layout.EXPORT_METADATA_FILE)
    if meta_path.is_file():
        return json.loads(meta_path.read_text())
    return {}


def exported_model_name(request_path: Path) -> str | None:
    """``model_name`` of the export_metadata.json beside a request file, if any."""
    name = _read_export_metadata(request_path).get("model_name")
    return str(name) if name else None


def payload_from_request_file(
    path: Path, input_name: str | None = None, dtype: str | None = None
) -> Payload:
    """Read a sample_request.json (row ``instances`` or columnar ``inputs``).

    Dtypes come from ``export_metadata.json`` beside the file, else from the
    values themselves (numbers, booleans, ``{"b64": ...}`` or plain strings),
    exactly as ``tfs-smoke`` types them.

    Args:
        path: the JSON request file.
        input_name: name of the single input for unnamed row or columnar values;
            taken from ``export_metadata.json`` beside the file when omitted.
        dtype: dtype override (``DT_FLOAT``, ``float32``, ``DT_STRING``...) for
            every input.

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
    if not isinstance(doc, dict) or not ("instances" in doc or "inputs" in doc):
        raise PayloadError(f"{path}: expected an 'instances' or 'inputs' key")
    meta = _read_export_metadata(path)
    try:
        signature = signatures.from_export_metadata(meta)
    except (signatures.SignatureError, KeyError) as exc:
        raise PayloadError(f"{path.with_name('export_metadata.json')}: {exc}") from exc
    try:
        sample = sample_payloads.sample_tensors(doc, signature, input_name)
    except sample_payloads.PayloadError as exc:
        fix = ""
        if input_name is None and signature is None:
            fix = "; pass --input-name or keep export_metadata.json beside it"
        raise PayloadError(f"{path}: {exc}{fix}") from exc
    inputs = {}
    for name, tensor in sample.tensors.items():
        if dtype:
            tf_dtype = _dtype_name(dtype)
            inputs[name] = (tf_dtype, _override(tensor.values, tf_dtype, name))
            continue
        if tensor.note:
            log.warning("%s: %s", path, tensor.note)
        inputs[name] = (tensor.dtype, tensor.values)
    signature_name = doc.get(
        "signature_name", meta.get("signature_name", constants.DEFAULT_SIGNATURE)
    )
    body = json.dumps(doc, separators=(",", ":")).encode()
    return Payload(rest_body=body, inputs=inputs, signature_name=signature_name)


def _zeros(spec: signatures.TensorSpec) -> np.ndarray:
    """A batch of one of zeros (empty strings for DT_STRING) for an input spec."""
    shape = [1 if d < 0 else d for d in (spec.shape or ())] or [1]
    if spec.dtype == "DT_STRING":
        return np.full(shape, b"", dtype=object)
    return np.zeros(shape, dtype=signatures.numpy_dtype(spec.dtype))


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
    signature_name = constants.DEFAULT_SIGNATURE
    try:
        signature = signatures.from_rest_metadata(resp.json(), signature_name)
    except (signatures.SignatureError, ValueError) as exc:
        raise PayloadError(f"{url}: {exc}; pass --request") from exc
    if not signature.inputs:
        raise PayloadError(
            f"{url}: signature {signature_name!r} declares no inputs; pass --request"
        )
    tensors = {
        name: sample_payloads.InputTensor(name, _zeros(spec), spec.dtype)
        for name, spec in signature.inputs.items()
    }
    sample = sample_payloads.SampleTensors(tensors, named=len(tensors) > 1)
    doc = sample_payloads.row_body(sample, signature_name)
    body = json.dumps(doc, separators=(",", ":")).encode()
    inputs = {name: (t.dtype, t.values) for name, t in tensors.items()}
    return Payload(rest_body=body, inputs=inputs, signature_name=signature_name)


def find_sample_request(model_base_path: Path) -> Path:
    """Return the newest version's ``assets.extra/sample_request.json``.

    Raises:
        PayloadError: no numeric version holds a sample request.
    """
    try:
        versions = layout.version_paths(model_base_path)
    except layout.LayoutError as exc:
        raise PayloadError(str(exc)) from exc
    for vdir in reversed(versions.values()):
        candidate = layout.assets_extra(vdir) / layout.SAMPLE_REQUEST_FILE
        if candidate.is_file():
            return candidate
    raise PayloadError(
        f"no <version>/assets.extra/sample_request.json under {model_base_path}; "
        "export the model with model_export or pass --request FILE"
    )


def grpc_request_bytes(
    payload: Payload, model_name: str, label: str | None = None
) -> bytes:
    """Serialize a PredictRequest for the payload, as ``tfs-smoke`` builds it.

    Args:
        payload: the payload.
        model_name: ``model_spec.name``.
        label: ``model_spec.version_label`` (e.g. ``canary``), or None for the
            server's default version.

    Returns:
        The serialized ``tensorflow.serving.PredictRequest``.

    Raises:
        PayloadError: the TF Serving API protos are not installed.
    """
    from tfserving_contract import protos, tensors
    from tfserving_contract.grpc_client import model_spec

    try:
        request = protos.message("tensorflow.serving.PredictRequest")()
    except protos.ProtoLoadError as exc:
        raise PayloadError(f"cannot build a gRPC request: {exc}") from exc
    model_spec(
        request.model_spec,
        model_name,
        label=label,
        signature_name=payload.signature_name,
    )
    for name, (tf_dtype, array) in payload.inputs.items():
        request.inputs[name].CopyFrom(tensors.to_proto(array, tf_dtype))
    return request.SerializeToString()
