"""Bad values are refused by values.schema.json (per-field rules) or by
`tf-serving.validateValues` (cross-field rules), with a message naming the key.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_bad_values.py -q
"""

import re

import pytest

from tests.chart.helpers import CHART_DIR, RenderError, render, versions_env

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
        {"ingress": {"grpc": {"enabled": True}}},
        "ingress.grpc.tls",
        ["TLS"],
        id="grpc-ingress-without-tls",
    ),
    pytest.param(
        {"shutdown": {"terminationGracePeriodSeconds": 10, "preStopSleepSeconds": 10}},
        "shutdown.terminationGracePeriodSeconds",
        ["shutdown.preStopSleepSeconds"],
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
    pytest.param(
        {"server": {"ports": {"grpc": 8501}}},
        "server.ports.grpc",
        ["server.ports.http are both 8501", "never opens its REST API"],
        id="grpc-port-equals-rest-port",
    ),
    pytest.param(
        {"server": {"ports": {"grpc": 8501}}, "drainProxy": {"enabled": False}},
        "server.ports.grpc",
        ["server.ports.http are both 8501"],
        id="grpc-port-equals-rest-port-without-the-proxy",
    ),
    pytest.param(
        {"drainProxy": {"serverHttpPort": 8500}},
        "drainProxy.serverHttpPort",
        ["server.ports.grpc (8500)", "8511"],
        id="proxy-backend-port-equals-grpc-port",
    ),
    pytest.param(
        {"server": {"fileSystemPollWaitSeconds": 0}},
        "server.fileSystemPollWaitSeconds",
        ["server.modelConfigPollSeconds is 30", "server.modelConfigPollSeconds=0"],
        id="no-file-system-poll-with-config-poll",
    ),
    pytest.param(
        {
            "resources": {"limits": {"cpu": "2"}},
            "server": {"extraArgs": ["--tensorflow_session_parallelism=4"]},
        },
        "server.extraArgs",
        ["--tensorflow_session_parallelism", "server.threads.intraOp"],
        id="session-parallelism-beside-cpu-derived-threads",
    ),
    pytest.param(
        {
            "server": {
                "threads": {"intraOp": 2},
                "extraArgs": ["--tensorflow_session_parallelism=4"],
            }
        },
        "server.extraArgs",
        ["ignores it beside only one"],
        id="session-parallelism-beside-explicit-intra-op",
    ),
    pytest.param(
        {"server": {"grpc": {"channelArguments": {"grpc.primary_user_agent": "a,b"}}}},
        "grpc.channelArguments.grpc.primary_user_agent",
        ['"a,b"', "without bounds checks"],
        id="channel-argument-value-with-a-comma",
    ),
    pytest.param(
        {"server": {"grpc": {"channelArguments": {"grpc.primary_user_agent": "a=b"}}}},
        "grpc.channelArguments.grpc.primary_user_agent",
        ['"a=b"', "remove it"],
        id="channel-argument-value-with-an-equals-sign",
    ),
    pytest.param(
        {"server": {"grpc": {"channelArguments": {"grpc.primary_user_agent": ""}}}},
        "grpc.channelArguments.grpc.primary_user_agent",
        ["has no value"],
        id="channel-argument-without-a-value",
    ),
    pytest.param(
        {
            "server": {
                "grpc": {"channelArguments": {"grpc.max_connection_age_ms": 1000}}
            }
        },
        "grpc.channelArguments.grpc.max_connection_age_ms",
        ["server.grpc.maxConnectionAgeMs"],
        id="channel-argument-the-chart-sets",
    ),
    pytest.param(
        {"server": {"extraArgs": ["--grpc_channel_arguments=grpc.http2.max_pings=1"]}},
        "server.extraArgs",
        ["--grpc_channel_arguments", "grpc.channelArguments"],
        id="channel-arguments-flag-in-extra-args",
    ),
    pytest.param(
        {
            "batching": {"enabled": True, "maxBatchSize": 32},
            "server": {"threads": {"grpcMax": 16}},
        },
        "server.threads.grpcMax",
        ["2 x batching.maxBatchSize (64)", "at least 64", "RESOURCE_EXHAUSTED"],
        id="grpc-threads-below-twice-the-batch-size",
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


def test_every_cross_field_problem_is_listed_in_one_failure():
    """validateValues collects all messages, so one install attempt shows them all."""
    values = {
        "server": {
            "ports": {"grpc": 8501},
            "fileSystemPollWaitSeconds": 0,
            "extraArgs": ["--grpc_channel_arguments=x=1"],
            "grpc": {"channelArguments": {"grpc.primary_user_agent": "a,b"}},
        },
        "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 2},
        "metrics": {"serviceMonitor": {"enabled": True}, "enabled": False},
    }
    with pytest.raises(RenderError) as error:
        render(values)
    message = str(error.value)
    assert "VALUES VALIDATION:" in message
    for key in (
        "server.ports.grpc",
        "server.fileSystemPollWaitSeconds",
        "grpc.channelArguments.grpc.primary_user_agent",
        "server.extraArgs: --grpc_channel_arguments",
        "autoscaling.minReplicas",
        "metrics.serviceMonitor.enabled",
    ):
        assert key in message, f"{key!r} missing from: {message}"


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(
            {"server": {"fileSystemPollWaitSeconds": 0, "modelConfigPollSeconds": 0}},
            id="immutable-versions-with-config-polling-off",
        ),
        pytest.param(
            {"server": {"extraArgs": ["--tensorflow_session_parallelism=4"]}},
            id="session-parallelism-when-the-chart-sets-no-threads",
        ),
        pytest.param(
            {
                "server": {
                    "grpc": {
                        "channelArguments": {"grpc.http2.max_pings_without_data": 0}
                    }
                }
            },
            id="plain-channel-argument",
        ),
        pytest.param(
            {
                "batching": {"enabled": True, "maxBatchSize": 8},
                "server": {"threads": {"grpcMax": 16}},
            },
            id="grpc-threads-at-twice-the-batch-size",
        ),
    ],
)
def test_neighbouring_good_values_are_accepted(values):
    assert render(values)


def renamed_in_0_6_0() -> list[tuple[str, str]]:
    """The (old, new) rows of the chart README's "To 0.6.0" table."""
    readme = (CHART_DIR / "README.md.gotmpl").read_text(encoding="utf-8")
    section = readme.split("### To 0.6.0", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|$", section, flags=re.M)


def test_the_upgrading_table_lists_the_renamed_values():
    assert len(renamed_in_0_6_0()) == 17


@pytest.mark.parametrize(("old", "new"), renamed_in_0_6_0())
def test_a_renamed_value_is_refused_with_its_new_key(old, new):
    """Each old key of the Upgrading table fails with a message naming its new place."""
    old_key, new_key = old.removesuffix(".*"), new.removesuffix(".*")
    if old.endswith(".*"):
        old_key += ".enabled"
        new_key += ".enabled"
    values: dict = {}
    node = values
    *parents, leaf = old_key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = True if leaf == "enabled" else 1
    with pytest.raises(RenderError) as error:
        render(values)
    message = str(error.value)
    assert "renamed to" in message, message
    assert new_key in message or new.removesuffix(".*") in message, message
