"""Defaults and exit codes shared by the load tester.

Typical usage example:

    from loadtest import constants
    print(constants.EXIT_INVALID)
"""

from pathlib import Path

EXIT_PASS = 0
EXIT_SLO_BREACH = 1
EXIT_USAGE = 2
EXIT_INVALID = 3

DEFAULT_REST_TARGET = "http://127.0.0.1:8501"
DEFAULT_GRPC_TARGET = "127.0.0.1:8500"
DEFAULT_SIGNATURE = "serving_default"
DEFAULT_RATE = 100.0
DEFAULT_DURATION_S = 30.0
DEFAULT_WARMUP_S = 5.0
DEFAULT_DEADLINE_S = 10.0
DEFAULT_GRPC_CONNECTIONS = 4
DEFAULT_EXPECTED_LATENCY_MS = 50.0
MIN_REST_CONNECTIONS = 8
MAX_REST_CONNECTIONS = 2048
DEFAULT_SEED = 1
# The image `run --in-cluster` starts (CLIENT_TOOLS_TAG in hack/versions.env).
CLIENT_TOOLS_IMAGE = "tf-serving-client-tools:0.1.0"
# summary.json "client_retry": what --retry-connection-errors is modelling.
CLIENT_RETRY_ONCE = "once-on-connection-error"
CLIENT_RETRY_OFF = "off"
# Shortest dispatcher sleep; below the loop's 1 ms timer resolution it would spin.
DISPATCH_MIN_SLEEP_S = 0.001

# Validity gates (the run is INVALID, exit 3, when one fails).
MIN_ACHIEVED_RATIO = 0.99
DEFAULT_MAX_LAG_P99_MS = 2.0
LAG_SLO_FRACTION = 0.05
DEFAULT_MAX_BACKLOG_S = 2.0
MIN_BACKLOG_REQUESTS = 100
MAX_BACKLOG_REQUESTS = 50_000

# Histogram range in microseconds: 1 us .. 1 hour, 3 significant digits.
HIST_LOWEST_US = 1
HIST_HIGHEST_US = 3_600_000_000
HIST_DIGITS = 3

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
DEFAULT_BUDGET_PCT = 10.0

GRPC_PREDICT_METHOD = "/tensorflow.serving.PredictionService/Predict"
METRIC_REQUEST_COUNT = ":tensorflow:serving:request_count"
# Successful requests only, in microseconds (servables/tensorflow/util.cc).
METRIC_REQUEST_LATENCY = ":tensorflow:serving:request_latency"
DEFAULT_METRICS_PATH = "/monitoring/prometheus/metrics"

SELFTEST_DIR = Path("out/loadtest/selftest")
SELFTEST_START_RATE = 500.0
SELFTEST_FACTOR = 1.5
SELFTEST_MAX_RATE = 40_000.0
SELFTEST_STEP_S = 4.0
SELFTEST_WARMUP_S = 1.0

# tfs-load capacity: the search and the plan.
CAPACITY_DIR = Path("out/capacity")
CAPACITY_START_RATE = 50.0
CAPACITY_FACTOR = 2.0
CAPACITY_MAX_RATE = 20_000.0
CAPACITY_MIN_RATE = 1.0
CAPACITY_PRECISION = 0.05
CAPACITY_STEP_S = 10.0
CAPACITY_WARMUP_S = 3.0
CAPACITY_COOLDOWN_S = 2.0
CAPACITY_ATTEMPTS = 2
CAPACITY_MAX_ERROR_RATE = 0.001
CAPACITY_UTILIZATION = 0.7
