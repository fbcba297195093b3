"""Every rendered tensorflow_model_server flag exists in the pinned TF Serving release.

The flag list (names, types, defaults) is data in hack/data/tf_serving_flags.json,
generated (make flags) from main.cc, server.h and server.cc of the release tag it
records.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_server_flags.py -q
"""

from pathlib import Path

import pytest
import yaml

from tests.chart.helpers import (
    CHART_DIR,
    SCENARIO_IDS,
    SCENARIOS,
    flag_problems,
    render,
    server_container,
    tf_serving_flags,
    versions_env,
)

FLAGS = tf_serving_flags()["flags"]


def test_flag_list_is_for_the_pinned_tf_serving_release_and_names_its_source():
    data = tf_serving_flags()
    version = versions_env()["TF_SERVING_VERSION"]
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert data["tf_serving_version"] == version == chart["appVersion"]
    assert all(f"/blob/{version}/" in url for url in data["sources"])
    assert len(data["commit"]) == 40
    for name in (
        "port",
        "rest_api_port",
        "model_config_file",
        "monitoring_config_file",
    ):
        assert name in FLAGS


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_every_rendered_server_flag_is_a_known_flag_with_a_valid_value(scenario: Path):
    args = server_container(render(scenario=scenario))["args"]
    assert args, "the server container has no args"
    assert flag_problems(args, FLAGS) == []


def test_extra_args_are_checked_like_the_chart_flags():
    args = server_container(
        render({"server": {"extraArgs": ["--num_load_threads=2", "--no_such_flag=1"]}})
    )["args"]
    assert "--num_load_threads=2" in args
    assert flag_problems(args, FLAGS) == [
        "--no_such_flag is not a flag of tensorflow_model_server"
    ]


def test_flags_new_in_the_pinned_release_are_accepted_in_extra_args():
    args = server_container(
        render(
            {
                "server": {
                    "extraArgs": [
                        "--enable_serialization_as_tensor_content",
                        "--enable_model_warmup=TRUE",
                        "--flush_filesystem_caches=0",
                    ]
                }
            }
        )
    )["args"]
    assert flag_problems(args, FLAGS) == []


def test_a_flag_value_of_the_wrong_type_is_reported():
    assert flag_problems(["--port=http"], FLAGS) == ["--port='http' is not a int32"]
    assert flag_problems(["--enable_batching=yes"], FLAGS) == [
        "--enable_batching='yes' is not a bool"
    ]
    assert flag_problems(["--port"], FLAGS) == [
        "'--port' is not of the form --name=value"
    ]
