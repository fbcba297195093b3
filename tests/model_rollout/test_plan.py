"""Pure models.config edits and TF Serving's label rules."""

from __future__ import annotations

import pytest

from model_rollout import plan

CONFIG = """
model_config_list {
  config {
    name: "m" base_path: "/models/m" model_platform: "tensorflow"
    model_version_policy { specific { versions: 1 } }
    version_labels { key: "stable" value: 1 }
  }
  config {
    name: "other" base_path: "/models/o" model_platform: "tensorflow"
    model_version_policy { latest { num_versions: 1 } }
  }
}
"""


@pytest.fixture
def config():
    return plan.parse(CONFIG)


def test_two_step_rollout_and_rollback(config):
    plan.load_version(config, "m", 2)
    assert plan.served(config, "m") == [1, 2]
    plan.set_label(config, "m", plan.CANARY, 2)
    assert plan.promote(config, "m") == 2
    assert plan.labels(config, "m") == {"stable": 2, "canary": 2}
    assert plan.rollback_target(config, "m", None) == 1
    reparsed = plan.parse(plan.render(config))
    assert plan.labels(reparsed, "m") == {"stable": 2, "canary": 2}


def test_a_label_only_moves_to_a_served_version(config):
    with pytest.raises(plan.RolloutError, match="run `load 3` first"):
        plan.set_label(config, "m", plan.CANARY, 3)


def test_a_labelled_or_last_version_is_never_unloaded(config):
    with pytest.raises(plan.RolloutError, match=r"labelled \['stable'\]"):
        plan.unload_version(config, "m", 1)
    plan.load_version(config, "m", 2)
    plan.set_label(config, "m", plan.STABLE, 2)
    plan.unload_version(config, "m", 1)
    assert plan.served(config, "m") == [2]


def test_labels_need_the_specific_policy(config):
    with pytest.raises(plan.RolloutError, match="model.versionPolicy=specific"):
        plan.load_version(config, "other", 2)


def test_unknown_model_and_bad_text_name_the_problem(config):
    with pytest.raises(plan.RolloutError, match=r"'nope' is not in models.config"):
        plan.served(config, "nope")
    with pytest.raises(plan.RolloutError, match="does not parse"):
        plan.parse("model_config_list { config { nme: 1 } }")


def test_promote_needs_a_canary_and_rollback_an_older_version(config):
    with pytest.raises(plan.RolloutError, match="no canary label"):
        plan.promote(config, "m")
    with pytest.raises(plan.RolloutError, match="no served version older"):
        plan.rollback_target(config, "m", None)


def test_helm_sets_persist_the_state(config):
    plan.load_version(config, "m", 2)
    plan.set_label(config, "m", plan.CANARY, 2)
    assert plan.helm_sets(config, "m") == [
        "--set model.versionPolicy=specific",
        "--set 'model.specificVersions={1,2}'",
        "--set model.versionLabels.canary=2",
        "--set model.versionLabels.stable=1",
    ]
