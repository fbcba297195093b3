"""Lint the chart's generated README against the chart (`make lint`).

- every top-level key of values.yaml has a row in the values table (helm-docs
  omits keys without a ``# --`` comment);
- every ``ci/*-values.yaml`` scenario has a row in the Scenarios table;
- every value named in backticks (``server.ports.http``) in the chart README's
  text before "Upgrading" and in docs/*.md exists in values.yaml, so a renamed
  value cannot linger in the docs.

Exit 1 with one line per problem, naming the fix.

Typical usage example:

    python3 hack/verify/lint_docs.py
"""

import re
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "tf-serving"
# `a.b.c` or `a.b.c=value`: a dotted value path as the docs write it (not a file name).
VALUE_PATH = re.compile(
    r"`([a-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+)(?<!\.h)(?<!\.cc)(?:=[^`]*|: [^`]*)?`"
)


def resolves(values: dict, path: str) -> bool:
    """True when the dotted ``path`` names a key of ``values``; a list or an empty map
    (free-form, such as ``resources``) takes any rest."""
    node = values
    for part in path.split("."):
        if isinstance(node, list) or node == {}:
            return True
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def stale_value_names(values: dict, texts: dict[str, str]) -> list[str]:
    """Dotted names in ``texts`` (name -> text) whose first key is a value but the
    rest is not."""
    return [
        f"{name} names `{path}`, which values.yaml does not have: use the "
        "value's current name (chart README, Upgrading)"
        for name, text in texts.items()
        for path in dict.fromkeys(VALUE_PATH.findall(text))
        if path.split(".")[0] in values and not resolves(values, path)
    ]


def problems(
    chart_dir: Path = CHART_DIR, docs_dir: Path = REPO_ROOT / "docs"
) -> list[str]:
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
    template = chart_dir / "README.md.gotmpl"
    texts = {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(docs_dir.glob("*.md"))
    }
    if template.exists():
        texts[template.name] = template.read_text(encoding="utf-8").split(
            "## Upgrading"
        )[0]
    return found + stale_value_names(values, texts)


def main() -> int:
    found = problems()
    for line in found:
        print(f"[lint-docs] {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
