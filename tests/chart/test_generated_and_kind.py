"""Generated files match the chart, and the kind config matches the kind scenario.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_generated_and_kind.py -q
"""

import re

import yaml

from tests.chart.helpers import CHART_DIR, CI_DIR, REPO_ROOT, render, versions_env

KIND_CONFIG = REPO_ROOT / "k8s" / "kind-config.yaml"
MANIFESTS = REPO_ROOT / "k8s" / "manifests" / "tf-serving.yaml"


def test_plain_manifests_equal_the_default_render_without_the_test_pod():
    expected = [doc for doc in render() if doc["kind"] != "Pod"]
    committed = [doc for doc in yaml.safe_load_all(MANIFESTS.read_text()) if doc]
    assert committed == expected, "k8s/manifests out of date: run `make manifests`"


def test_kind_config_pins_the_node_image_from_versions_env():
    config = yaml.safe_load(KIND_CONFIG.read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    pinned = versions_env()["KIND_NODE_IMAGE"]
    assert re.fullmatch(r"kindest/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", pinned)
    for node in config["nodes"]:
        assert node["image"] == pinned


def test_kind_config_mounts_models_and_maps_the_kind_scenario_node_ports():
    config = yaml.safe_load(KIND_CONFIG.read_text())
    (node,) = config["nodes"]
    scenario = yaml.safe_load((CI_DIR / "04-kind-hostpath-values.yaml").read_text())
    mounts = {m["containerPath"]: m["hostPath"] for m in node["extraMounts"]}
    assert mounts[scenario["modelStorage"]["hostPath"]["path"]] == "./models"
    mapped = {m["containerPort"]: m["hostPort"] for m in node["extraPortMappings"]}
    node_ports = scenario["service"]["nodePorts"]
    assert mapped[node_ports["http"]] == 8501
    assert mapped[node_ports["grpc"]] == 8500


def test_every_top_level_value_has_a_schema():
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    schema = yaml.safe_load((CHART_DIR / "values.schema.json").read_text())
    assert set(values) <= set(schema["properties"])
