"""The chart's PrometheusRule as a Prometheus rule file, checked by promtool.

`promtool test rules` evaluates the alert expressions over given input series, so a
test can say "this restart makes that alert fire" with Prometheus' own engine.

Typical usage example:

    spec = rule_spec(render(scenario=OBSERVABILITY))
    result = promtool_test(spec, [{"interval": "1m", "input_series": [...],
                                   "alert_rule_test": [...]}], tmp_path)
"""

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.chart.helpers import REPO_ROOT, one

PROMTOOL = REPO_ROOT / "bin" / "promtool"


def rule_spec(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The rendered PrometheusRule's spec: a valid Prometheus rule file."""
    return one(docs, "PrometheusRule")["spec"]


def expected_alert(
    spec: dict[str, Any], alert: str, labels: dict[str, str], value: str = ""
) -> dict[str, Any]:
    """promtool's `exp_alerts` entry for `alert` with `labels`: the rule's own labels
    added and its annotation templates (`$labels.x`, `$value`) filled in."""
    rule = next(
        r for group in spec["groups"] for r in group["rules"] if r.get("alert") == alert
    )

    def fill(text: str) -> str:
        text = re.sub(r"\{\{\s*\$value\s*\}\}", value, text)
        return re.sub(
            r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels[m.group(1)], text
        )

    return {
        "exp_labels": {**labels, **rule.get("labels", {})},
        "exp_annotations": {k: fill(v) for k, v in rule.get("annotations", {}).items()},
    }


def write_rule_file(spec: dict[str, Any], directory: Path) -> Path:
    """`spec` as directory/rules.yaml."""
    directory.mkdir(parents=True, exist_ok=True)
    rules = directory / "rules.yaml"
    rules.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return rules


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROMTOOL), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def promtool_test(
    spec: dict[str, Any], tests: list[dict[str, Any]], directory: Path
) -> subprocess.CompletedProcess:
    """`promtool test rules` of `tests` (its unit-test format) over `spec`."""
    rules = write_rule_file(spec, directory)
    suite = directory / "rules_test.yaml"
    suite.write_text(
        yaml.safe_dump(
            {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": tests}
        ),
        encoding="utf-8",
    )
    return promtool("test", "rules", str(suite))
