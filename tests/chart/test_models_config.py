"""The rendered models.config parses with TF Serving's real ModelServerConfig proto.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_models_config.py -q
"""

from pathlib import Path

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tests.chart.helpers import SCENARIO_IDS, SCENARIOS, config_map_data, render


def parse_models_config(docs: list[dict]) -> model_server_config_pb2.ModelServerConfig:
    text = config_map_data(docs, "-models")["models.config"]
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_models_config_parses_as_model_server_config(scenario: Path):
    config = parse_models_config(render(scenario=scenario))
    models = config.model_config_list.config
    assert len(models) >= 1
    for model in models:
        assert model.name
        assert model.base_path.startswith("/")
        assert model.model_platform == "tensorflow"
        assert model.model_version_policy.WhichOneof("policy_choice") in {
            "latest",
            "all",
            "specific",
        }


def test_latest_policy_serves_the_configured_number_of_newest_versions():
    config = parse_models_config(render({"model": {"latestVersions": 3}}))
    (model,) = config.model_config_list.config
    assert model.model_version_policy.latest.num_versions == 3
    assert model.base_path == "/models/fashion_mnist"


def test_all_policy_renders_the_all_message():
    config = parse_models_config(render({"model": {"versionPolicy": "all"}}))
    (model,) = config.model_config_list.config
    assert model.model_version_policy.HasField("all")


def test_specific_policy_lists_the_versions_and_labels_map_to_them():
    values = {
        "model": {
            "versionPolicy": "specific",
            "specificVersions": [3, 5],
            "versionLabels": {"stable": 3, "canary": 5},
        }
    }
    (model,) = parse_models_config(render(values)).model_config_list.config
    assert list(model.model_version_policy.specific.versions) == [3, 5]
    assert dict(model.version_labels) == {"stable": 3, "canary": 5}


def test_extra_models_are_served_with_their_own_policies_and_base_paths():
    values = {
        "modelStorage": {"mountPath": "/srv/models"},
        "extraModels": [
            {"name": "half_plus_two", "versionPolicy": "all"},
            {"name": "other", "basePath": "/data/other"},
        ],
    }
    models = parse_models_config(render(values)).model_config_list.config
    by_name = {m.name: m for m in models}
    assert list(by_name) == ["fashion_mnist", "half_plus_two", "other"]
    assert by_name["fashion_mnist"].base_path == "/srv/models/fashion_mnist"
    assert by_name["half_plus_two"].model_version_policy.HasField("all")
    assert by_name["other"].base_path == "/data/other"
    assert by_name["other"].model_version_policy.latest.num_versions == 1
