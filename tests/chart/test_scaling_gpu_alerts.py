"""Autoscaling, GPU serving and PrometheusRule alerts (ci/09 and ci/10).

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_scaling_gpu_alerts.py -q
"""

import promql_parser
import pytest

from tests.chart.alert_rules import (
    PROMTOOL,
    expected_alert,
    promtool,
    promtool_test,
    rule_spec,
    write_rule_file,
)
from tests.chart.helpers import (
    CI_DIR,
    RenderError,
    deployment,
    objects,
    one,
    pod_spec,
    render,
    server_container,
    server_flags,
    versions_env,
)

TF_SERVING_VERSION = versions_env()["TF_SERVING_VERSION"]

SCALING = CI_DIR / "09-autoscaling-gpu-values.yaml"
OBSERVABILITY = CI_DIR / "10-observability-values.yaml"
NEEDS_PROMTOOL = pytest.mark.skipif(
    not PROMTOOL.exists(), reason=f"{PROMTOOL} is missing: run `make tools`"
)


def test_hpa_targets_the_deployment_and_owns_replicas():
    docs = render(scenario=SCALING)
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment(docs)["metadata"]["name"],
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    kinds = [m["type"] for m in hpa["spec"]["metrics"]]
    assert kinds == ["Resource", "Pods"]
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert "replicas" not in deployment(docs)["spec"]


def test_replica_count_beside_autoscaling_is_ignored_not_refused():
    docs = render(scenario=SCALING, values={"replicaCount": 3})
    assert "replicas" not in deployment(docs)["spec"]
    assert one(docs, "HorizontalPodAutoscaler")["spec"]["minReplicas"] == 2


def test_without_autoscaling_the_deployment_keeps_replica_count():
    docs = render(values={"replicaCount": 3})
    assert deployment(docs)["spec"]["replicas"] == 3
    assert not objects(docs, "HorizontalPodAutoscaler")


def test_gpu_image_limit_flag_and_toleration():
    docs = render(scenario=SCALING)
    container = server_container(docs)
    assert container["image"].endswith(f":{TF_SERVING_VERSION}-gpu")
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["resources"]["limits"]["cpu"] == "4"
    assert server_flags(docs)["per_process_gpu_memory_fraction"] == "0.45"
    tolerations = pod_spec(docs)["tolerations"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in (
        tolerations
    )
    assert pod_spec(docs)["priorityClassName"] == "system-cluster-critical"


def test_cpu_serving_has_no_gpu_bits():
    docs = render()
    container = server_container(docs)
    assert "-gpu" not in container["image"]
    assert "per_process_gpu_memory_fraction" not in server_flags(docs)
    assert "tolerations" not in pod_spec(docs)


def test_an_explicit_gpu_tag_is_not_suffixed_twice():
    tag = f"{TF_SERVING_VERSION}-gpu"
    values = {"gpu": {"enabled": True}, "image": {"tag": tag}}
    assert server_container(render(values=values))["image"].endswith(f":{tag}")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}},
            "autoscaling.minReplicas (5) must not exceed autoscaling.maxReplicas (2)",
        ),
        (
            {"autoscaling": {"enabled": True}},
            "autoscaling.targetCPUUtilizationPercentage needs resources.requests.cpu",
        ),
        (
            {"autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": 0}},
            "autoscaling.enabled needs a metric",
        ),
        (
            {
                "autoscaling": {"enabled": True, "minReplicas": 1},
                "resources": {"requests": {"cpu": "1"}},
                "podDisruptionBudget": {"enabled": True},
            },
            "replicaCount (or autoscaling.minReplicas) >= 2",
        ),
        (
            {"metrics": {"enabled": False, "prometheusRule": {"enabled": True}}},
            "metrics.prometheusRule.enabled needs metrics.enabled",
        ),
        (
            {"metrics": {"prometheusRule": {"enabled": True}}},
            "metrics.prometheusRule.enabled needs metrics.serviceMonitor.enabled",
        ),
        ({"gpu": {"perProcessGpuMemoryFraction": 1.5}}, "perProcessGpuMemoryFraction"),
    ],
    ids=[
        "min-above-max",
        "cpu-target-without-request",
        "no-metric",
        "pdb-with-one-min-replica",
        "rule-without-metrics",
        "rule-without-service-monitor",
        "memory-fraction-above-one",
    ],
)
def test_bad_combinations_fail_naming_the_fix(values, message):
    with pytest.raises(RenderError) as err:
        render(values=values)
    assert message in str(err.value)


def rules(docs):
    rule = one(docs, "PrometheusRule")
    return {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}


SERVER_ALERTS = [
    "TFServingHighErrorRatio",
    "TFServingHighLatencyP99",
    "TFServingModelLoadFailed",
    "TFServingNotScraped",
]
KUBE_STATE_ALERTS = [
    "TFServingContainerRestarted",
    "TFServingOOMKilled",
    "TFServingReplicasUnavailable",
]


def test_alerts_cover_latency_errors_load_failures_absence_and_restarts():
    found = rules(render(scenario=OBSERVABILITY))
    assert sorted(found) == sorted(SERVER_ALERTS + KUBE_STATE_ALERTS)
    latency = found["TFServingHighLatencyP99"]["expr"]
    assert ":tensorflow:serving:request_latency_bucket" in latency
    assert latency.strip().endswith("> 250000")  # 250 ms in the metric's microseconds
    assert 'status!="OK"' in found["TFServingHighErrorRatio"]["expr"]
    assert found["TFServingHighErrorRatio"]["expr"].strip().endswith("> 0.02")


def test_every_alert_expression_is_valid_promql():
    for name, rule in rules(render(scenario=OBSERVABILITY)).items():
        parsed = promql_parser.parse(rule["expr"])
        assert parsed is not None, name


def test_kube_state_metrics_alerts_are_left_out_on_request():
    values = {"metrics": {"prometheusRule": {"kubeStateMetrics": False}}}
    found = rules(render(scenario=OBSERVABILITY, values=values))
    assert sorted(found) == SERVER_ALERTS


@NEEDS_PROMTOOL
def test_promtool_accepts_the_rule_groups(tmp_path):
    """Prometheus' own checker: PromQL, durations, label and annotation templates."""
    rules_file = write_rule_file(rule_spec(render(scenario=OBSERVABILITY)), tmp_path)
    result = promtool("check", "rules", str(rules_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_alerts_select_this_release_only():
    for name, rule in rules(render(scenario=OBSERVABILITY)).items():
        selector = 'deployment="tf-serving"' if "Replicas" in name else "tf-serving"
        assert 'namespace="default"' in rule["expr"] and selector in rule["expr"]


# kube-state-metrics' series of this release's pod and of another release's pod.
POD = 'namespace="default", pod="tf-serving-7d9f8b6c5-x2k4q", container="tf-serving"'
OTHER = (
    'namespace="default", pod="tf-serving-b-7d9f8b6c5-p9z7r", container="tf-serving"'
)


def restart_series(labels: str, reason: str) -> list[dict]:
    """A container that restarts once at minute 3, last terminated for `reason`."""
    return [
        {
            "series": f"kube_pod_container_status_restarts_total{{{labels}}}",
            "values": "0 0 0 1 1 1 1 1 1 1",
        },
        {
            "series": "kube_pod_container_status_last_terminated_reason"
            f'{{{labels}, reason="{reason}"}}',
            "values": "0 0 0 1 1 1 1 1 1 1",
        },
    ]


def firing(alert: str, eval_time: str, labels: list[dict]) -> dict:
    return {"alertname": alert, "eval_time": eval_time, "exp_alerts": labels}


@NEEDS_PROMTOOL
def test_an_oom_kill_fires_the_restart_and_oom_alerts_of_this_release_only(tmp_path):
    """Prometheus' engine over the chart's rules: an OOM-killed restart of this
    release's server fires both alerts; another release's pod fires none."""
    spec = rule_spec(render(scenario=OBSERVABILITY))
    pod = {
        "namespace": "default",
        "pod": "tf-serving-7d9f8b6c5-x2k4q",
        "container": "tf-serving",
    }
    restarted = expected_alert(spec, "TFServingContainerRestarted", pod)
    oom = expected_alert(spec, "TFServingOOMKilled", {**pod, "reason": "OOMKilled"})
    assert restarted["exp_annotations"]["summary"] == (
        "The TF Serving container of tf-serving-7d9f8b6c5-x2k4q restarted"
    )
    test = {
        "interval": "1m",
        "input_series": restart_series(POD, "OOMKilled")
        + restart_series(OTHER, "OOMKilled"),
        "alert_rule_test": [
            firing("TFServingContainerRestarted", "2m", []),
            firing("TFServingContainerRestarted", "5m", [restarted]),
            firing("TFServingOOMKilled", "2m", []),
            firing("TFServingOOMKilled", "5m", [oom]),
        ],
    }
    result = promtool_test(spec, [test], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@NEEDS_PROMTOOL
def test_a_crash_is_a_restart_but_not_an_oom_kill(tmp_path):
    spec = rule_spec(render(scenario=OBSERVABILITY))
    test = {
        "interval": "1m",
        "input_series": restart_series(POD, "Error"),
        "alert_rule_test": [firing("TFServingOOMKilled", "5m", [])],
    }
    result = promtool_test(spec, [test], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@NEEDS_PROMTOOL
def test_unavailable_replicas_fire_after_the_pending_time(tmp_path):
    spec = rule_spec(render(scenario=OBSERVABILITY))
    labels = {"namespace": "default", "deployment": "tf-serving"}
    series = "kube_deployment_status_replicas_unavailable" + (
        '{namespace="default", deployment="tf-serving"}'
    )
    test = {
        "interval": "1m",
        "input_series": [{"series": series, "values": "0 1 1 1 1 1 1 1 1 1"}],
        "alert_rule_test": [
            firing("TFServingReplicasUnavailable", "5m", []),
            firing(
                "TFServingReplicasUnavailable",
                "7m",
                [expected_alert(spec, "TFServingReplicasUnavailable", labels, "1")],
            ),
        ],
    }
    result = promtool_test(spec, [test], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_value_turns_metrics_on_and_the_crs_are_opt_in():
    docs = render()
    assert "monitoring_config_file" in server_flags(docs)
    annotations = deployment(docs)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert not objects(docs, "PrometheusRule") and not objects(docs, "ServiceMonitor")
    off = render(values={"metrics": {"enabled": False}})
    assert "monitoring_config_file" not in server_flags(off)


def test_default_topology_spread_is_a_soft_spread_over_nodes():
    docs = render()
    (spread,) = pod_spec(docs)["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    # ScheduleAnyway: a 1-node cluster (kind) still schedules every replica.
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
    assert (
        spread["labelSelector"]["matchLabels"]
        == (deployment(docs)["spec"]["selector"]["matchLabels"])
    )
    assert spread["matchLabelKeys"] == ["pod-template-hash"]


def test_explicit_topology_spread_replaces_the_default():
    docs = render(scenario=SCALING)
    keys = [c["topologyKey"] for c in pod_spec(docs)["topologySpreadConstraints"]]
    assert keys == ["topology.kubernetes.io/zone"]
    docs = render(values={"defaultTopologySpread": False})
    assert "topologySpreadConstraints" not in pod_spec(docs)
