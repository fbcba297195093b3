"""Model version status: parse REST/gRPC answers and judge them; metric sums.

Typical usage example:

    states = status.rest_version_states(reply_body)
    ok, detail = status.evaluate_versions(states, expected=[2])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class VersionState:
    """One entry of model_version_status."""

    version: int
    state: str
    error_code: str
    message: str


def evaluate_versions(
    states: list[VersionState], expected: list[int]
) -> tuple[bool, str]:
    """Decides whether expected versions (or any, if none given) are AVAILABLE.

    A miss names what the server does serve: "expected versions [1], server
    serves [4] (v4:AVAILABLE)", so a model served at other versions is not
    mistaken for one that is not served at all.
    """
    seen = ", ".join(f"v{s.version}:{s.state}" for s in states) or "no versions"
    available = sorted({s.version for s in states if s.state == "AVAILABLE"})
    if expected:
        missing = [v for v in expected if v not in available]
        if missing:
            serves = available or "none"
            detail = f"expected versions {sorted(expected)}, server serves {serves}"
            if available and len(missing) < len(expected):
                detail += f": {missing} missing"
            return False, f"{detail} ({seen})"
        return True, f"AVAILABLE {sorted(expected)} ({seen})"
    if not available:
        return False, f"no version is AVAILABLE; server reports {seen}"
    return True, seen


def failed_versions(states: list[VersionState]) -> list[VersionState]:
    """Returns versions that ended with an error (e.g. a v3 that failed to load)."""
    return [s for s in states if s.state == "END" and s.error_code not in ("OK", "")]


def rest_version_states(body: Any) -> list[VersionState]:
    """Parses ``GET /v1/models/<m>`` into version states."""
    states = []
    for item in (body or {}).get("model_version_status", []):
        status = item.get("status", {})
        states.append(
            VersionState(
                int(item.get("version", 0)),
                str(item.get("state", "UNKNOWN")),
                str(status.get("error_code", "OK")),
                str(status.get("error_message", "")),
            )
        )
    return sorted(states, key=lambda s: s.version)


def grpc_version_states(response: Any) -> list[VersionState]:
    """Parses a GetModelStatusResponse into version states."""
    from tfserving_contract import protos

    states = [
        VersionState(
            int(item.version),
            protos.enum_name("tensorflow.serving.ModelVersionStatus.State", item.state),
            protos.enum_name("tensorflow.error.Code", item.status.error_code),
            item.status.error_message,
        )
        for item in response.model_version_status
    ]
    return sorted(states, key=lambda s: s.version)


def metric_total(text: str, metric: str, model: str) -> float:
    """Sums the samples of a Prometheus metric for one model (label model_name)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(metric + "{") and f'model_name="{model}"' in line:
            try:
                total += float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                continue
    return total
