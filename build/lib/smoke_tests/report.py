"""Render check results as a rich table and as a JSON report.

Typical usage example:

    report.print_table(results, Console())
    report.write_json(Path("smoke.json"), report.to_dict(results, target))
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from smoke_tests.checks import FAIL, PASS, SKIP, WARN, CheckResult
from smoke_tests.hints import Hint

_STYLES = {PASS: "green", FAIL: "bold red", SKIP: "yellow", WARN: "bold yellow"}


def status_label(result: CheckResult) -> str:
    """Returns PASS/FAIL/SKIP/WARN, marking failures that do not set the exit code."""
    label = result.status.upper()
    return (
        label + " (non-gating)"
        if result.status == FAIL and not result.gating
        else label
    )


def print_table(results: list[CheckResult], console: Console) -> None:
    """Prints one row per check, then a hint line for each recognised error."""
    table = Table(title="TF Serving smoke test", show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("seconds", justify="right")
    table.add_column("detail", overflow="fold")
    for result in results:
        style = _STYLES.get(result.status, "")
        table.add_row(
            result.name,
            f"[{style}]{status_label(result)}[/{style}]",
            f"{result.seconds:.2f}",
            result.detail,
            end_section=False,
        )
    console.print(table)
    for hint, names in grouped_hints(results):
        console.print(f"[bold]hint[/bold] {hint.key} ({', '.join(names)}): {hint.fix}")
    counts = summary(results)
    verdict = "FAILED" if counts["failed"] else "PASSED"
    console.print(
        f"{verdict}: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped"
        + (f", {counts['non_gating']} non-gating" if counts["non_gating"] else "")
        + (f", {counts['warnings']} warning(s)" if counts["warnings"] else "")
    )


def grouped_hints(results: list[CheckResult]) -> list[tuple[Hint, list[str]]]:
    """Returns each hint once, with the checks whose failure it explains."""
    groups: dict[str, tuple[Hint, list[str]]] = {}
    for result in results:
        for hint in result.hints:
            groups.setdefault(hint.key, (hint, []))[1].append(result.name)
    return list(groups.values())


def summary(results: list[CheckResult]) -> dict[str, int]:
    """Counts passed, failed (gating), non-gating failures, skips and warnings."""
    return {
        "passed": sum(r.status == PASS for r in results),
        "failed": sum(r.failed for r in results),
        "non_gating": sum(r.status == FAIL and not r.gating for r in results),
        "skipped": sum(r.status == SKIP for r in results),
        "warnings": sum(r.status == WARN for r in results),
    }


def to_dict(
    results: list[CheckResult], target: dict[str, Any], exit_code: int
) -> dict[str, Any]:
    """Builds the JSON report: target, summary, exit code and every check."""
    return {
        "tool": "smoke_tests",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "target": target,
        "exit_code": exit_code,
        "summary": summary(results),
        "checks": [
            {
                "name": r.name,
                "status": r.status,
                "gating": r.gating,
                "seconds": round(r.seconds, 4),
                "detail": r.detail,
                "hints": [{"key": h.key, "fix": h.fix} for h in r.hints],
            }
            for r in results
        ],
    }


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Writes the report with a trailing newline, creating parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", "utf-8")
