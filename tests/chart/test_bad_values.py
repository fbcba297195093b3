"""Bad values are refused by values.schema.json or a template `fail` that names the key.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_bad_values.py -q
"""

import pytest

from tests.chart.helpers import RenderError, render, versions_env

TF_SERVING_VERSION = versions_env()["TF_SERVING_VERSION"]

CASES = [
    pytest.param(
        {"model": {"versionPolicy": "newest"}},
        "model.versionPolicy",
        ["latest", "all", "specific"],
        id="unknown-version-policy",
    ),
    pytest.param(
        {"image": {"tag": "latest"}},
        "image.tag",
        ["latest", TF_SERVING_VERSION],
        id="latest-image-tag",
    ),
    pytest.param(
        {"modelStorage": {"type": "nfs"}},
        "modelStorage.type",
        ["persistentVolumeClaim", "existingClaim", "hostPath", "emptyDir"],
        id="unknown-storage-type",
    ),
    pytest.param(
        {"model": {"versionPolicy": "specific"}},
        "model.specificVersions",
        ["specific"],
        id="specific-policy-without-versions",
    ),
    pytest.param(
        {"podDisruptionBudget": {"enabled": True}},
        "podDisruptionBudget.enabled",
        ["replicaCount (or autoscaling.minReplicas) >= 2"],
        id="pdb-with-one-replica",
    ),
    pytest.param(
        {"grpcIngress": {"enabled": True}},
        "grpcIngress.tls",
        ["TLS"],
        id="grpc-ingress-without-tls",
    ),
    pytest.param(
        {"terminationGracePeriodSeconds": 10, "preStopSleepSeconds": 10},
        "terminationGracePeriodSeconds",
        ["preStopSleepSeconds"],
        id="grace-period-not-above-prestop",
    ),
    pytest.param(
        {"modelStorage": {"type": "existingClaim"}},
        "modelStorage.existingClaim",
        ["existingClaim"],
        id="existing-claim-without-a-name",
    ),
    pytest.param(
        {"probes": {"liveness": {"timeoutSeconds": 1}}},
        "probes.liveness.timeoutSeconds",
        ["5"],
        id="liveness-timeout-below-five-seconds",
    ),
    pytest.param(
        {
            "model": {
                "versionPolicy": "specific",
                "specificVersions": [1],
                "versionLabels": {"stable": 2},
            }
        },
        "model.versionLabels.stable",
        ["specificVersions"],
        id="label-for-a-version-not-served",
    ),
    pytest.param(
        {"probes": {"grpcHealthCheck": True}, "image": {"tag": "2.14.1"}},
        "probes.grpcHealthCheck",
        ["2.15.1"],
        id="grpc-health-on-an-old-release",
    ),
    pytest.param(
        {"extraModels": [{"name": "fashion_mnist"}]},
        "extraModels[0].name",
        ["unique"],
        id="duplicate-model-name",
    ),
    pytest.param(
        {"batching": {"enabled": True, "maxBatchSize": 8, "allowedBatchSizes": [2, 4]}},
        "batching.allowedBatchSizes",
        ["batching.maxBatchSize"],
        id="allowed-batch-sizes-not-ending-at-max",
    ),
    pytest.param(
        {"replicas": 2},
        "replicas",
        ["additional properties"],
        id="unknown-top-level-key",
    ),
]


def names_key(message: str, key: str) -> bool:
    """True when ``message`` names ``key`` dotted or as a schema JSON pointer."""
    pointer = "/" + key.replace(".", "/")
    return key in message or pointer in message or f"'{key}'" in message


@pytest.mark.parametrize(("values", "key", "hints"), CASES)
def test_bad_value_is_rejected_with_a_message_naming_the_key(values, key, hints):
    with pytest.raises(RenderError) as error:
        render(values)
    message = str(error.value)
    assert names_key(message, key), message
    for hint in hints:
        assert hint in message, f"{hint!r} missing from: {message}"


def test_the_documented_example_names_model_version_policy_and_allowed_values():
    with pytest.raises(RenderError) as error:
        render({"model": {"versionPolicy": "newest"}})
    message = str(error.value)
    assert "model/versionPolicy" in message
    assert "'latest', 'all', 'specific'" in message
