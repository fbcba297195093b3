"""Lint the chart's generated README against the chart (`make lint`).

- every top-level key of values.yaml has a row in the values table (helm-docs
  omits keys without a ``# --`` comment);
- every ``ci/*-values.yaml`` scenario has a row in the Scenarios table.

Exit 1 with one line per problem, naming the fix.

Typical usage example:

    python3 hack/verify/lint_docs.py
"""

import re
import sys
from pathlib import Path

import yaml

CHART_DIR = Path(__file__).resolve().parents[2] / "charts" / "tf-serving"


def problems(chart_dir: Path = CHART_DIR) -> list[str]:
    """Returns what the chart README lacks, one line each."""
    readme = (chart_dir / "README.md").read_text(encoding="utf-8")
    values = yaml.safe_load((chart_dir / "values.yaml").read_text(encoding="utf-8"))
    rows = re.findall(r"^\| ([A-Za-z0-9_.\[\]]+) \|", readme, flags=re.M)
    found = [
        f"values.yaml key {key!r} has no row in the values table: give it a "
        "`# --` comment and run `make docs`"
        for key in values
        if not any(row == key or row.startswith(key + ".") for row in rows)
    ]
    found += [
        f"{scenario.name} is missing from the Scenarios table: add a row to "
        "charts/tf-serving/README.md.gotmpl and run `make docs`"
        for scenario in sorted((chart_dir / "ci").glob("*-values.yaml"))
        if f"`{scenario.name}`" not in readme
    ]
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(f"[lint-docs] {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
