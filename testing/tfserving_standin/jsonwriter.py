"""A small pretty JSON writer that lays text out like rapidjson::PrettyWriter.

TF Serving builds its REST bodies with rapidjson's PrettyWriter (4-space
indent, single-line arrays for each row). This writer reproduces that layout
and TF Serving's float formatting so responses match byte for byte in the
common cases.

Typical usage example:

    writer = PrettyWriter()
    writer.start_object(); writer.key("error"); writer.string("x"); writer.end_object()
    text = writer.getvalue()
"""

import json
import math

import numpy as np


class JsonObject(dict):
    """A parsed JSON object that had duplicate member names.

    rapidjson keeps every member: ``FindMember`` (a lookup) returns the first
    one, while iterating the object or writing it out visits all of them. As a
    dict this object holds the first value of each name; ``members`` keeps
    every (name, value) pair in document order. Objects without duplicates
    stay plain dicts.
    """

    __slots__ = ("members",)


def members(value: dict) -> list:
    """Every (name, value) member of a parsed JSON object, duplicates included."""
    if isinstance(value, JsonObject):
        return value.members
    return list(value.items())


def member_count(value: dict) -> int:
    """rapidjson's MemberCount(): every member, duplicate names included."""
    if isinstance(value, JsonObject):
        return len(value.members)
    return len(value)


class _Level:
    __slots__ = ("in_array", "count")

    def __init__(self, in_array: bool) -> None:
        self.in_array = in_array
        self.count = 0


class PrettyWriter:
    """Event-based JSON writer with rapidjson's pretty layout rules."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._stack: list[_Level] = []
        self.single_line_arrays = False
        self._max_bytes = max_bytes

    def _in_limit(self) -> bool:
        return self._max_bytes is None or self._size < self._max_bytes

    def _put(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)

    def _indent(self) -> None:
        self._put(" " * (4 * len(self._stack)))

    def _prefix(self) -> None:
        if not self._stack:
            return
        level = self._stack[-1]
        if level.in_array:
            if level.count > 0:
                self._put(", " if self.single_line_arrays else ",")
            if not self.single_line_arrays:
                self._put("\n")
                self._indent()
        else:
            if level.count > 0:
                self._put(",\n" if level.count % 2 == 0 else ": ")
            else:
                self._put("\n")
            if level.count % 2 == 0:
                self._indent()
        level.count += 1

    def start_object(self) -> bool:
        if not self._in_limit():
            return False
        self._prefix()
        self._stack.append(_Level(False))
        self._put("{")
        return True

    def end_object(self) -> bool:
        if not self._in_limit():
            return False
        level = self._stack.pop()
        if level.count:
            self._put("\n")
            self._indent()
        self._put("}")
        return True

    def start_array(self) -> bool:
        if not self._in_limit():
            return False
        self._prefix()
        self._stack.append(_Level(True))
        self._put("[")
        return True

    def end_array(self) -> bool:
        if not self._in_limit():
            return False
        level = self._stack.pop()
        if level.count and not self.single_line_arrays:
            self._put("\n")
            self._indent()
        self._put("]")
        return True

    def raw(self, text: str) -> bool:
        """Writes an already formatted scalar (number, true, null...)."""
        if not self._in_limit():
            return False
        self._prefix()
        self._put(text)
        return True

    def string(self, value: str) -> bool:
        return self.raw(json.dumps(value, ensure_ascii=False))

    def key(self, name: str) -> bool:
        return self.string(name)

    def value(self, value) -> bool:
        """Writes a parsed-JSON Python value (dict, list, scalar)."""
        if isinstance(value, dict):
            if not self.start_object():
                return False
            for key, item in members(value):
                if not (self.key(key) and self.value(item)):
                    return False
            return self.end_object()
        if isinstance(value, list):
            if not self.start_array():
                return False
            for item in value:
                if not self.value(item):
                    return False
            return self.end_array()
        if isinstance(value, str):
            return self.string(value)
        if value is True:
            return self.raw("true")
        if value is False:
            return self.raw("false")
        if value is None:
            return self.raw("null")
        if isinstance(value, float):
            return self.raw(format_json_double(value))
        return self.raw(str(value))

    def getvalue(self) -> str:
        return "".join(self._parts)


def format_json_double(value: float) -> str:
    """Formats a parsed JSON double like rapidjson's Writer::Double (Grisu)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "-Infinity" if value < 0 else "Infinity"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if mantissa.endswith(".0"):
            mantissa = mantissa[:-2]
        text = f"{mantissa}e{int(exponent)}"
    return text


def format_tf_float(value: float, is_double: bool = False) -> str:
    """Formats a tensor value like json_tensor.cc WriteDecimal.

    Six significant digits (absl::StrCat) when that round-trips, otherwise
    max_digits10 (9 for float, 17 for double); ``.0`` is appended to whole
    numbers; NaN and infinities are written as NaN / Infinity / -Infinity.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "-Infinity" if value < 0 else "Infinity"
    text = "%g" % value
    if is_double:
        if float(text) != value:
            text = "%.17g" % value
    elif np.float32(text) != np.float32(value):
        text = "%.9g" % value
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def debug_string(value, max_bytes: int = 256) -> str:
    """Renders a JSON value for an error message (JsonValueToDebugString)."""
    writer = PrettyWriter(max_bytes=max_bytes)
    writer.single_line_arrays = True
    writer.value(value)
    return writer.getvalue()


def error_body(message: str) -> str:
    """Returns TF Serving's error body: ``{ "error": "<message>" }``."""
    writer = PrettyWriter()
    writer.start_object()
    writer.key("error")
    writer.string(message)
    writer.end_object()
    return writer.getvalue()
