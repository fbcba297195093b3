"""Unit tests for the known-error hints table."""

import re

import pytest

from smoke_tests import hints


@pytest.mark.parametrize(
    ("message", "key"),
    [
        ("Servable not found for request: Latest(wrong)", "servable-not-found"),
        ("Could not find any versions of model wrong", "servable-not-found"),
        ("No versions of servable m found under base path /models/m", "no-versions"),
        ("Could not find base path /models/m for servable m", "base-path"),
        (
            'JSON Value: "a" Type: String is not of expected type: float',
            "dtype",
        ),
        ("Expects arg[0] to be float but string is provided", "dtype"),
        ("JSON object: does not have named input: img", "input-name"),
        (
            "Signature input alias: image(feed name: x:0) not found in request",
            "input-name",
        ),
        ("Type mismatch: actual string vs. expect float", "dtype"),
        ("Missing named input: image in 'inputs' object.", "input-name"),
        (
            "input size does not match signature: 1!=1 ... Sent extra: {img}",
            "input-name",
        ),
        ('Serving signature key "serving_default" not found.', "signature"),
        ("serving_default not found", "signature"),
        ("inputs names differ: served ['image'], export ['img']", "signature-mismatch"),
        ("input 'image' dtype: served DT_FLOAT, export DT_UINT8", "signature-mismatch"),
        ("Received message larger than max (5000000 vs. 4194304)", "grpc-message-size"),
        ("Timed out waiting for notification", "rest-timeout"),
        (
            "RESOURCE_EXHAUSTED: Sent message larger than max (9 vs. 4)",
            "grpc-message-size",
        ),
        ("HTTPConnectionPool: [Errno 111] Connection refused", "connection-refused"),
        (
            "failed to connect to all addresses; last error: UNAVAILABLE",
            "connection-refused",
        ),
        (
            "HTTPConnectionPool(host='x', port=1): Read timed out. (read timeout=1)",
            "client-timeout",
        ),
        ("GetModelStatus: DEADLINE_EXCEEDED: Deadline Exceeded", "client-timeout"),
    ],
)
def test_known_error_strings_get_their_hint(message, key):
    assert key in [h.key for h in hints.find(message)]


def test_unrelated_messages_get_no_hint():
    assert hints.find("everything is fine") == []


def test_every_hint_has_a_valid_pattern_and_a_fix():
    keys = [h.key for h in hints.HINTS]
    assert len(keys) == len(set(keys))
    for hint in hints.HINTS:
        re.compile(hint.pattern)
        assert len(hint.fix) > 40
