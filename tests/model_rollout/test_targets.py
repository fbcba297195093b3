"""ConfigMap patch builder, optimistic-concurrency write, the CLI's --version flag.

Typical usage example:

    .venv/bin/python -m pytest tests/model_rollout/test_targets.py -q
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kubernetes.client.exceptions import ApiException

from model_rollout import cli
from model_rollout.plan import RolloutError
from model_rollout.targets import CONFIG_KEY, ConfigMapTarget, configmap_patch


class FakeCoreV1:
    """Records patches; answers reads from a dict; can refuse a patch with a status."""

    def __init__(self, data: dict[str, str], resource_version: str = "41") -> None:
        self.data = data
        self.resource_version = resource_version
        self.patches: list[tuple[str, str, dict]] = []
        self.refuse_with: int | None = None

    def read_namespaced_config_map(self, name: str, namespace: str):
        return SimpleNamespace(
            data=dict(self.data),
            metadata=SimpleNamespace(resource_version=self.resource_version),
        )

    def patch_namespaced_config_map(self, name: str, namespace: str, body: dict):
        if self.refuse_with:
            raise ApiException(status=self.refuse_with, reason="refused")
        self.patches.append((name, namespace, body))


def test_patch_replaces_only_models_config_and_pins_the_read_version():
    assert configmap_patch("text", "41") == {
        "data": {CONFIG_KEY: "text"},
        "metadata": {"resourceVersion": "41"},
    }
    assert configmap_patch("text", None) == {"data": {CONFIG_KEY: "text"}}


def test_write_patches_with_the_resource_version_it_read():
    api = FakeCoreV1({CONFIG_KEY: "old"}, resource_version="7")
    target = ConfigMapTarget("r-tf-serving-models", "serving", api=api)
    assert target.read() == "old"
    target.write("new")
    assert api.patches == [
        (
            "r-tf-serving-models",
            "serving",
            {"data": {CONFIG_KEY: "new"}, "metadata": {"resourceVersion": "7"}},
        )
    ]


def test_a_concurrent_change_is_refused_not_overwritten():
    api = FakeCoreV1({CONFIG_KEY: "old"})
    target = ConfigMapTarget("cm", "ns", api=api)
    target.read()
    api.refuse_with = 409
    with pytest.raises(RolloutError, match="changed after it was read"):
        target.write("new")


def test_a_configmap_without_models_config_names_the_key():
    target = ConfigMapTarget("cm", "ns", api=FakeCoreV1({"other": "x"}))
    with pytest.raises(RolloutError, match="has no models.config key"):
        target.read()


def test_version_flag_and_argument_are_the_same(tmp_path, capsys):
    common = ["--config-file", str(tmp_path / "x"), "--rest-url", "http://127.0.0.1:9"]
    with pytest.raises(SystemExit) as err:
        cli.main([*common, "load", "3", "--version", "4"])
    assert err.value.code == 2
    assert "differ" in capsys.readouterr().err
    # --version alone reaches the action (which then fails on the missing file).
    assert cli.main([*common, "load", "--version", "3"]) == 1
    assert "cannot read" in capsys.readouterr().err
