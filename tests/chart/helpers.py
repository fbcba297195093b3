"""Render charts/tf-serving with the pinned helm and query the result.

Typical usage example:

    docs = render(values={"resources": {"limits": {"cpu": "2"}}})
    args = server_container(docs)["args"]
"""

import functools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "tf-serving"
CI_DIR = CHART_DIR / "ci"
HELM = REPO_ROOT / "bin" / "helm"
VERIFY_CHART = REPO_ROOT / "hack" / "verify" / "chart.sh"
FLAGS_FILE = REPO_ROOT / "hack" / "data" / "tf_serving_flags.json"
RELEASE = "tf-serving"
SCENARIOS = sorted(CI_DIR.glob("*-values.yaml"))
SCENARIO_IDS = [path.name.removesuffix("-values.yaml") for path in SCENARIOS]


class RenderError(RuntimeError):
    """helm template failed; the message is helm's stderr."""


def versions_env() -> dict[str, str]:
    """Return the KEY=value pins of hack/versions.env."""
    pins = {}
    for line in (REPO_ROOT / "hack" / "versions.env").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pins[key.strip()] = value.strip()
    return pins


@functools.cache
def _render_text(
    values_json: str,
    files: tuple[str, ...],
    kube_version: str,
    set_args: tuple[str, ...],
) -> str:
    cmd = [str(HELM), "template", RELEASE, str(CHART_DIR)]
    cmd += ["--kube-version", kube_version]
    for path in files:
        cmd += ["-f", path]
    for arg in set_args:
        cmd += ["--set", arg]
    values = json.loads(values_json)
    if values:
        cmd += ["-f", "-"]
    result = subprocess.run(
        cmd,
        input=yaml.safe_dump(values) if values else None,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RenderError(result.stderr.strip())
    return result.stdout


def render(
    values: dict[str, Any] | None = None,
    scenario: Path | None = None,
    kube_version: str | None = None,
    set_args: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Render the chart and return the parsed, non-empty documents.

    Args:
        values: Values layered on top (as with ``-f``), after the scenario file.
        scenario: A ci/ values file applied first.
        kube_version: Target Kubernetes version; defaults to the newest supported.
        set_args: ``--set`` arguments (helm applies them after every values file).

    Returns:
        The rendered objects.

    Raises:
        RenderError: helm refused the values; the message is helm's error.
    """
    files = (str(scenario),) if scenario else ()
    version = kube_version or versions_env()["KUBE_VERSION_NEWEST"]
    text = _render_text(
        json.dumps(values or {}, sort_keys=True), files, version, set_args
    )
    return [doc for doc in yaml.safe_load_all(text) if doc]


def objects(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Return every rendered object of ``kind``."""
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict:
    """Return the single object of ``kind`` (and ``name`` when given)."""
    found = [
        d for d in objects(docs, kind) if name is None or d["metadata"]["name"] == name
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def deployment(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the model server's Deployment (not the gateway's)."""
    found = [
        d
        for d in objects(docs, "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "model-server"
    ]
    assert len(found) == 1, f"expected one model-server Deployment, found {len(found)}"
    return found[0]


def pod_spec(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the Deployment's pod spec."""
    return deployment(docs)["spec"]["template"]["spec"]


def server_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the tensorflow_model_server container."""
    return next(c for c in pod_spec(docs)["containers"] if c["name"] == "tf-serving")


def server_flags(docs: list[dict[str, Any]]) -> dict[str, str]:
    """Return the server's ``--name=value`` flags as a dict."""
    flags = {}
    for arg in server_container(docs)["args"]:
        name, _, value = arg.removeprefix("--").partition("=")
        flags[name] = value
    return flags


def config_map_data(docs: list[dict[str, Any]], suffix: str) -> dict[str, str]:
    """Return the data of the ConfigMap whose name ends with ``suffix``."""
    maps = [
        d for d in objects(docs, "ConfigMap") if d["metadata"]["name"].endswith(suffix)
    ]
    assert len(maps) == 1, f"expected one ConfigMap *{suffix}"
    return maps[0]["data"]


def tf_serving_flags() -> dict[str, Any]:
    """Return the flag data of the pinned TF Serving release."""
    return json.loads(FLAGS_FILE.read_text())


# Values tensorflow_model_server accepts, as tsl::Flags::Parse reads them
# (sscanf for numbers; bool true/false in any case, or 1/0).
_VALUE_PATTERNS = {
    "int32": r"\s*[+-]?\d+",
    "int64": r"\s*[+-]?\d+",
    "float": r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?",
    "bool": r"(?i:true|false)|1|0",
    "string": r".*",
}


def flag_problems(args: list[str], known: dict[str, dict[str, Any]]) -> list[str]:
    """Check server arguments against a flag list.

    Args:
        args: Container args such as ``--port=8500`` (a bool may be bare).
        known: Flag name -> {"type": ..., "default": ...}.

    Returns:
        One message per argument that is not ``--name=value`` (or a bare bool
        ``--name``) with a known name and a value of the flag's type.
    """
    problems = []
    for arg in args:
        match = re.fullmatch(r"--([a-z0-9_]+)(?:=(.*))?", arg, flags=re.S)
        if not match:
            problems.append(f"{arg!r} is not of the form --name=value")
            continue
        name, value = match.groups()
        if name not in known:
            problems.append(f"--{name} is not a flag of tensorflow_model_server")
        elif value is None and known[name]["type"] != "bool":
            problems.append(f"{arg!r} is not of the form --name=value")
        elif value is not None and not re.fullmatch(
            _VALUE_PATTERNS[known[name]["type"]], value
        ):
            problems.append(f"--{name}={value!r} is not a {known[name]['type']}")
    return problems


def run_verify_chart(step: str, *scenarios: Path) -> subprocess.CompletedProcess:
    """Run one hack/verify/chart.sh step and return the finished process."""
    return subprocess.run(
        [str(VERIFY_CHART), step, *map(str, scenarios)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=REPO_ROOT,
    )
