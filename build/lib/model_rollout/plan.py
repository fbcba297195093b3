"""Pure edits of a models.config (ModelServerConfig text proto) for label rollouts.

TF Serving's rules, which every edit keeps: labels need the `specific` version
policy; a label should only move to a version that is already AVAILABLE (the
caller checks that against the server); a version a label points to is never
unloaded. The two-step rollout is: `load` a new version beside the old one,
point `canary` at it, `promote` (stable -> the canary's version), later `unload`
the old one; `rollback` points stable back at an older served version.

Typical usage example:

    config = parse(text)
    load_version(config, "fashion_mnist", 2)
    text = render(config)
"""

from __future__ import annotations

from typing import Any

from google.protobuf import text_format

from tfserving_contract import protos

STABLE, CANARY = "stable", "canary"


class RolloutError(ValueError):
    """An edit would break TF Serving's label rules; the message names the fix."""


def parse(text: str) -> Any:
    """Parses models.config text into a ModelServerConfig message.

    Raises:
        RolloutError: not a valid ModelServerConfig.
    """
    config = protos.message("tensorflow.serving.ModelServerConfig")()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as err:
        raise RolloutError(f"models.config does not parse: {err}") from err
    return config


def render(config: Any) -> str:
    """The config as text proto."""
    return text_format.MessageToString(config)


def model_config(config: Any, model: str) -> Any:
    """The ModelConfig of `model`, which must use the specific policy.

    Raises:
        RolloutError: unknown model or another version policy.
    """
    for item in config.model_config_list.config:
        if item.name == model:
            if item.model_version_policy.WhichOneof("policy_choice") != "specific":
                raise RolloutError(
                    f"model {model!r} does not use the specific version policy, which "
                    "labels need: install with model.versionPolicy=specific and "
                    "model.specificVersions"
                )
            return item
    names = [c.name for c in config.model_config_list.config]
    raise RolloutError(f"model {model!r} is not in models.config (it has {names})")


def only_model(config: Any) -> str:
    """The name of the one model in models.config.

    Raises:
        RolloutError: it holds none or several (then --model-name chooses).
    """
    names = [c.name for c in config.model_config_list.config]
    if len(names) != 1:
        raise RolloutError(
            f"models.config has models {names}: name one with --model-name"
        )
    return names[0]


def served(config: Any, model: str) -> list[int]:
    """The versions the specific policy serves, ascending."""
    return sorted(model_config(config, model).model_version_policy.specific.versions)


def labels(config: Any, model: str) -> dict[str, int]:
    """label -> version."""
    return dict(model_config(config, model).version_labels)


def load_version(config: Any, model: str, version: int) -> None:
    """Adds `version` to the served set (the old versions stay)."""
    item = model_config(config, model)
    if version not in item.model_version_policy.specific.versions:
        item.model_version_policy.specific.versions.append(version)
        ordered = sorted(item.model_version_policy.specific.versions)
        del item.model_version_policy.specific.versions[:]
        item.model_version_policy.specific.versions.extend(ordered)


def set_label(config: Any, model: str, label: str, version: int) -> None:
    """Points `label` at a served version.

    Raises:
        RolloutError: the version is not served.
    """
    if version not in served(config, model):
        raise RolloutError(
            f"version {version} is not served (served: {served(config, model)}): "
            f"run `load {version}` first"
        )
    model_config(config, model).version_labels[label] = version


def promote(config: Any, model: str) -> int:
    """stable -> the canary's version; returns it.

    Raises:
        RolloutError: no canary label.
    """
    current = labels(config, model)
    if CANARY not in current:
        raise RolloutError("no canary label to promote: run `canary VERSION` first")
    set_label(config, model, STABLE, current[CANARY])
    return current[CANARY]


def rollback_target(config: Any, model: str, to: int | None) -> int:
    """`to`, or the newest served version older than stable's.

    Raises:
        RolloutError: no stable label or nothing older served.
    """
    current = labels(config, model)
    if STABLE not in current:
        raise RolloutError("no stable label to roll back")
    if to is not None:
        return to
    older = [v for v in served(config, model) if v < current[STABLE]]
    if not older:
        raise RolloutError(
            f"no served version older than stable={current[STABLE]}: pass --to VERSION "
            "(and `load` it first)"
        )
    return older[-1]


def unload_version(config: Any, model: str, version: int) -> None:
    """Removes a version nobody labels.

    Raises:
        RolloutError: a label points to it, or it is the last served version.
    """
    users = sorted(k for k, v in labels(config, model).items() if v == version)
    if users:
        raise RolloutError(
            f"version {version} is labelled {users}: move those labels first"
        )
    versions = served(config, model)
    if version not in versions:
        return
    if versions == [version]:
        raise RolloutError(f"version {version} is the only served version")
    item = model_config(config, model)
    del item.model_version_policy.specific.versions[:]
    item.model_version_policy.specific.versions.extend(
        v for v in versions if v != version
    )


def helm_sets(config: Any, model: str) -> list[str]:
    """`--set` arguments that make a helm upgrade keep this state (primary model)."""
    versions = ",".join(str(v) for v in served(config, model))
    sets = [
        "--set model.versionPolicy=specific",
        f"--set 'model.specificVersions={{{versions}}}'",
    ]
    sets += [
        f"--set model.versionLabels.{label}={version}"
        for label, version in sorted(labels(config, model).items())
    ]
    return sets
