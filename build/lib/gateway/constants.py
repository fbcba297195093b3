"""Defaults of the gateway (flags and the chart use the same values)."""

DEFAULT_HOST = "0.0.0.0"  # noqa: S104 - a container listens on all interfaces
DEFAULT_PORT = 8080
DEFAULT_TFS_TARGET = "127.0.0.1:8500"
DEFAULT_SIGNATURE = "serving_default"
DEFAULT_TOP_K = 3
DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_MESSAGE_MB = 64
# Seconds a fetched signature and class-name list are reused before re-reading.
METADATA_TTL_S = 30.0
ACCEPTED_FORMATS = ("JPEG", "PNG")
