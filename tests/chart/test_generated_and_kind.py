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


def test_every_non_default_kind_field_has_a_comment():
    lines = KIND_CONFIG.read_text().splitlines()
    for field in ("image:", "extraMounts:", "extraPortMappings:"):
        index = next(
            i for i, line in enumerate(lines) if line.strip().startswith(field)
        )
        assert lines[index - 1].strip().startswith("#"), f"{field} has no comment"


def test_chart_readme_lists_every_top_level_value_in_its_generated_table():
    readme = (CHART_DIR / "README.md").read_text()
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    rows = re.findall(r"^\| ([A-Za-z0-9_.\[\]]+) \|", readme, flags=re.M)
    for key in values:
        assert any(row == key or row.startswith(key + ".") for row in rows), key


def test_values_yaml_links_its_schema_and_documents_keys_with_helm_docs_comments():
    text = (CHART_DIR / "values.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=values.schema.json"
    lines = [line for line in text.splitlines() if line.strip()]
    comments = [line for line in lines if line.lstrip().startswith("#")]
    assert 0.4 <= len(comments) / len(lines) <= 0.8
    schema = yaml.safe_load((CHART_DIR / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert set(yaml.safe_load(text)) <= set(schema["properties"])


def test_chart_readme_describes_every_ci_scenario():
    readme = (CHART_DIR / "README.md").read_text()
    for scenario in CI_DIR.glob("*-values.yaml"):
        assert f"`{scenario.name}`" in readme, (
            f"{scenario.name}: add a row to the Scenarios table in "
            "charts/tf-serving/README.md.gotmpl and run `make docs`"
        )
