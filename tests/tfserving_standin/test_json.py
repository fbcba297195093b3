"""The TF Serving STAND-IN's REST request parser against rapidjson's rules.

TF Serving parses request bodies with rapidjson 1.1.0 (workspace.bzl at
2.20.0) using kParseIterativeFlag | kParseNanAndInfFlag |
kParseStopWhenDoneFlag (util/json_tensor.cc:483-485) and reports
"JSON Parse error: <GetParseError_En> at offset: <n>" (json_tensor.cc:486-489;
the texts are rapidjson's include/rapidjson/error/en.h). Lookups use
FindMember, which returns the first of duplicate members (document.h:1153-1161),
while iterating an object visits every member. Nothing here runs TF Serving.
"""

import numpy as np
import pytest
from tensorflow.core.framework import types_pb2

from tfserving_standin import json_tensor
from tfserving_standin.errors import Code, ServingError

pytestmark = pytest.mark.standin

FLOAT = {"x": types_pb2.DT_FLOAT}
STRING = {"s": types_pb2.DT_STRING}


def _error(body: bytes) -> str:
    with pytest.raises(ServingError) as caught:
        json_tensor.parse_json(body)
    assert caught.value.code == Code.INVALID_ARGUMENT
    return caught.value.message


def _arrays(body: bytes, dtypes: dict) -> dict:
    doc = json_tensor.parse_json(body)
    arrays, _ = json_tensor.inputs_from_json(doc, dtypes, "", body)
    return arrays


def _inputs_error(body: bytes, dtypes: dict) -> str:
    """The message inputs_from_json refuses a parsed body with."""
    doc = json_tensor.parse_json(body)
    with pytest.raises(ServingError) as caught:
        json_tensor.inputs_from_json(doc, dtypes, "", body)
    return caught.value.message


def test_standin_json_accepts_every_nan_and_inf_literal_of_rapidjson():
    """kParseNanAndInfFlag (reader.h ParseNumber): NaN, Inf, Infinity, each
    optionally negated; Python's json alone refuses Inf, -Inf and -NaN."""
    arrays = _arrays(
        b'{"instances": [NaN, -NaN, Inf, -Inf, Infinity, -Infinity]}', FLOAT
    )
    values = arrays["x"]
    assert values.dtype == np.float32
    assert np.isnan(values[:2]).all()
    assert values[2:].tolist() == [np.inf, -np.inf, np.inf, -np.inf]


def test_standin_json_inf_inside_strings_is_left_alone():
    arrays = _arrays(b'{"instances": ["Inf", "-NaN"]}', STRING)
    assert arrays["s"].tolist() == [b"Inf", b"-NaN"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            b'{"instances": [Inx]}',
            "JSON Parse error: Invalid value. at offset: 17",
            id="standin-not-a-literal-reported-where-it-stops-matching",
        ),
        pytest.param(
            b'{"instances": [-Infinit]}',
            "JSON Parse error: Invalid value. at offset: 23",
            id="standin-partial-infinity",
        ),
        pytest.param(
            b'{"instances": [tru]}',
            "JSON Parse error: Invalid value. at offset: 18",
            id="standin-partial-true",
        ),
        pytest.param(
            b'{"instances": [-x]}',
            "JSON Parse error: Invalid value. at offset: 16",
            id="standin-minus-without-digits",
        ),
        pytest.param(
            b'{"instances": [Inf x]}',
            "JSON Parse error: Missing a comma or ']' after an array element. at "
            "offset: 19",
            id="standin-error-after-inf-keeps-its-offset",
        ),
        pytest.param(
            b'{"a": [1] "b": 2}',
            "JSON Parse error: Missing a comma or '}' after an object member. at "
            "offset: 10",
            id="standin-missing-comma-after-a-nested-array",
        ),
        pytest.param(
            b'{"a": [{"b": "]"} 2]}',
            "JSON Parse error: Missing a comma or ']' after an array element. at "
            "offset: 18",
            id="standin-missing-comma-after-a-nested-object",
        ),
        pytest.param(
            b'{"instances": [1e309]}',
            "JSON Parse error: Number too big to be stored in double. at offset: 15",
            id="standin-exponent-too-big",
        ),
        pytest.param(
            b'{"instances": [-Inf, 0e400]}',
            "JSON Parse error: Number too big to be stored in double. at offset: 21",
            id="standin-exponent-checked-before-the-value",
        ),
        pytest.param(
            b'{"instances": [99999999999999999999.5e309]}',
            "JSON Parse error: Number too big to be stored in double. at offset: 15",
            id="standin-fraction-not-counted-beyond-uint64",
        ),
        pytest.param(
            b'{"instances": [900719925474099300.5e309]}',
            "JSON Parse error: Number too big to be stored in double. at offset: 15",
            id="standin-fraction-not-counted-beyond-2-53",
        ),
        pytest.param(
            b'{"instances": [' + b"1" * 320 + b"]}",
            "JSON Parse error: Number too big to be stored in double. at offset: 15",
            id="standin-integer-too-big",
        ),
        pytest.param(
            b'{"instances": [' + b"1" * 5000 + b"]}",
            "JSON Parse error: Number too big to be stored in double. at offset: 15",
            id="standin-integer-beyond-python-digit-limit",
        ),
        pytest.param(
            b'{"instances": ["\\ud800"]}',
            "JSON Parse error: The surrogate pair in string is invalid. at offset: 16",
            id="standin-lone-high-surrogate",
        ),
        pytest.param(
            b'{"instances": ["a\x01"]}',
            "JSON Parse error: Invalid escape character in string. at offset: 17",
            id="standin-control-character",
        ),
        pytest.param(
            b'{"instances": ["a\x00"]}',
            "JSON Parse error: Missing a closing quotation mark in string. at offset: "
            "17",
            id="standin-nul-character",
        ),
    ],
)
def test_standin_json_refuses_what_rapidjson_refuses(body, message):
    assert _error(body) == message


def test_standin_json_large_exponents_within_rapidjson_limits_are_infinite():
    """ParseNumber checks the exponent against 308 + fraction digits, not the
    value: 9e308, 1.5e309 and 1234.5e309 (17 significant digits or fewer)
    parse, to infinity."""
    body = b'{"instances": [9e308, 1.5e309, 1e-400, 1234.5e309]}'
    values = _arrays(body, FLOAT)["x"]
    assert values.tolist() == [np.inf, np.inf, 0.0, np.inf]


def test_standin_json_lone_low_surrogate_is_kept_as_rapidjson_encodes_it():
    assert _arrays(b'{"instances": ["\\udc00"]}', STRING)["s"].tolist() == [
        b"\xed\xb0\x80"
    ]


def test_standin_json_first_duplicate_key_wins_for_lookups():
    body = b'{"instances": [1.5], "signature_name": "", "instances": "junk"}'
    doc = json_tensor.parse_json(body)
    arrays, fmt = json_tensor.inputs_from_json(doc, FLOAT, "", body)
    assert fmt == json_tensor.ROW
    assert arrays["x"].tolist() == [1.5]


def test_standin_json_error_text_shows_every_duplicate_member():
    body = b'{"instances": "junk", "instances": [1.5]}'
    # FormatError writes the whole document (json_tensor.cc JsonValueToDebugString).
    message = _inputs_error(body, FLOAT)
    assert message == (
        'JSON Value: {\n    "instances": "junk",\n    "instances": [1.5]\n} '
        "Expecting 'instances' to be an list/array"
    )


def test_standin_json_b64_object_with_two_b64_members_is_not_base64():
    """IsValBase64Object needs MemberCount() == 1 (json_tensor.cc:358-372)."""
    body = b'{"inputs": [{"b64": "aGk=", "b64": "aGk="}]}'
    message = _inputs_error(body, STRING)
    assert "not formatted correctly for base64 data" in message


def test_standin_json_repeated_name_in_an_instance_adds_its_values():
    """FillTensorMapFromInstancesList iterates every member (json_tensor.cc
    557-567): each one appends values, the shape is [count, *shape], and
    Tensor::FromProto keeps the first values, so the rows shift."""
    body = b'{"instances": [{"x": [1], "x": [2]}, {"x": [3], "x": [4]}]}'
    assert _arrays(body, FLOAT)["x"].tolist() == [[1.0], [2.0]]


def test_standin_json_repeated_name_must_keep_the_element_size():
    body = b'{"instances": [{"x": [1, 2], "x": [3]}]}'
    message = _inputs_error(body, FLOAT)
    assert message == (
        "Failed to process element: 0 key: x of 'instances' list. Error: "
        "INVALID_ARGUMENT: Expecting tensor size: 2 but got: 1"
    )


def test_standin_json_columnar_inputs_take_the_first_duplicate():
    """FillTensorMapFromInputsMap looks inputs up with FindMember."""
    body = b'{"inputs": {"x": [1.0], "x": [2.0, 3.0]}}'
    assert _arrays(body, FLOAT)["x"].tolist() == [1.0]
