"""The memory check before `tfs-rollout load`: figures, the Deployment's limit, flags.

The figures are real: versions copied from the session's exported fashion-MNIST
model, whose export_metadata.json tfs-export measured.

Typical usage example:

    .venv/bin/python -m pytest tests/model_rollout/test_memory.py -q
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from model_rollout import cli, memory
from model_rollout.targets import CONFIG_KEY, ConfigMapTarget
from tests.model_rollout.test_targets import FakeCoreV1
from tfserving_contract import headroom, layout
from tfserving_contract.quantity import mib, parse_bytes

MODEL = "fashion_mnist"
CONFIG = """model_config_list {{
  config {{
    name: "{model}" base_path: "{base}" model_platform: "tensorflow"
    model_version_policy {{ specific {{ versions: 1 }} }}
    version_labels {{ key: "stable" value: 1 }}
  }}
}}
"""
BASELINE = parse_bytes(headroom.DEFAULT_SERVER_BASELINE)


def figure(base: Path, version: int) -> dict:
    path = base / str(version) / layout.ASSETS_EXTRA / layout.EXPORT_METADATA_FILE
    return json.loads(path.read_text())[headroom.METADATA_KEY]


@pytest.fixture
def base(fashion_mnist_base_path: Path, tmp_path: Path) -> Path:
    """Versions 1 and 2 of the exported model (2 is a copy of 1)."""
    copy = tmp_path / MODEL
    for version in (1, 2):
        shutil.copytree(fashion_mnist_base_path / "1", copy / str(version))
    return copy


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "models.config"
    path.write_text(CONFIG.format(model=MODEL, base=f"/models/{MODEL}"))
    return path


def rollout(config_file: Path, *args: str) -> int:
    argv = ["--config-file", str(config_file), "--rest-url", "http://127.0.0.1:9"]
    return cli.main([*argv, "--model", MODEL, *args])


def deployment(configmap: str, limits: dict | None) -> SimpleNamespace:
    server = SimpleNamespace(
        name="tf-serving", resources=SimpleNamespace(limits=limits)
    )
    volume = SimpleNamespace(config_map=SimpleNamespace(name=configmap))
    spec = SimpleNamespace(volumes=[volume], containers=[server])
    return SimpleNamespace(
        metadata=SimpleNamespace(name="demo-tf-serving"),
        spec=SimpleNamespace(template=SimpleNamespace(spec=spec)),
    )


class FakeAppsV1:
    def __init__(self, *deployments: SimpleNamespace) -> None:
        self.deployments = list(deployments)

    def list_namespaced_deployment(self, namespace: str):
        return SimpleNamespace(items=self.deployments)


def test_load_above_the_limit_is_refused_and_models_config_is_untouched(
    base: Path, config_file: Path, capsys
):
    before = config_file.read_text()
    old, new = figure(base, 1), figure(base, 2)
    limit = BASELINE + old["loaded_bytes"]
    code = rollout(
        config_file,
        *("--model-base-path", str(base), "--memory-limit", str(limit)),
        *("--memory-check", "refuse", "load", "2"),
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "tfs-rollout: error: memory check refused: loading fashion_mnist " in err
    assert f"version 1 {mib(old['loaded_bytes'])} resident" in err
    assert f"version 2 {mib(new['peak_bytes'])} at load peak" in err
    assert f"above the memory limit {mib(limit)} (--memory-limit)" in err
    assert "unload the old version first" in err
    assert config_file.read_text() == before


@pytest.mark.standin
def test_load_within_the_limit_goes_ahead_without_a_warning(
    base: Path, standin_server_factory, tmp_path: Path, capsys
):
    config = tmp_path / "served.config"
    config.write_text(CONFIG.format(model=MODEL, base=base))
    server = standin_server_factory(
        None,
        f"--model_config_file={config}",
        "--model_config_file_poll_wait_seconds=1",
        "--allow_version_labels_for_unavailable_models=true",
        model_name=MODEL,
    )
    argv = ["--config-file", str(config), "--rest-url", server.rest_url]
    argv += ["--model", MODEL, "--timeout", "60", "--model-base-path", str(base)]
    argv += ["--memory-limit", "8Gi", "--memory-check", "refuse", "load", "2"]
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "version 2 AVAILABLE" in captured.out
    assert "memory check" not in captured.err


def test_the_limit_comes_from_the_deployment_that_mounts_the_configmap(base: Path):
    target = ConfigMapTarget(
        "demo-tf-serving-models", "serving", api=FakeCoreV1({CONFIG_KEY: ""})
    )
    limit = BASELINE + figure(base, 1)["loaded_bytes"]  # no room for version 2
    apps = FakeAppsV1(
        deployment("other-models", {"memory": "64Gi"}),
        deployment("demo-tf-serving-models", {"memory": str(limit)}),
    )
    args = cli.build_parser().parse_args(
        ["--configmap", target.name, "--rest-url", "x", "--model-base-path", str(base)]
        + ["--memory-check", "refuse", "load", "2"]
    )
    config = cli.plan.parse(CONFIG.format(model=MODEL, base=f"/models/{MODEL}"))
    verdict = memory.check_load(args, target, config, MODEL, 2, apps)
    assert verdict.refusal is not None
    where = "(deployment/demo-tf-serving container tf-serving limits.memory)"
    assert f"above the memory limit {mib(limit)} {where}" in verdict.refusal
    roomy = FakeAppsV1(deployment("demo-tf-serving-models", {"memory": "8Gi"}))
    assert memory.check_load(args, target, config, MODEL, 2, roomy) == (
        headroom.Verdict([])
    )


def test_a_deployment_without_a_memory_limit_is_named(base: Path):
    apps = FakeAppsV1(deployment("demo-tf-serving-models", None))
    assert memory.deployment_limit("demo-tf-serving-models", "serving", apps) == (
        None,
        "deployment/demo-tf-serving container tf-serving sets no "
        "resources.limits.memory",
    )
    limit, why = memory.deployment_limit("nope", "serving", apps)
    assert limit is None and "no Deployment in serving mounts configmap/nope" in why


def test_a_version_without_a_figure_is_warned_about_not_passed(
    base: Path, config_file: Path
):
    path = base / "1" / layout.ASSETS_EXTRA / layout.EXPORT_METADATA_FILE
    path.unlink()
    args = cli.build_parser().parse_args(
        ["--config-file", str(config_file), "--rest-url", "x"]
        + ["--model-base-path", str(base), "--memory-limit", "8Gi", "load", "2"]
    )
    config = cli.plan.parse(config_file.read_text())
    verdict = memory.check_load(args, None, config, MODEL, 2)
    assert verdict.refusal is None
    assert [line for line in verdict.warnings if "version 1" in line] == [
        "memory check: fashion_mnist version 1 has no recorded resident_memory (no "
        "export_metadata.json, or one written before tfs-export measured memory), so "
        "it cannot be checked and counts as 0: re-publish it with tfs-export to "
        "record its figure"
    ]


def test_without_the_versions_the_check_says_it_cannot_check(config_file: Path):
    args = cli.build_parser().parse_args(
        ["--config-file", str(config_file), "--rest-url", "x", "load", "2"]
    )
    config = cli.plan.parse(config_file.read_text())
    (line,) = memory.check_load(args, None, config, MODEL, 2).warnings
    assert "cannot be checked: pass --model-base-path" in line


@pytest.mark.parametrize("bad", ["1GB", "300m", "half", "0"])
def test_an_unparseable_quantity_exits_2_naming_the_fix(
    config_file: Path, bad: str, capsys
):
    with pytest.raises(SystemExit) as exited:
        rollout(config_file, "--memory-limit", bad, "load", "2")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --memory-limit" in err and "e.g. 512Mi" in err
