"""helm lint, kubeconform and checkov on every ci/ scenario via hack/verify/chart.sh.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_static_tools.py -q
"""

import re
import subprocess
from pathlib import Path

import pytest

from tests.chart.helpers import (
    CHART_DIR,
    REPO_ROOT,
    SCENARIO_IDS,
    SCENARIOS,
    objects,
    render,
    run_verify_chart,
    versions_env,
)


def test_there_is_a_scenario_for_every_required_case():
    cases = " ".join(SCENARIO_IDS)
    for case in ("default", "multi-model", "pvc", "hostpath", "batching", "ingress"):
        assert case in cases, f"no ci/ scenario for {case}"
    assert "hardened" in cases or "minimal" in cases


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_each_scenario_opens_with_a_test_case_line(scenario: Path):
    first = scenario.read_text().splitlines()[0]
    assert re.fullmatch(r"## Test case: \S.*", first), first


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_helm_lint_strict_passes(scenario: Path):
    result = run_verify_chart("lint", scenario)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_every_object_validates_strictly_on_the_oldest_and_newest_kubernetes(
    scenario: Path,
):
    result = run_verify_chart("kubeconform", scenario)
    assert result.returncode == 0, result.stdout + result.stderr
    pins = versions_env()
    for version in (pins["KUBE_VERSION_OLDEST"], pins["KUBE_VERSION_NEWEST"]):
        assert f"Kubernetes {version}" in result.stderr
    summaries = re.findall(
        r"Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)", result.stdout
    )
    assert len(summaries) == 2
    docs = render(scenario=scenario)
    crds = len(objects(docs, "ServiceMonitor")) + len(objects(docs, "PrometheusRule"))
    for valid, invalid, errors, skipped in summaries:
        assert int(valid) > 0 and (invalid, errors) == ("0", "0")
        assert int(skipped) == crds, "only the Prometheus Operator CRDs may be skipped"


def test_kubeconform_rejects_a_field_the_schema_does_not_know(tmp_path: Path):
    """Regression: the offline schemas must reject unknown fields, not skip them."""
    pins = versions_env()
    schemas = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "python"),
            str(REPO_ROOT / "hack" / "verify" / "kube_schemas.py"),
            pins["KUBE_VERSION_OLDEST"],
            str(REPO_ROOT / ".cache" / "kube-schemas"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    manifest = tmp_path / "svc.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"
        "spec:\n  ports:\n    - port: 80\n      nmae: http\n"
    )
    result = subprocess.run(
        [
            str(REPO_ROOT / "bin" / "kubeconform"),
            "-strict",
            "-schema-location",
            schemas + "/{{ .ResourceKind }}{{ .KindSuffix }}.json",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "nmae" in result.stdout


def test_policy_scan_of_all_scenarios_has_no_failed_checks():
    if not (REPO_ROOT / "bin" / "checkov").exists():
        pytest.skip("bin/checkov is missing: run `make tools`")
    result = run_verify_chart("checkov")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"Failed checks: 0\b", output), output
    assert re.search(r"Passed checks: [1-9]", output), output


def test_every_checkov_skip_is_written_down_with_a_reason():
    lines = (CHART_DIR / ".checkov.yaml").read_text().splitlines()
    skips = [i for i, line in enumerate(lines) if re.match(r"\s+- CKV", line)]
    assert skips, "no skip-check entries"
    for index in skips:
        above = index - 1
        while re.match(r"\s+- CKV", lines[above]):
            above -= 1
        assert lines[above].strip().startswith("#"), f"no reason above {lines[index]}"
        check = lines[index].split("-", 1)[1].strip()
        reasons = "\n".join(lines[max(0, above - 4) : index])
        family = check.rsplit("_", 1)[0]
        assert check in reasons or family in reasons, f"{check} has no reason"
