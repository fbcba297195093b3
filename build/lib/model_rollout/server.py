"""What the running server reports, over TF Serving's REST status API.

Each read is repeated once on a connection error (tfserving_contract.rest_client's
retry_once): a port-forward or Service whose pod just stopped resets the
connection, and a status read is safe to repeat.

Typical usage example:

    states = version_states("http://127.0.0.1:8501", "m")   # {1: "AVAILABLE"}
    wait_for(lambda: label_version(url, m, "canary") == 2, 180, "canary -> 2")
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from model_rollout.plan import RolloutError
from tfserving_contract.rest_client import retrying_session

POLL_S = 1.0
READ_TIMEOUT_S = 10


def _get(url: str) -> requests.Response:
    """GET with one retry on a connection error (never on an HTTP status)."""
    with retrying_session() as session:
        return session.get(url, timeout=READ_TIMEOUT_S)


def version_states(rest_url: str, model: str) -> dict[int, str]:
    """version -> state (AVAILABLE, LOADING, END...)."""
    try:
        reply = _get(f"{rest_url}/v1/models/{model}")
    except requests.RequestException as err:
        raise RolloutError(f"cannot reach TF Serving at {rest_url}: {err}") from err
    if reply.status_code != 200:
        raise RolloutError(
            f"GET /v1/models/{model}: HTTP {reply.status_code}: {reply.text}"
        )
    return {
        int(item["version"]): item["state"]
        for item in reply.json().get("model_version_status", [])
    }


def label_version(rest_url: str, model: str, label: str) -> int | None:
    """The version `label` resolves to on the server, or None.

    Asks for the label's metadata: its `model_spec.version` is the version the
    label resolved to (the status API lists every version).
    """
    url = f"{rest_url}/v1/models/{model}/labels/{label}/metadata"
    try:
        reply = _get(url)
    except requests.RequestException:
        return None
    if reply.status_code != 200:
        return None
    version = reply.json().get("model_spec", {}).get("version")
    return int(version) if version is not None else None


def require_available(rest_url: str, model: str, version: int) -> None:
    """Raises RolloutError unless `version` is AVAILABLE on the server."""
    state = version_states(rest_url, model).get(version, "not loaded")
    if state != "AVAILABLE":
        raise RolloutError(
            f"version {version} is {state}, not AVAILABLE: a label may only move to a "
            f"loaded version; run `load {version}` and wait for it"
        )


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Seconds until check() holds; RolloutError after timeout_s."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(POLL_S)
    raise RolloutError(
        f"timed out after {timeout_s:.0f} s waiting for {what}; a ConfigMap change "
        "reaches the pod within about a minute and is read every "
        "server.modelConfigPollSeconds: check those, and the server log"
    )
