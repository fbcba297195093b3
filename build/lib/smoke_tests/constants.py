"""Defaults for the smoke test CLI.

Typical usage example:

    from smoke_tests import constants
    url = f"http://127.0.0.1:{constants.DEFAULT_REST_PORT}"
"""

DEFAULT_REST_PORT = 8501
DEFAULT_GRPC_PORT = 8500
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_SIGNATURE = "serving_default"
DEFAULT_MAX_GRPC_MESSAGE_MB = 64
DEFAULT_NAMESPACE = "default"
# Used when export_metadata.json carries no tolerance (float32 outputs).
DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-6
# REST floats round-trip exactly, so the two protocols should agree closely.
PARITY_RTOL = 1e-6
PARITY_ATOL = 1e-7
PORT_FORWARD_READY_SECONDS = 30.0
# Upper bound for --concurrency: a sanity check, not a load test.
MAX_CONCURRENCY = 64
METRIC_REQUEST_COUNT = ":tensorflow:serving:request_count"
RELEASE_LABEL = "app.kubernetes.io/instance"
HTTP_PORT_NAME = "http"
GRPC_PORT_NAME = "grpc"

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
