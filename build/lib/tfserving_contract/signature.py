"""Tensor specs of a serving signature, read from TF Serving or export metadata.

Typical usage example:

    spec = signature.from_rest_metadata(body, "serving_default")
    problems = signature.compare(spec, signature.from_export_metadata(meta))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# TF DataType name -> numpy dtype (None: kept as Python objects, i.e. bytes).
DTYPES: dict[str, Any] = {
    "DT_FLOAT": np.float32,
    "DT_DOUBLE": np.float64,
    "DT_HALF": np.float16,
    "DT_INT8": np.int8,
    "DT_INT16": np.int16,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_UINT8": np.uint8,
    "DT_UINT16": np.uint16,
    "DT_UINT32": np.uint32,
    "DT_UINT64": np.uint64,
    "DT_BOOL": np.bool_,
    "DT_STRING": None,
}
_ALIASES = {"string": "DT_STRING", "bytes": "DT_STRING", "str": "DT_STRING"}


class SignatureError(ValueError):
    """A signature is missing or malformed."""


@dataclass(frozen=True)
class TensorSpec:
    """One signature tensor: TF dtype name (``DT_FLOAT``) and shape (None = any)."""

    dtype: str
    shape: tuple[int, ...] | None


@dataclass
class Signature:
    """Inputs and outputs of one signature, keyed by tensor alias."""

    name: str
    inputs: dict[str, TensorSpec] = field(default_factory=dict)
    outputs: dict[str, TensorSpec] = field(default_factory=dict)


def normalize_dtype(dtype: str | int) -> str:
    """Returns the ``DT_*`` name for ``DT_FLOAT``, ``float32``, ``tf.float32`` etc.

    Raises:
        SignatureError: the name is not a TF or numpy dtype.
    """
    text = str(dtype).strip()
    if text.startswith("tf."):
        text = text[3:]
    if text.upper().startswith("DT_"):
        text = text.upper()
        if text in DTYPES:
            return text
        raise SignatureError(f"unsupported dtype {dtype!r}")
    if text.lower() in _ALIASES:
        return _ALIASES[text.lower()]
    try:
        np_dtype = np.dtype(text)
    except TypeError as err:
        raise SignatureError(f"unknown dtype {dtype!r}") from err
    for name, candidate in DTYPES.items():
        if candidate is not None and np.dtype(candidate) == np_dtype:
            return name
    raise SignatureError(f"unsupported dtype {dtype!r}")


def numpy_dtype(dtype: str) -> Any:
    """Returns the numpy dtype for a ``DT_*`` name (``object`` for DT_STRING)."""
    return DTYPES[dtype] or object


def _shape(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    return tuple(-1 if d is None else int(d) for d in value)


def _proto_json_shape(tensor_shape: dict[str, Any]) -> tuple[int, ...] | None:
    if tensor_shape.get("unknown_rank") or tensor_shape.get("unknownRank"):
        return None
    return tuple(int(d.get("size", -1)) for d in tensor_shape.get("dim", []))


def _proto_json_specs(infos: dict[str, Any]) -> dict[str, TensorSpec]:
    return {
        alias: TensorSpec(
            normalize_dtype(info.get("dtype", "DT_INVALID")),
            _proto_json_shape(info.get("tensor_shape", info.get("tensorShape", {}))),
        )
        for alias, info in sorted(infos.items())
    }


def from_rest_metadata(body: dict[str, Any], name: str) -> Signature:
    """Parses a ``GET /v1/models/<m>/metadata`` body.

    Raises:
        SignatureError: the signature is absent (message names those present).
    """
    defs = body.get("metadata", {}).get("signature_def", {}).get("signature_def", {})
    return _from_signature_dict(defs, name)


def _from_signature_dict(defs: dict[str, Any], name: str) -> Signature:
    if name not in defs:
        raise SignatureError(
            f'Serving signature key "{name}" not found; the model has '
            f"{sorted(defs) or 'no signatures'}"
        )
    sig = defs[name]
    return Signature(
        name,
        _proto_json_specs(sig.get("inputs", {})),
        _proto_json_specs(sig.get("outputs", {})),
    )


def from_signature_def_map(signature_map: Any, name: str) -> Signature:
    """Parses a ``tensorflow.serving.SignatureDefMap`` message (gRPC metadata)."""
    from google.protobuf import json_format

    as_dict = json_format.MessageToDict(signature_map, preserving_proto_field_name=True)
    return _from_signature_dict(as_dict.get("signature_def", {}), name)


def from_export_metadata(meta: dict[str, Any]) -> Signature | None:
    """Returns the signature recorded in export_metadata.json, or None if absent."""
    if not meta.get("inputs"):
        return None

    def specs(section: dict[str, Any]) -> dict[str, TensorSpec]:
        return {
            alias: TensorSpec(normalize_dtype(info["dtype"]), _shape(info.get("shape")))
            for alias, info in sorted(section.items())
        }

    return Signature(
        meta.get("signature_name", "serving_default"),
        specs(meta["inputs"]),
        specs(meta.get("outputs", {})),
    )


def _shapes_match(a: tuple[int, ...] | None, b: tuple[int, ...] | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return len(a) == len(b) and all(x == y for x, y in zip(a, b, strict=True))


def shape_accepts(spec: tuple[int, ...] | None, shape: tuple[int, ...]) -> bool:
    """True when a concrete shape fits a signature shape (-1 matches any size)."""
    if spec is None:
        return True
    return len(spec) == len(shape) and all(
        want in (-1, got) for want, got in zip(spec, shape, strict=True)
    )


def compare(served: Signature, expected: Signature) -> list[str]:
    """Lists the differences between a served and an expected signature."""
    problems: list[str] = []
    for kind in ("inputs", "outputs"):
        have: dict[str, TensorSpec] = getattr(served, kind)
        want: dict[str, TensorSpec] = getattr(expected, kind)
        if set(have) != set(want):
            problems.append(
                f"{kind} names differ: served {sorted(have)}, export {sorted(want)}"
            )
        for alias in sorted(set(have) & set(want)):
            if have[alias].dtype != want[alias].dtype:
                problems.append(
                    f"{kind[:-1]} {alias!r} dtype: served {have[alias].dtype}, "
                    f"export {want[alias].dtype}"
                )
            if not _shapes_match(have[alias].shape, want[alias].shape):
                problems.append(
                    f"{kind[:-1]} {alias!r} shape: served {have[alias].shape}, "
                    f"export {want[alias].shape}"
                )
    return problems
