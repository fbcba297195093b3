"""Defaults of the TF Serving stand-in, taken from tensorflow_model_server.

Typical usage example:

    from tfserving_standin import constants
    port = constants.DEFAULT_GRPC_PORT
"""

import os

DEFAULT_GRPC_PORT = 8500
DEFAULT_REST_PORT = 0  # REST is off unless --rest_api_port is given, as upstream.
DEFAULT_MODEL_NAME = "default"
DEFAULT_REST_TIMEOUT_MS = 30000
# port::NumSchedulableCPUs(): the CPUs this process may run on.
SCHEDULABLE_CPUS = (
    len(os.sched_getaffinity(0))
    if hasattr(os, "sched_getaffinity")
    else (os.cpu_count() or 1)
)
# 4.0 * port::NumSchedulableCPUs() (server.h): REST and gRPC threads.
DEFAULT_THREADS = 4 * SCHEDULABLE_CPUS
DEFAULT_MAX_NUM_LOAD_RETRIES = 5
DEFAULT_LOAD_RETRY_INTERVAL_MICROS = 60 * 1000 * 1000
DEFAULT_FILE_SYSTEM_POLL_WAIT_SECONDS = 1
DEFAULT_SAVED_MODEL_TAGS = "serve"
DEFAULT_PROMETHEUS_PATH = "/monitoring/prometheus/metrics"
DEFAULT_SIGNATURE = "serving_default"
TENSORFLOW_PLATFORM = "tensorflow"

MAX_WARMUP_RECORDS = 1000

PREDICT_METHOD_NAME = "tensorflow/serving/predict"
CLASSIFY_METHOD_NAME = "tensorflow/serving/classify"
REGRESS_METHOD_NAME = "tensorflow/serving/regress"

GRPC_ERROR_MESSAGE_LIMIT = 1024
# Shutdown: by default like tensorflow_model_server, which installs no SIGTERM or
# SIGINT handler (only SIGPIPE is ignored: util/net_http/server/internal/
# evhttp_server.cc:52 at 2.20.0), so a signal ends it at once and as PID 1 it
# ignores SIGTERM until SIGKILL. Setting this variable to 1 (unit tests only, never
# e2e) restores a graceful drain of SHUTDOWN_GRACE_SECONDS instead.
GRACEFUL_SHUTDOWN_ENV = "TFS_STANDIN_GRACEFUL_SHUTDOWN"
SHUTDOWN_GRACE_SECONDS = 5.0
STANDIN_BANNER = "TF Serving STAND-IN (not TensorFlow Serving)"
