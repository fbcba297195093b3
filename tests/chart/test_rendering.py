"""Rendering tests in helm-unittest style: each test name is the sentence it checks.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_rendering.py -q
"""

from pathlib import Path

import pytest
import yaml

from tests.chart.helpers import (
    CHART_DIR,
    CI_DIR,
    SCENARIO_IDS,
    SCENARIOS,
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

SELECTOR_FORBIDDEN = ("helm.sh/chart", "app.kubernetes.io/version")


def all_containers(docs: list[dict]) -> list[dict]:
    spec = pod_spec(docs)
    found = spec["containers"] + spec.get("initContainers", [])
    for pod in objects(docs, "Pod"):
        found += pod["spec"]["containers"]
    return found


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_selector_labels_never_include_version_or_chart(scenario: Path):
    docs = render(scenario=scenario)
    selectors = [deployment(docs)["spec"]["selector"]["matchLabels"]]
    selectors += [svc["spec"]["selector"] for svc in objects(docs, "Service")]
    selectors += [
        p["spec"]["selector"]["matchLabels"]
        for p in objects(docs, "PodDisruptionBudget")
    ]
    for selector in selectors:
        assert selector, "empty selector"
        for key in SELECTOR_FORBIDDEN:
            assert key not in selector
    template_labels = deployment(docs)["spec"]["template"]["metadata"]["labels"]
    assert selectors[0].items() <= template_labels.items()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_probes_use_named_ports_and_liveness_waits_at_least_five_seconds(
    scenario: Path,
):
    docs = render(scenario=scenario)
    container = server_container(docs)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    # Behind the drain proxy (default) the server's REST port is its own.
    proxied = "drain-proxy" in {c["name"] for c in pod_spec(docs)["containers"]}
    rest = "server-http" if proxied else "http"
    assert ports == {"grpc": 8500, rest: 8511 if proxied else 8501}
    assert container["startupProbe"]["httpGet"] == {
        "path": "/v1/models/fashion_mnist",
        "port": rest,
    }
    readiness = container["readinessProbe"]
    if proxied:
        # The proxy's port belongs to another container: a name would not resolve.
        assert readiness["httpGet"] == {"path": "/-/ready", "port": 8501}
    else:
        assert readiness["exec"]["command"][:2] == ["bash", "-c"]
    liveness = container["livenessProbe"]
    assert liveness.get("tcpSocket", {}).get("port") == "grpc" or "grpc" in liveness
    assert liveness["timeoutSeconds"] >= 5


def test_startup_probe_allows_at_least_ten_minutes_for_model_loading_by_default():
    startup = server_container(render())["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_image_tags_are_pinned_and_never_latest(scenario: Path):
    for container in all_containers(render(scenario=scenario)):
        tag = container["image"].split("@")[0].rsplit(":", 1)[1]
        assert tag and tag != "latest", container["image"]


def test_image_tag_defaults_to_the_chart_app_version():
    app_version = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"]
    assert server_container(render())["image"] == f"tensorflow/serving:{app_version}"


def test_image_repository_and_tag_can_point_at_the_stand_in_image():
    values = {"image": {"repository": "tfserving-standin", "tag": "0.1.0"}}
    docs = render(values)
    for container in pod_spec(docs)["containers"] + pod_spec(docs)["initContainers"]:
        if container["name"] != "drain-proxy":
            assert container["image"] == "tfserving-standin:0.1.0"
    assert server_container(docs)["command"] == ["tensorflow_model_server"]


def test_a_digest_is_appended_to_the_tag():
    digest = "sha256:" + "a" * 64
    image = server_container(render({"image": {"digest": digest}}))["image"]
    assert image.endswith(f":{TF_SERVING_VERSION}@{digest}")


def test_intra_op_threads_follow_the_cpu_limit():
    flags = server_flags(render({"resources": {"limits": {"cpu": "2"}}}))
    assert flags["tensorflow_intra_op_parallelism"] == "2"
    assert flags["tensorflow_inter_op_parallelism"] == "2"
    assert flags["rest_api_num_threads"] == "8"
    assert flags["grpc_max_threads"] == "8"


@pytest.mark.parametrize(("cpu", "threads"), [("1500m", "2"), ("250m", "1"), (3, "3")])
def test_fractional_cpu_limits_round_up_to_whole_threads(cpu, threads):
    flags = server_flags(render({"resources": {"limits": {"cpu": cpu}}}))
    assert flags["tensorflow_intra_op_parallelism"] == threads


def test_explicit_thread_values_override_the_cpu_limit():
    values = {
        "resources": {"limits": {"cpu": "4"}},
        "server": {"threads": {"intraOp": 3, "grpcMax": 6}},
    }
    flags = server_flags(render(values))
    assert flags["tensorflow_intra_op_parallelism"] == "3"
    assert flags["tensorflow_inter_op_parallelism"] == "4"
    assert flags["grpc_max_threads"] == "6"


@pytest.mark.parametrize(
    ("values", "grpc_threads"),
    [
        pytest.param({"resources": {"limits": {"cpu": "1"}}}, "4", id="no-batching"),
        pytest.param(
            {
                "resources": {"limits": {"cpu": "1"}},
                "batching": {"enabled": True, "maxBatchSize": 32},
            },
            "64",
            id="batching-raises-it-to-twice-the-batch-size",
        ),
        pytest.param(
            {
                "resources": {"limits": {"cpu": "32"}},
                "batching": {"enabled": True, "maxBatchSize": 32},
            },
            "128",
            id="batching-never-lowers-the-cpu-derived-value",
        ),
        pytest.param(
            {
                "resources": {"limits": {"cpu": "1"}},
                "batching": {"enabled": True, "maxBatchSize": 8},
                "server": {"threads": {"grpcMax": 20}},
            },
            "20",
            id="explicit-value-above-the-floor",
        ),
    ],
)
def test_grpc_threads_never_starve_a_batching_server(values, grpc_threads):
    """Each gRPC request holds a thread while its batch fills (batching/README.md
    at 2.20.0: about twice the maximum batch size), so a derived cap below that
    keeps batches from filling."""
    assert server_flags(render(values))["grpc_max_threads"] == grpc_threads


def test_the_batching_scenario_derives_grpc_threads_from_the_batch_size():
    flags = server_flags(render(scenario=CI_DIR / "05-batching-monitoring-values.yaml"))
    assert flags["rest_api_num_threads"] == "8"  # 4 x ceil(1500m)
    assert flags["grpc_max_threads"] == "16"  # 2 x maxBatchSize 8, above 4 x 2


def test_without_a_cpu_limit_batching_leaves_grpc_threads_to_tf_serving():
    flags = server_flags(render({"batching": {"enabled": True}}))
    assert "grpc_max_threads" not in flags


def test_session_parallelism_passes_through_when_the_chart_sets_no_threads():
    args = server_container(
        render({"server": {"extraArgs": ["--tensorflow_session_parallelism=4"]}})
    )["args"]
    assert "--tensorflow_session_parallelism=4" in args
    assert not [a for a in args if "_op_parallelism" in a]


def test_valid_channel_arguments_follow_the_chart_s_own():
    values = {
        "server": {
            "grpc": {"channelArguments": {"grpc.http2.max_pings_without_data": 0}}
        }
    }
    assert server_flags(render(values))["grpc_channel_arguments"] == (
        "grpc.max_connection_age_ms=8000,grpc.max_connection_age_grace_ms=2000,"
        "grpc.http2.max_pings_without_data=0"
    )


def test_without_a_cpu_limit_thread_counts_are_left_to_tf_serving():
    flags = server_flags(render())
    for name in (
        "tensorflow_intra_op_parallelism",
        "rest_api_num_threads",
        "grpc_max_threads",
    ):
        assert name not in flags


def test_version_labels_add_the_allow_unavailable_labels_flag():
    assert "allow_version_labels_for_unavailable_models" not in server_flags(render())
    flags = server_flags(render({"model": {"versionLabels": {"stable": 1}}}))
    assert flags["allow_version_labels_for_unavailable_models"] == "true"
    extra = {"extraModels": [{"name": "b", "versionLabels": {"canary": 2}}]}
    assert "allow_version_labels_for_unavailable_models" in server_flags(render(extra))


def test_server_runs_tensorflow_model_server_directly_without_being_pid_1():
    docs = render()
    container = server_container(docs)
    assert container["command"] == ["tensorflow_model_server"]
    assert all(arg.startswith("--") for arg in container["args"])
    assert pod_spec(docs)["shareProcessNamespace"] is True


def test_prestop_sleeps_and_the_grace_period_is_longer():
    docs = render(
        {"shutdown": {"preStopSleepSeconds": 15, "terminationGracePeriodSeconds": 25}}
    )
    assert server_container(docs)["lifecycle"]["preStop"]["exec"]["command"] == [
        "sleep",
        "15",
    ]
    assert pod_spec(docs)["terminationGracePeriodSeconds"] == 25


def test_rolling_updates_never_take_a_serving_pod_away_first():
    strategy = deployment(render())["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    assert strategy["rollingUpdate"]["maxSurge"] >= 1


def test_models_config_is_mounted_as_a_whole_directory_so_updates_propagate():
    docs = render()
    mounts = server_container(docs)["volumeMounts"]
    assert all("subPath" not in m for m in mounts)
    config_file = server_flags(docs)["model_config_file"]
    mount = next(m for m in mounts if m["name"] == "models-config")
    assert config_file == mount["mountPath"] + "/models.config"


def checksum(values: dict) -> dict:
    return deployment(render(values))["spec"]["template"]["metadata"]["annotations"]


def test_checksum_changes_when_batching_or_monitoring_config_changes():
    base = checksum({"batching": {"enabled": True}})["checksum/config"]
    changed = checksum({"batching": {"enabled": True, "maxBatchSize": 64}})
    assert changed["checksum/config"] != base
    path = checksum({"metrics": {"path": "/metrics"}})["checksum/config"]
    assert path != checksum({})["checksum/config"]


def test_model_config_changes_are_hot_reloaded_without_rolling_pods():
    before = checksum({})
    after = checksum({"model": {"versionLabels": {"stable": 1}}})
    assert "checksum/models" not in before
    assert before == after


def test_model_config_changes_roll_pods_when_polling_is_off():
    values = {"server": {"modelConfigPollSeconds": 0}}
    labelled = {"server": {"modelConfigPollSeconds": 0}, "model": {"latestVersions": 2}}
    assert checksum(values)["checksum/models"] != checksum(labelled)["checksum/models"]


def test_file_system_poll_zero_makes_model_versions_immutable():
    flags = server_flags(render(scenario=CI_DIR / "07-hardened-minimal-values.yaml"))
    assert flags["file_system_poll_wait_seconds"] == "0"
    assert server_flags(render())["file_system_poll_wait_seconds"] == "1"


def test_kind_scenario_fails_fast_on_broken_models():
    flags = server_flags(render(scenario=CI_DIR / "04-kind-hostpath-values.yaml"))
    assert flags["max_num_load_retries"] == "0"
    assert server_flags(render())["max_num_load_retries"] == "5"


def test_rest_timeout_and_monitoring_flags_follow_values():
    flags = server_flags(render({"server": {"restApiTimeoutMs": 45000}}))
    assert flags["rest_api_timeout_in_ms"] == "45000"
    assert flags["monitoring_config_file"].endswith("/monitoring.config")
    assert "monitoring_config_file" not in server_flags(
        render({"metrics": {"enabled": False}})
    )


def test_batching_renders_the_parameters_file_and_flags():
    docs = render(scenario=CI_DIR / "05-batching-monitoring-values.yaml")
    flags = server_flags(docs)
    assert flags["enable_batching"] == "true"
    data = one(docs, "ConfigMap", "tf-serving-config")["data"]
    assert flags["batching_parameters_file"].endswith("/batching.config")
    assert "max_batch_size { value: 8 }" in data["batching.config"]
    assert "allowed_batch_sizes: 8" in data["batching.config"]
    assert 'path: "/monitoring/prometheus/metrics"' in data["monitoring.config"]


def test_grpc_max_connection_age_renders_channel_arguments():
    flags = server_flags(render({"server": {"grpc": {"maxConnectionAgeMs": 9000}}}))
    assert flags["grpc_channel_arguments"] == (
        "grpc.max_connection_age_ms=9000,grpc.max_connection_age_grace_ms=2000"
    )
    off = {"server": {"grpc": {"maxConnectionAgeMs": 0, "maxConnectionAgeGraceMs": 0}}}
    assert "grpc_channel_arguments" not in server_flags(render(off))


def test_services_expose_named_http_and_grpc_ports_with_app_protocol():
    docs = render(scenario=CI_DIR / "06-ingress-values.yaml")
    services = {s["metadata"]["name"]: s for s in objects(docs, "Service")}
    assert services["tf-serving-headless"]["spec"]["clusterIP"] == "None"
    for service in services.values():
        ports = {p["name"]: p for p in service["spec"]["ports"]}
        assert (
            ports["http"]["targetPort"] == "http"
            and ports["http"]["appProtocol"] == "http"
        )
        assert (
            ports["grpc"]["targetPort"] == "grpc"
            and ports["grpc"]["appProtocol"] == "grpc"
        )


def test_kind_scenario_uses_fixed_node_ports_and_the_node_models_directory():
    docs = render(scenario=CI_DIR / "04-kind-hostpath-values.yaml")
    service = one(docs, "Service")
    assert service["spec"]["type"] == "NodePort"
    assert {p["name"]: p["nodePort"] for p in service["spec"]["ports"]} == {
        "http": 30851,
        "grpc": 30850,
    }
    volume = next(v for v in pod_spec(docs)["volumes"] if v["name"] == "models")
    assert volume["hostPath"] == {"path": "/models", "type": "Directory"}
    assert server_container(docs)["imagePullPolicy"] == "IfNotPresent"


def test_grpc_ingress_uses_the_grpc_backend_protocol_and_tls():
    docs = render(scenario=CI_DIR / "06-ingress-values.yaml")
    grpc = one(docs, "Ingress", "tf-serving-grpc")
    rest = one(docs, "Ingress", "tf-serving")
    assert (
        grpc["metadata"]["annotations"]["nginx.ingress.kubernetes.io/backend-protocol"]
        == "GRPC"
    )
    assert grpc["spec"]["tls"][0]["secretName"] == "tf-serving-grpc-tls"
    backend = grpc["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "tf-serving", "port": {"name": "grpc"}}
    rest_backend = rest["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert rest_backend["port"] == {"name": "http"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_every_container_is_hardened(scenario: Path):
    docs = render(scenario=scenario)
    for container in all_containers(docs):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["runAsNonRoot"] is True
        assert context["capabilities"]["drop"] == ["ALL"]
        assert context["seccompProfile"]["type"] == "RuntimeDefault"
    pod = pod_spec(docs)
    assert pod["securityContext"]["runAsUser"] == 1000
    assert pod["automountServiceAccountToken"] is False


def test_service_account_is_created_without_an_api_token():
    account = one(render(), "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert pod_spec(render())["serviceAccountName"] == account["metadata"]["name"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {},
            {
                "persistentVolumeClaim": {
                    "claimName": "tf-serving-models",
                    "readOnly": True,
                }
            },
        ),
        (
            {"modelStorage": {"type": "existingClaim", "existingClaim": "mine"}},
            {"persistentVolumeClaim": {"claimName": "mine", "readOnly": True}},
        ),
        (
            {"modelStorage": {"type": "hostPath"}},
            {"hostPath": {"path": "/models", "type": "Directory"}},
        ),
        ({"modelStorage": {"type": "emptyDir"}}, {"emptyDir": {"sizeLimit": "1Gi"}}),
    ],
    ids=["chart-pvc", "existing-claim", "host-path", "empty-dir"],
)
def test_model_volume_follows_model_storage_type(values, expected):
    docs = render(values)
    volume = next(v for v in pod_spec(docs)["volumes"] if v["name"] == "models")
    volume.pop("name")
    assert volume == expected
    assert bool(objects(docs, "PersistentVolumeClaim")) == (values == {})


def test_chart_created_pvc_is_kept_on_uninstall():
    pvc = one(render(), "PersistentVolumeClaim")
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_layout_check_runs_first_with_the_server_image_and_every_model():
    values = {
        "extraModels": [
            {"name": "b", "versionPolicy": "specific", "specificVersions": [2, 3]}
        ]
    }
    docs = render(values)
    (init,) = pod_spec(docs)["initContainers"]
    assert init["image"] == server_container(docs)["image"]
    assert init["command"][:2] == ["/bin/sh", "-c"]
    assert init["command"][3:] == [
        "check-model-layout",
        "fashion_mnist",
        "/models/fashion_mnist",
        "",
        "b",
        "/models/b",
        "2,3",
    ]


def test_helm_test_pod_checks_model_status_over_rest_and_is_never_a_service_endpoint():
    docs = render()
    pod = one(docs, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    container = pod["spec"]["containers"][0]
    assert container["command"][-1] == "http://tf-serving:8501/v1/models/fashion_mnist"
    assert "AVAILABLE" in container["command"][2]
    selector = one(docs, "Service")["spec"]["selector"]
    assert not selector.items() <= pod["metadata"]["labels"].items()
    image = {
        "testFramework": {"image": {"repository": "local/busybox", "tag": "1.35.0"}}
    }
    assert (
        one(render(image), "Pod")["spec"]["containers"][0]["image"]
        == "local/busybox:1.35.0"
    )


def test_pod_disruption_budget_is_rendered_only_when_enabled():
    assert not objects(render(), "PodDisruptionBudget")
    pdb = one(render(scenario=CI_DIR / "03-pvc-values.yaml"), "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1


def test_grpc_health_probe_is_used_only_when_asked_for():
    docs = render({"probes": {"grpcHealthCheck": True}})
    probe = server_container(docs)["livenessProbe"]["grpc"]
    assert probe == {"port": 8500, "service": "PredictionService"}
    assert server_flags(docs)["enable_grpc_healthcheck_service"] == "true"


def test_metrics_scrape_annotations_point_at_the_rest_port():
    annotations = deployment(render())["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "8501"
    assert annotations["prometheus.io/path"] == "/monitoring/prometheus/metrics"


@pytest.mark.parametrize(
    "scenario",
    [
        CI_DIR / "04-kind-hostpath-values.yaml",
        CI_DIR / "05-batching-monitoring-values.yaml",
        CI_DIR / "07-hardened-minimal-values.yaml",
    ],
    ids=["kind-hostpath", "batching-monitoring", "hardened-minimal"],
)
def test_sized_scenarios_set_cpu_and_memory_requests_and_limits(scenario: Path):
    """checkov skips the resource checks globally; these scenarios keep it honest."""
    resources = server_container(render(scenario=scenario))["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= resources[kind].keys()


def test_network_policy_admits_only_the_serving_ports():
    policy = one(render(), "NetworkPolicy")
    (rule,) = policy["spec"]["ingress"]
    assert {p["port"] for p in rule["ports"]} == {"http", "grpc"}
    assert policy["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/instance": "tf-serving"
    }


def test_service_monitor_scrapes_the_metrics_path_on_the_http_port_once():
    docs = render(scenario=CI_DIR / "05-batching-monitoring-values.yaml")
    monitor = one(docs, "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "http"
    assert endpoint["path"] == "/monitoring/prometheus/metrics"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    selector = monitor["spec"]["selector"]
    headless = render({"service": {"headless": {"enabled": True}}})
    labels = {
        s["metadata"]["name"]: s["metadata"]["labels"]
        for s in objects(headless, "Service")
    }
    excluded = selector["matchExpressions"][0]["key"]
    assert excluded in labels["tf-serving-headless"]
    assert excluded not in labels["tf-serving"]
    assert not objects(render(), "ServiceMonitor")


def test_thread_flags_follow_a_cpu_limit_given_with_set():
    """`helm template --set resources.limits.cpu=2` passes an integer, not a string."""
    flags = server_flags(render(set_args=("resources.limits.cpu=2",)))
    assert flags["tensorflow_intra_op_parallelism"] == "2"
    assert flags["rest_api_num_threads"] == "8"
