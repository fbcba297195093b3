"""TF-Serving-style status errors and their HTTP and gRPC mappings.

Typical usage example:

    raise ServingError(Code.NOT_FOUND, "Servable not found for request: Latest(m)")
"""

import enum

import grpc


class Code(enum.IntEnum):
    """Canonical status codes (same numbers as tensorflow/absl and gRPC)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


# Same table as model_servers/http_server.cc ToHTTPStatusCode.
_HTTP_STATUS = {
    Code.OK: 200,
    Code.CANCELLED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}

_GRPC_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


class ServingError(Exception):
    """A failed status: a canonical code plus TF Serving's message."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = Code(code)
        self.message = message

    def __str__(self) -> str:
        """Formats like absl::Status::ToString, e.g. ``NOT_FOUND: msg``."""
        return f"{self.code.name}: {self.message}"


def http_status(code: Code) -> int:
    """Returns the HTTP status TF Serving's REST server uses for ``code``."""
    return _HTTP_STATUS.get(Code(code), 500)


def grpc_status(code: Code) -> grpc.StatusCode:
    """Returns the grpc.StatusCode with the same number as ``code``."""
    return _GRPC_BY_VALUE[int(code)]


def grpc_message(message: str, limit: int = 1024) -> str:
    """Truncates like grpc_status_util.cc ToGRPCStatus."""
    if len(message) > limit:
        return message[:limit] + "...TRUNCATED"
    return message


def from_tf_error(exc: BaseException) -> ServingError:
    """Converts a tf.errors.OpError (or other exception) to a ServingError."""
    error_code = getattr(exc, "error_code", None)
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, ServingError):
        return exc
    if error_code is None:
        return ServingError(Code.UNKNOWN, message)
    return ServingError(Code(int(error_code)), message)
