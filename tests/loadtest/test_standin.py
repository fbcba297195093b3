"""A short load run against the TF Serving STAND-IN (not TensorFlow Serving).

The stand-in runs the fashion-MNIST fixture model with real TensorFlow; these
tests check the load tester end to end on a TF Serving-shaped API, nothing
about TF Serving's own performance.
"""

import pytest

from loadtest import constants
from tests.loadtest.helpers import RELAXED_GATES, run_cli

pytestmark = pytest.mark.standin


@pytest.mark.parametrize(
    "protocol", ["rest", "grpc"], ids=["standin-rest", "standin-grpc"]
)
def test_short_open_loop_run_against_the_standin(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path, protocol
):
    server = standin_fashion_mnist
    target = server.rest_url if protocol == "rest" else server.grpc_target
    code, summary = run_cli(
        tmp_path,
        "--protocol",
        protocol,
        "--target",
        target,
        "--model-name",
        server.model_name,
        "--model-base-path",
        str(fashion_mnist_base_path),
        "--rate",
        "20",
        "--duration",
        "2",
        "--warmup",
        "0.5",
        "--max-error-rate",
        "0",
        "--max-p99-ms",
        "5000",
        "--metrics-url",
        f"{server.rest_url}/monitoring/prometheus/metrics",
        *RELAXED_GATES,
    )
    assert code == constants.EXIT_PASS, (summary["gates"], summary["errors_by_kind"])
    counts = summary["counts"]
    assert counts["ok"] == counts["scheduled"] == 40 and counts["errors"] == 0
    expected_status = "200" if protocol == "rest" else "OK"
    assert summary["statuses"] == {expected_status: 40}
    server_view = summary["server_metrics"]["request_count_delta"]
    assert server_view["total"] >= summary["server_metrics"]["client_sent_incl_warmup"]
    latency = summary["server_metrics"]["latency_ms"]
    assert latency["count"] >= counts["ok"]
    client_p99 = summary["latency_ms"]["uncorrected"]["p99"]
    # The server's own time is part of what the client measured.
    assert 0 < latency["p50"] <= latency["p99"]
    assert latency["mean"] <= client_p99 * 2 + 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "protocol", ["rest", "grpc"], ids=["standin-rest", "standin-grpc"]
)
def test_resnet_image_bytes_export_loads_over_both_protocols(
    standin_resnet, resnet_bytes_base_path, tmp_path, protocol
):
    """Regression: tfs-load refused the ResNet export's sample request (DT_STRING
    {"b64": ...} JPEG bytes) with "unsupported dtype 'DT_STRING'"."""
    server = standin_resnet
    target = server.rest_url if protocol == "rest" else server.grpc_target
    code, summary = run_cli(
        tmp_path,
        "--protocol", protocol,
        "--target", target,
        "--model-name", server.model_name,
        "--model-base-path", str(resnet_bytes_base_path),
        "--rate", "5",
        "--duration", "2",
        "--warmup", "0.5",
        "--max-error-rate", "0",
        "--timeout", "30",
        *RELAXED_GATES,
    )  # fmt: skip
    assert summary is not None, f"no summary (exit {code})"
    assert code == constants.EXIT_PASS, (summary["gates"], summary["errors_by_kind"])
    counts = summary["counts"]
    assert counts["ok"] == counts["scheduled"] == 10 and counts["errors"] == 0
