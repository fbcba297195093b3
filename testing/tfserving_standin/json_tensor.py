"""TF Serving's REST JSON <-> tensor rules (util/json_tensor.cc), re-implemented.

Parses ``{"instances": ...}`` (row) and ``{"inputs": ...}`` (columnar) bodies
into numpy arrays with the same checks and error messages as TF Serving, and
writes ``{"predictions": ...}`` / ``{"outputs": ...}`` with its float format.

Typical usage example:

    doc = parse_json(body)
    signature_name, inputs, fmt = inputs_from_json(doc, lookup_input_dtypes)
    text = outputs_to_json(outputs, fmt)
"""

import base64
import binascii
import json
import re

import numpy as np
from tensorflow.core.framework import types_pb2

from tfserving_standin.errors import Code, ServingError
from tfserving_standin.jsonwriter import (
    JsonObject,
    PrettyWriter,
    debug_string,
    format_tf_float,
    member_count,
    members,
)

ROW = "row"
COLUMNAR = "columnar"

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_UINT32 = (0, 2**32 - 1)
_UINT64 = (0, 2**64 - 1)

# DataType -> (DataTypeString name, numpy dtype, json check, fast-path kinds)
_DTYPES = {
    types_pb2.DT_FLOAT: ("float", np.float32, "number", "if"),
    types_pb2.DT_DOUBLE: ("double", np.float64, "number", "if"),
    types_pb2.DT_INT32: ("int32", np.int32, _INT32, "i"),
    types_pb2.DT_INT16: ("int16", np.int16, _INT32, "i"),
    types_pb2.DT_INT8: ("int8", np.int8, _INT32, "i"),
    types_pb2.DT_UINT8: ("uint8", np.uint8, _INT32, "i"),
    types_pb2.DT_STRING: ("string", object, "string", ""),
    types_pb2.DT_INT64: ("int64", np.int64, _INT64, "i"),
    types_pb2.DT_BOOL: ("bool", np.bool_, "bool", "b"),
    types_pb2.DT_UINT32: ("uint32", np.uint32, _UINT32, "iu"),
    types_pb2.DT_UINT64: ("uint64", np.uint64, _UINT64, "iu"),
}
_OTHER_NAMES = {
    types_pb2.DT_HALF: "half",
    types_pb2.DT_BFLOAT16: "bfloat16",
    types_pb2.DT_COMPLEX64: "complex64",
    types_pb2.DT_COMPLEX128: "complex128",
    types_pb2.DT_UINT16: "uint16",
}

_PY_TO_RAPIDJSON = [
    ("Expecting value", "Invalid value."),
    ("Expecting property name", "Missing a name for object member."),
    ("Expecting ':' delimiter", "Missing a colon after a name of object member."),
    ("Unterminated string", "Missing a closing quotation mark in string."),
    ("Invalid \\escape", "Invalid escape character in string."),
    ("Invalid \\uXXXX escape", "Incorrect hex digit after \\u escape in string."),
]


def dtype_name(dtype: int) -> str:
    """Returns TensorFlow's DataTypeString for a DataType enum value."""
    if dtype in _DTYPES:
        return _DTYPES[dtype][0]
    return _OTHER_NAMES.get(dtype, types_pb2.DataType.Name(dtype).lower()[3:])


def _invalid(message: str) -> ServingError:
    return ServingError(Code.INVALID_ARGUMENT, message)


def _innermost_container(text: str, end: int) -> str:
    """The opening bracket of the array or object still open at text[end]."""
    stack = []
    for match in _BRACKET_RE.finditer(text, 0, end):
        token = match.group()
        if token in ("[", "{"):
            stack.append(token)
        elif token in ("]", "}"):
            stack.pop()
    return stack[-1] if stack else ""


def _parse_error_text(exc: json.JSONDecodeError, text: str) -> str:
    if exc.msg.startswith("Expecting ',' delimiter"):
        if _innermost_container(text, exc.pos) == "{":
            return "Missing a comma or '}' after an object member."
        return "Missing a comma or ']' after an array element."
    if exc.msg.startswith("Invalid control character"):
        # reader.h ParseStringToStream: NUL ends the input, other controls are
        # refused as escapes.
        if text[exc.pos : exc.pos + 1] == "\x00":
            return "Missing a closing quotation mark in string."
        return "Invalid escape character in string."
    for prefix, rapidjson_text in _PY_TO_RAPIDJSON:
        if exc.msg.startswith(prefix):
            return rapidjson_text
    return exc.msg + "."


def _object_from_pairs(pairs: list) -> dict:
    """object_pairs_hook: first value wins for lookups, as FindMember does."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    dup = JsonObject()
    for name, value in pairs:
        dup.setdefault(name, value)
    dup.members = pairs
    return dup


_DECODER = json.JSONDecoder(object_pairs_hook=_object_from_pairs)

# kParseNanAndInfFlag (rapidjson 1.1.0 reader.h ParseNumber) accepts NaN, Inf,
# Infinity, each with a leading '-'; Python's json knows only NaN, Infinity and
# -Infinity. Inf / -Inf / -NaN outside strings are rewritten to those.
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_LITERAL_RE = re.compile(_STRING + r"|-?Inf(?!i)|-NaN")
_BRACKET_RE = re.compile(_STRING + r"|[][{}]")
_LITERALS = {"Inf": "Infinity", "-Inf": "-Infinity", "-NaN": "NaN"}
# A value rapidjson refuses is reported where matching its literal stopped.
_PARTIAL_LITERAL_RE = re.compile(
    r"n(?:u(?:ll?)?)?|t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?"
)
_PARTIAL_NUMBER_RE = re.compile(
    r"-?(?:N(?:aN?)?|I(?:n(?:f(?:i(?:n(?:i(?:ty?)?)?)?)?)?)?)?"
)
# What Python's parser accepts but rapidjson refuses: a number too big for a
# double (kParseErrorNumberTooBig: an exponent of 309 or more, or 309 digits)
# and a \\u escape of a high surrogate without its low half
# (kParseErrorStringUnicodeSurrogateInvalid). Cheap searches decide whether the
# tokens need checking one by one.
_BIG_RE = re.compile(
    r"[eE]\+?0*(?:[1-9][0-9]{3,}|[4-9][0-9]{2}|3[1-9][0-9]|309)|[0-9]{309}"
)
_HIGH_SURROGATE_RE = re.compile(r"\\u[dD][89abAB]")
_TOKEN_RE = re.compile(
    _STRING + r"|(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?)([0-9]+))?"
)
_ESCAPE_RE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)")
_TOO_BIG = "Number too big to be stored in double."
_BAD_SURROGATE = "The surrogate pair in string is invalid."


def _rewrite_literals(text: str) -> tuple[str, list[tuple[int, int, int, int]]]:
    """Rewrites Inf/-Inf/-NaN outside strings for Python's parser.

    Returns:
        (new text, [(new start, new end, old start, old end)] per rewrite)
    """
    parts, spans, last, shift = [], [], 0, 0
    for match in _LITERAL_RE.finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        replacement = _LITERALS[token]
        parts += [text[last : match.start()], replacement]
        new_start = match.start() + shift
        spans.append(
            (new_start, new_start + len(replacement), match.start(), match.end())
        )
        shift += len(replacement) - len(token)
        last = match.end()
    parts.append(text[last:])
    return "".join(parts), spans


def _original_offset(pos: int, spans: list[tuple[int, int, int, int]]) -> int:
    """Maps an offset in the rewritten text back to the request body."""
    shift = 0
    for new_start, new_end, old_start, old_end in spans:
        if pos < new_start:
            break
        if pos < new_end:
            return old_start
        shift = old_end - new_end
    return pos + shift


def _number_too_big(_minus: str, whole: str, fraction: str | None, sign, exp) -> bool:
    """Whether rapidjson 1.1.0's ParseNumber stops with kParseErrorNumberTooBig.

    It reads digits into a uint64 while they fit, then into a double, refusing
    a 309th digit once the double reaches DBL_MAX / 10; fraction digits count
    towards the significand while it is below 2^53 (then while fewer than 17
    digits are significant); a positive exponent may not exceed 308 plus the
    fraction digits counted. (A negative number's uint64 limit of 2^63 changes
    none of these.)
    """
    value, significant, at = int(whole[0]), 0, 1
    while at < len(whole) and value * 10 + int(whole[at]) <= 2**64 - 1:
        value, significant, at = value * 10 + int(whole[at]), significant + 1, at + 1
    use_double = at < len(whole)
    for digit in whole[at:]:
        value = float(value)
        if value >= 1.7976931348623157e307:
            return True
        value = value * 10 + int(digit)
    fraction, exp_frac, at = fraction or "", 0, 0
    if fraction and not use_double:
        while at < len(fraction) and value <= 2**53 - 1:
            value = value * 10 + int(fraction[at])
            exp_frac, significant, at = exp_frac - 1, significant + (value != 0), at + 1
        value = float(value)
    for digit in fraction[at:]:
        if significant < 17:
            value = value * 10.0 + int(digit)
            exp_frac, significant = exp_frac - 1, significant + (value > 0.0)
    return exp is not None and sign != "-" and int(exp) > 308 - exp_frac


def _lone_high_surrogate(token: str) -> int | None:
    """Offset in a string token of a high-surrogate escape not followed by a low one."""
    pending = None
    for escape in _ESCAPE_RE.finditer(token):
        hex_digits = escape.group(1)
        code = int(hex_digits, 16) if hex_digits else -1
        if pending is not None:
            if escape.start() != pending[1] or not 0xDC00 <= code <= 0xDFFF:
                return pending[0]
            pending = None
        elif 0xD800 <= code <= 0xDBFF:
            pending = (escape.start(), escape.end())
    return None if pending is None else pending[0]


def _first_refusal(text: str, end: int) -> tuple[int, str] | None:
    """The first value in text[:end] that rapidjson refuses but Python does not."""
    big = _BIG_RE.search(text, 0, end) is not None
    surrogate = _HIGH_SURROGATE_RE.search(text, 0, end) is not None
    if not (big or surrogate):
        return None
    for match in _TOKEN_RE.finditer(text, 0, end):
        if match.group(2) is None:
            if surrogate:
                at = _lone_high_surrogate(match.group())
                if at is not None:
                    return match.start() + at, _BAD_SURROGATE
        elif big and _number_too_big(*match.groups()):
            return match.start(), _TOO_BIG
    return None


def _error_offset(exc: json.JSONDecodeError, text: str, pos: int) -> int:
    """rapidjson's offset for Python's error at pos of the request text."""
    if not exc.msg.startswith("Expecting value"):
        return pos
    partial = _PARTIAL_LITERAL_RE.match(text, pos) or _PARTIAL_NUMBER_RE.match(
        text, pos
    )
    return partial.end()


def parse_json(body: bytes) -> dict:
    """Parses a request body like ParseJson in util/json_tensor.cc.

    rapidjson with kParseNanAndInfFlag | kParseStopWhenDoneFlag: NaN, Inf,
    Infinity (and negated) are numbers, text after the document is ignored,
    numbers too big for a double are an error, duplicate member names are kept
    (lookups see the first), and the top level must be an object.

    Raises:
        ServingError: INVALID_ARGUMENT with TF Serving's wording.
    """
    if not body:
        raise _invalid("JSON Parse error: The document is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(
            f"JSON Parse error: Invalid encoding in string. at offset: {exc.start}"
        ) from exc
    stripped = text.lstrip(" \t\r\n")
    skipped = len(text) - len(stripped)
    if not stripped:
        raise _invalid(f"JSON Parse error: The document is empty. at offset: {skipped}")
    spans: list[tuple[int, int, int, int]] = []
    source = stripped

    def refused(end: int, exc: Exception | None = None) -> None:
        found = _first_refusal(source, end)
        if found is not None:
            offset = _original_offset(found[0], spans) + skipped
            raise _invalid(f"JSON Parse error: {found[1]} at offset: {offset}") from exc

    try:
        try:
            doc, end = _DECODER.raw_decode(source)
        except json.JSONDecodeError:
            source, spans = _rewrite_literals(stripped)
            if not spans:
                raise
            doc, end = _DECODER.raw_decode(source)
    except json.JSONDecodeError as exc:
        refused(exc.pos, exc)
        pos = _original_offset(exc.pos, spans)
        raise _invalid(
            f"JSON Parse error: {_parse_error_text(exc, source)} "
            f"at offset: {_error_offset(exc, stripped, pos) + skipped}"
        ) from exc
    except RecursionError as exc:
        raise _invalid("JSON Parse error: Invalid value. at offset: 0") from exc
    except ValueError as exc:  # an integer beyond Python's digit limit
        refused(len(source), exc)
        raise
    refused(end)
    if not isinstance(doc, dict):
        raise _invalid(f"JSON Value: {debug_string(doc)} Is not object")
    return doc


def _json_type(value) -> str:
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def _type_error(value, dtype: int) -> ServingError:
    return _invalid(
        f"JSON Value: {debug_string(value)} Type: {_json_type(value)} "
        f"is not of expected type: {dtype_name(dtype)}"
    )


def _is_b64_object(value) -> bool:
    """IsValBase64Object: exactly one member, named "b64", holding a string."""
    return (
        isinstance(value, dict)
        and member_count(value) == 1
        and isinstance(value.get("b64"), str)
    )


def _decode_b64(value) -> bytes:
    if not _is_b64_object(value):
        raise _invalid(
            f"JSON Value: {debug_string(value)} not formatted correctly for base64 data"
        )
    text = value["b64"]
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid("Unable to base64 decode") from exc


def _convert_scalar(value, dtype: int):
    """AddValueToTensor: checks one JSON scalar against the tensor dtype."""
    if dtype not in _DTYPES:
        raise ServingError(
            Code.UNIMPLEMENTED,
            f"Conversion of JSON Value: {debug_string(value)} to type: "
            f"{dtype_name(dtype)}",
        )
    check = _DTYPES[dtype][2]
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if check == "number":
        if is_int or isinstance(value, float):
            return value
    elif check == "string":
        if isinstance(value, str):
            # A lone \\uDC00-\\uDFFF escape: rapidjson writes its UTF-8 form.
            return value.encode("utf-8", "surrogatepass")
    elif check == "bool":
        if isinstance(value, bool):
            return value
    elif is_int and check[0] <= value <= check[1]:
        return value
    raise _type_error(value, dtype)


def _dense_shape(value) -> list[int]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _fill(value, level: int, shape: list[int], dtype: int, out: list) -> None:
    """FillTensorProto: walks nested lists, checking level and sizes."""
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise _invalid(
                f"JSON Value: {debug_string(value)} found at incorrect level: "
                f"{level + 1} in the JSON DOM. Expected at level: {rank}"
            )
        if isinstance(value, dict):
            if dtype != types_pb2.DT_STRING:
                raise _type_error(value, dtype)
            out.append(_decode_b64(value))
        else:
            out.append(_convert_scalar(value, dtype))
        return
    if level >= rank:
        raise _invalid(
            f"Encountered list at unexpected level: {level} expected < {rank}"
        )
    if len(value) != shape[level]:
        raise _invalid(
            f"Encountered list at unexpected size: {len(value)} at level: {level} "
            f"expected size: {shape[level]}"
        )
    for item in value:
        _fill(item, level + 1, shape, dtype, out)


def _fast_array(value, dtype: int, shape: list[int], allow_fast: bool):
    """Vectorised path for well-formed numeric input; None means "check slowly"."""
    if not allow_fast or dtype not in _DTYPES or not _DTYPES[dtype][3]:
        return None
    try:
        array = np.asarray(value)
    except (ValueError, OverflowError):
        return None
    if array.dtype.kind not in _DTYPES[dtype][3] or list(array.shape) != shape:
        return None
    check = _DTYPES[dtype][2]
    if isinstance(check, tuple) and array.size:
        if array.min() < check[0] or array.max() > check[1]:
            return None
    return array.astype(_DTYPES[dtype][1], copy=False)


def json_to_array(value, dtype: int, allow_fast: bool = True) -> np.ndarray:
    """Converts one JSON tensor value (scalar or nested list) to an array."""
    shape = _dense_shape(value)
    array = _fast_array(value, dtype, shape, allow_fast)
    if array is not None:
        return array
    flat: list = []
    _fill(value, 0, shape, dtype, flat)
    np_dtype = _DTYPES[dtype][1] if dtype in _DTYPES else object
    if np_dtype is object:
        result = np.empty(len(flat), dtype=object)
        result[:] = flat
        return result.reshape(shape)
    return np.array(flat).astype(np_dtype).reshape(shape)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _instances_to_arrays(
    instances: list, input_dtypes: dict[str, int], allow_fast: bool
) -> dict[str, np.ndarray]:
    """FillTensorMapFromInstancesList."""
    first = instances[0]
    if not isinstance(first, dict) and len(input_dtypes) > 1:
        raise _invalid(
            "instances is a plain list, but expecting list of objects as multiple "
            "input tensors required as per tensorinfo_map"
        )

    def is_element_object(value) -> bool:
        return isinstance(value, dict) and not _is_b64_object(value)

    objects = is_element_object(first)
    if not objects and len(input_dtypes) == 1:
        name, dtype = next(iter(input_dtypes.items()))
        whole = _fast_array(instances, dtype, _dense_shape(instances), allow_fast)
        if whole is not None and whole.ndim >= 1:
            return {name: whole}
    items: dict[str, list[np.ndarray]] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    sizes: dict[str, int] = {}

    def add(item, name: str) -> None:
        if name not in input_dtypes:
            raise _invalid(f"JSON object: does not have named input: {name}")
        array = json_to_array(item, input_dtypes[name], allow_fast)
        if name not in sizes:
            sizes[name], shapes[name] = array.size, array.shape
        elif sizes[name] != array.size:
            raise _invalid(
                f"Expecting tensor size: {sizes[name]} but got: {array.size}"
            )
        elif shapes[name] != array.shape:
            raise _invalid(
                f"Expecting shape {_shape_text(shapes[name])} but got: "
                f"{_shape_text(array.shape)}"
            )
        items.setdefault(name, []).append(array)

    for index, element in enumerate(instances):
        if objects:
            if not is_element_object(element):
                raise _invalid(
                    f"Expecting object but got list at item {index} of input list"
                )
            for name, item in members(element):
                try:
                    add(item, name)
                except ServingError as exc:
                    raise _invalid(
                        f"Failed to process element: {index} key: {name} of "
                        f"'instances' list. Error: {exc}"
                    ) from exc
            if set(element) != set(input_dtypes):
                raise _invalid(
                    f"Failed to process element: {index} of 'instances' list. "
                    f"JSON object: {debug_string(element)} keys must be equal to: "
                    f"{','.join(sorted(input_dtypes))}"
                )
        else:
            if is_element_object(element):
                raise _invalid(
                    f"Expecting value/list but got object at item {index} of input list"
                )
            name = next(iter(input_dtypes))
            try:
                add(element, name)
            except ServingError as exc:
                raise _invalid(
                    f"Failed to process element: {index} of 'instances' list. "
                    f"Error: {exc}"
                ) from exc
    return {
        name: _batch(arrays, len(instances), shapes[name])
        for name, arrays in items.items()
    }


def _batch(arrays: list[np.ndarray], count: int, shape: tuple[int, ...]):
    """The batched tensor of one input of an 'instances' list.

    With a name repeated inside one instance object, AddInstanceItem appends
    that member's values too, and the tensor is shaped [count, *shape] anyway;
    Tensor::FromProto then keeps the first count * prod(shape) values.
    """
    if len(arrays) == count:
        return np.stack(arrays)
    flat = np.concatenate([array.reshape(-1) for array in arrays])
    size = count * int(np.prod(shape, dtype=np.int64))
    return flat[:size].reshape((count, *shape))


def _inputs_to_arrays(
    value, input_dtypes: dict[str, int], allow_fast: bool
) -> dict[str, np.ndarray]:
    """FillTensorMapFromInputsMap."""
    if not isinstance(value, dict) or _is_b64_object(value):
        if len(input_dtypes) > 1:
            raise _invalid(
                "inputs is a plain value/list, but expecting an object as multiple "
                "input tensors required as per tensorinfo_map"
            )
        name, dtype = next(iter(input_dtypes.items()))
        return {name: json_to_array(value, dtype, allow_fast)}
    arrays = {}
    for name in sorted(input_dtypes):
        if name not in value:
            raise _invalid(f"Missing named input: {name} in 'inputs' object.")
        arrays[name] = json_to_array(value[name], input_dtypes[name], allow_fast)
    return arrays


def signature_name_from_json(doc: dict) -> str:
    """Returns the optional ``signature_name`` ('' when absent)."""
    if "signature_name" not in doc:
        return ""
    name = doc["signature_name"]
    if not isinstance(name, str):
        raise _invalid(
            f"JSON Value: {debug_string(doc)} not formatted correctly. "
            "'signature_name' key must be a string value."
        )
    return name


def inputs_from_json(
    doc: dict, input_dtypes: dict[str, int], signature_name: str, raw: bytes = b""
) -> tuple[dict[str, np.ndarray], str]:
    """FillPredictRequestFromJson after the signature lookup.

    Returns:
        (arrays by input alias, ROW or COLUMNAR)
    """
    if not input_dtypes:
        raise _invalid(
            f"Failed to get input map for signature: {signature_name or 'DEFAULT'}"
        )
    allow_fast = b"true" not in raw and b"false" not in raw
    if "instances" in doc:
        if "inputs" in doc:
            raise _invalid(
                f"JSON Value: {debug_string(doc)} Not formatted correctly expecting "
                "only one of 'inputs' or 'instances' keys to exist "
            )
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise _invalid(
                f"JSON Value: {debug_string(doc)} Expecting 'instances' to be an "
                "list/array"
            )
        if not instances:
            raise _invalid(
                f"JSON Value: {debug_string(doc)} No values in 'instances' array"
            )
        return _instances_to_arrays(instances, input_dtypes, allow_fast), ROW
    if "inputs" in doc:
        return _inputs_to_arrays(doc["inputs"], input_dtypes, allow_fast), COLUMNAR
    raise _invalid("Missing 'inputs' or 'instances' key")


def _scalars(name: str, array: np.ndarray) -> list:
    """Formats every element like AddSingleValueAndAdvance."""
    flat = array.reshape(-1)
    kind = array.dtype
    if kind == np.float32 or kind == np.float64:
        is_double = kind == np.float64
        return [format_tf_float(v, is_double) for v in flat.tolist()]
    if kind == np.bool_:
        return ["true" if v else "false" for v in flat.tolist()]
    if kind.kind in "iu":
        return [str(v) for v in flat.tolist()]
    if kind.kind in "OSU":
        as_bytes = name.endswith("_bytes")
        out = []
        for value in flat.tolist():
            if isinstance(value, str):
                value = value.encode("utf-8")
            if as_bytes:
                out.append(("b64", base64.b64encode(value).decode("ascii")))
            else:
                out.append(
                    json.dumps(value.decode("utf-8", "replace"), ensure_ascii=False)
                )
        return out
    raise _invalid(f"Failed to write JSON value for tensor type: {_np_type_name(kind)}")


def _np_type_name(dtype: np.dtype) -> str:
    return {"float16": "half"}.get(dtype.name, dtype.name)


def _write_scalar(writer: PrettyWriter, item) -> None:
    if isinstance(item, tuple):
        writer.start_object()
        writer.key(item[0])
        writer.string(item[1])
        writer.end_object()
    else:
        writer.raw(item)


def _write_values(writer, values, shape, dim: int, offset: list[int]) -> None:
    """AddTensorValues: nested arrays from ``dim`` down, consuming ``values``."""
    if dim > len(shape) - 1:
        _write_scalar(writer, values[offset[0]])
        offset[0] += 1
        return
    writer.start_array()
    if dim == len(shape) - 1:
        for _ in range(shape[dim]):
            _write_scalar(writer, values[offset[0]])
            offset[0] += 1
    else:
        for _ in range(shape[dim]):
            _write_values(writer, values, shape, dim + 1, offset)
    writer.end_array()


def outputs_to_json(outputs: dict[str, np.ndarray], fmt: str) -> str:
    """MakeJsonFromTensors: ``{"predictions": ...}`` or ``{"outputs": ...}``."""
    if not outputs:
        raise _invalid("Cannot convert empty tensor map to JSON")
    names = sorted(outputs)
    formatted = {name: _scalars(name, outputs[name]) for name in names}
    writer = PrettyWriter()
    writer.start_object()
    many = len(names) > 1
    if fmt == ROW:
        batch = -1
        for name in names:
            shape = outputs[name].shape
            if not shape:
                raise _invalid(f"Tensor name: {name} has no shape information ")
            if batch >= 0 and batch != shape[0]:
                raise _invalid(
                    f"Tensor name: {name} has inconsistent batch size: {shape[0]} "
                    f"expecting: {batch}"
                )
            batch = shape[0]
        offsets = {name: [0] for name in names}
        writer.key("predictions")
        writer.start_array()
        for _ in range(batch):
            if many:
                writer.start_object()
            writer.single_line_arrays = True
            for name in names:
                if many:
                    writer.key(name)
                _write_values(
                    writer, formatted[name], outputs[name].shape, 1, offsets[name]
                )
            writer.single_line_arrays = False
            if many:
                writer.end_object()
        writer.end_array()
    else:
        writer.key("outputs")
        if many:
            writer.start_object()
        for name in names:
            if many:
                writer.key(name)
            _write_values(writer, formatted[name], outputs[name].shape, 0, [0])
        if many:
            writer.end_object()
    writer.end_object()
    return writer.getvalue()
