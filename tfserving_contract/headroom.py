"""Will the container's memory limit hold a version swap? One check for every tool.

TF Serving loads a new version before it unloads the old one: its default
AvailabilityPreservingPolicy unloads a no-longer-wanted version only while another
wanted version is AVAILABLE, and otherwise loads first ("temporary increased
resource consumption while newly-aspired versions load", tensorflow_serving/core/
availability_preserving_policy.cc and .h at 2.20.0). During a swap the container
holds

    limit >= server baseline + resident memory of the versions that stay loaded
             + load peak of the new version

The versions' figures are the ones tfs-export measured into their
export_metadata.json (model_export/memory_probe.py); the baseline (the server
with no model) is an assumption the caller passes.

Typical usage example:

    swap = Swap("m", 3, figures(base, [3])[3], {2: figures(base, [2])[2]})
    verdict = check(swap, Settings(mode="warn", limit_bytes=parse_bytes("1Gi")))

    add_flags(parser, limit_help="...")      # --memory-check, --memory-limit, ...
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from tfserving_contract import layout
from tfserving_contract.quantity import QuantityError, ceil_mi, mib, parse_bytes

METADATA_KEY = "resident_memory"
MODES = ("warn", "refuse", "off")
DEFAULT_MODE = "warn"
DEFAULT_SERVER_BASELINE = "256Mi"
"""tensorflow_model_server's own memory with no model: an assumption, not measured
here (no server runs where tfs-export does); measure an idle pod's
container_memory_working_set_bytes and pass that instead."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """How to check: mode, the limit (None = unknown) and the assumed baseline."""

    mode: str = DEFAULT_MODE
    limit_bytes: int | None = None
    limit_source: str = "--memory-limit"
    baseline_bytes: int = parse_bytes(DEFAULT_SERVER_BASELINE)
    unload_hint: str = "unload the old version first (a short outage for this model)"


DEFAULT_SETTINGS = Settings()


@dataclasses.dataclass(frozen=True)
class Swap:
    """A new version loading while `kept` stay loaded; figures None = unrecorded."""

    model: str
    version: int
    figure: dict | None
    kept: dict[int, dict | None]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Lines to warn with, and the refusal (None = go ahead)."""

    warnings: list[str]
    refusal: str | None = None


def figures(base_path: Path, versions: list[int]) -> dict[int, dict | None]:
    """version -> the resident_memory entry of its export_metadata.json, or None."""
    found: dict[int, dict | None] = {}
    for version in versions:
        path = base_path / str(version) / layout.ASSETS_EXTRA
        path = path / layout.EXPORT_METADATA_FILE
        try:
            entry = json.loads(path.read_text()).get(METADATA_KEY)
        except (OSError, ValueError, AttributeError):
            entry = None
        found[version] = entry if isinstance(entry, dict) else None
    return found


def kept_during_load(on_disk: list[int], version: int, latest: int) -> list[int] | None:
    """Versions still loaded while `version` loads under the `latest` policy.

    The `latest: N` policy wants the N newest versions. A loaded version no longer
    wanted is unloaded first while another wanted one is AVAILABLE; with none (N = 1)
    the last loaded version stays until the new one is AVAILABLE.

    Args:
        on_disk: Versions under the base path before the new one.
        version: The new version.
        latest: The policy's num_versions.

    Returns:
        The versions loaded beside it, or None when the policy never loads it.
    """
    wanted = sorted({*on_disk, version})[-latest:]
    if version not in wanted:
        return None
    return [v for v in wanted if v != version] or sorted(on_disk)[-1:]


def _unrecorded(model: str, version: int) -> str:
    return (
        f"memory check: {model} version {version} has no recorded {METADATA_KEY} "
        "(no export_metadata.json, or one written before tfs-export measured "
        "memory), so it cannot be checked and counts as 0: re-publish it with "
        "tfs-export to record its figure"
    )


def check(swap: Swap, settings: Settings) -> Verdict:
    """Compares the swap's memory with the limit.

    Returns:
        Warnings for unrecorded figures, an unknown limit or (mode warn) a sum
        above the limit; with mode refuse, the refusal instead of the last.
    """
    if settings.mode == "off":
        return Verdict([])
    warnings = [_unrecorded(swap.model, v) for v, f in swap.kept.items() if f is None]
    if swap.figure is None:
        warnings.append(_unrecorded(swap.model, swap.version))
    if settings.limit_bytes is None:
        warnings.append(
            f"memory check: no memory limit known for loading {swap.model} version "
            f"{swap.version}, so it cannot be checked: pass --memory-limit (the "
            "tf-serving container's resources.limits.memory), or --memory-check off"
        )
        return Verdict(warnings)
    parts = [f"server baseline {mib(settings.baseline_bytes)} (assumed)"]
    total = settings.baseline_bytes
    for version, figure in sorted(swap.kept.items()):
        if figure is not None:
            total += figure["loaded_bytes"]
            parts.append(f"version {version} {mib(figure['loaded_bytes'])} resident")
    if swap.figure is not None:
        new = max(swap.figure["loaded_bytes"], swap.figure["peak_bytes"])
        total += new
        parts.append(f"version {swap.version} {mib(new)} at load peak")
    if total <= settings.limit_bytes:
        return Verdict(warnings)
    old = ", ".join(str(v) for v in sorted(swap.kept)) or "none"
    text = (
        f"loading {swap.model} version {swap.version} beside version(s) {old} needs "
        f"{' + '.join(parts)} = {mib(total)}, above the memory limit "
        f"{mib(settings.limit_bytes)} ({settings.limit_source}): TF Serving loads a "
        "new version before it unloads the old one, so the pod may be OOM-killed. "
        f"Choose one: raise resources.limits.memory to at least {ceil_mi(total)}; "
        f"{settings.unload_hint}; or serve fewer "
        "versions (model.latestVersions, model.specificVersions)"
    )
    if settings.mode == "refuse":
        return Verdict(
            warnings,
            f"memory check refused: {text}. Nothing was changed; "
            "--memory-check warn goes ahead anyway",
        )
    return Verdict([*warnings, f"memory check: {text}"])


def _quantity(text: str) -> int:
    try:
        return parse_bytes(text)
    except QuantityError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def add_flags(parser: Any, *, limit_help: str) -> None:
    """``--memory-check``, ``--memory-limit`` and ``--server-memory-baseline``."""
    group = parser.add_argument_group("memory check")
    group.add_argument(
        "--memory-check",
        choices=MODES,
        default=DEFAULT_MODE,
        help="warn, or refuse, when the server baseline + the versions that stay "
        "loaded + the new version exceed the memory limit; off skips the check",
    )
    group.add_argument(
        "--memory-limit",
        type=_quantity,
        default=None,
        metavar="QUANTITY",
        help=limit_help,
    )
    group.add_argument(
        "--server-memory-baseline",
        type=_quantity,
        default=DEFAULT_SERVER_BASELINE,
        metavar="QUANTITY",
        help="memory of tensorflow_model_server with no model loaded (the default "
        "is an assumption, not a measurement: measure an idle pod)",
    )
