"""NOTES.txt prints numbered port-forward and curl steps.

`helm template` never renders NOTES.txt, so the test renders a copy of the chart
with one extra template that includes it.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_notes.py -q
"""

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.chart.helpers import CHART_DIR, HELM, versions_env
from tfserving_contract import headroom
from tfserving_contract.quantity import parse_bytes


def render_notes(tmp_path: Path, *set_args: str) -> str:
    chart = tmp_path / "tf-serving"
    shutil.copytree(CHART_DIR, chart)
    (chart / "templates" / "zz-notes.yaml").write_text(
        'notes: {{ include "tf-serving/templates/NOTES.txt" . | toJson }}\n'
    )
    cmd = [str(HELM), "template", "demo", str(chart), "--namespace", "serving"]
    cmd += ["--kube-version", versions_env()["KUBE_VERSION_NEWEST"]]
    cmd += ["--show-only", "templates/zz-notes.yaml"]
    for arg in set_args:
        cmd += ["--set", arg]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
    return yaml.safe_load(result.stdout)["notes"]


def test_notes_number_the_port_forward_and_curl_steps(tmp_path: Path):
    notes = render_notes(tmp_path)
    steps = [int(n) for n in re.findall(r"^(\d+)\. ", notes, flags=re.M)]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 3
    forward = (
        "kubectl --namespace serving port-forward service/demo-tf-serving 8501:8501"
    )
    assert forward in notes
    assert "curl -s http://127.0.0.1:8501/v1/models/fashion_mnist\n" in notes
    assert "helm test demo --namespace serving --logs" in notes
    assert "-c check-model-layout" in notes


def test_notes_follow_the_model_name_and_service_port(tmp_path: Path):
    notes = render_notes(tmp_path, "model.name=resnet", "service.ports.http=9001")
    assert "curl -s http://127.0.0.1:9001/v1/models/resnet\n" in notes


def test_notes_warn_when_memory_limit_cannot_hold_a_version_swap(tmp_path: Path):
    size = "model.sizeBytes=800000000"
    warned = render_notes(tmp_path / "a", size, "resources.limits.memory=1Gi")
    assert warned.startswith("WARNING: resources.limits.memory (1Gi)")
    baseline = parse_bytes(headroom.DEFAULT_SERVER_BASELINE)
    assert f"below the {baseline + 2 * 800000000} bytes a version swap" in warned
    assert f"{headroom.DEFAULT_SERVER_BASELINE} assumed for the server" in warned
    roomy = render_notes(tmp_path / "b", size, "resources.limits.memory=2Gi")
    assert "WARNING" not in roomy
    immutable = render_notes(
        tmp_path / "c",
        size,
        "resources.limits.memory=1Gi",
        "server.fileSystemPollWaitSeconds=0",
        "server.modelConfigPollSeconds=0",
    )
    assert "WARNING" not in immutable
    assert "WARNING" not in render_notes(tmp_path / "d", "resources.limits.memory=1Gi")


def test_notes_count_the_versions_that_stay_loaded_during_a_swap(tmp_path: Path):
    size, limit = "model.sizeBytes=400000000", "resources.limits.memory=1400M"
    baseline = parse_bytes(headroom.DEFAULT_SERVER_BASELINE)
    assert "WARNING" not in render_notes(tmp_path / "a", size, limit)
    three = render_notes(tmp_path / "b", size, limit, "model.latestVersions=3")
    assert f"below the {baseline + 3 * 400000000} bytes" in three
    assert "+ 800000000 bytes of versions that stay loaded" in three
