"""hack/verify/lint_docs.py finds what the chart README lacks (`make lint` runs it)."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "hack" / "verify"))
import lint_docs  # noqa: E402

sys.path.pop(0)


def test_the_chart_readme_is_complete():
    assert lint_docs.problems() == []


def test_an_undocumented_value_and_scenario_are_named_with_the_fix(tmp_path):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "01-default-values.yaml").write_text("{}\n")
    (tmp_path / "ci" / "02-new-values.yaml").write_text("{}\n")
    (tmp_path / "values.yaml").write_text("image: {}\nreplicaCount: 1\n")
    (tmp_path / "README.md").write_text(
        "| image.tag | string |\n\n| `01-default-values.yaml` | x |\n"
    )
    found = lint_docs.problems(tmp_path, docs_dir=tmp_path / "docs")
    assert len(found) == 2
    assert "'replicaCount'" in found[0] and "make docs" in found[0]
    assert found[1].startswith("02-new-values.yaml is missing")


def test_a_renamed_value_in_the_docs_is_named(tmp_path):
    """Only the text before Upgrading counts: the notes keep the old names."""
    (tmp_path / "ci").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "values.yaml").write_text(
        "server:\n  ports:\n    http: 8501\nresources: {}\n"
    )
    (tmp_path / "README.md").write_text(
        "| server.ports.http | int |\n| resources | object |\n"
    )
    (tmp_path / "README.md.gotmpl").write_text(
        "Set `server.ports.http=9000` and `resources.limits.cpu`; see `server.h`.\n"
        "## Upgrading\n`server.restPort` was renamed.\n"
    )
    (tmp_path / "docs" / "chart.md").write_text("Set `server.restPort: 9000`.\n")
    found = lint_docs.problems(tmp_path, docs_dir=tmp_path / "docs")
    assert found == [
        "chart.md names `server.restPort`, which values.yaml does not have: use the "
        "value's current name (chart README, Upgrading)"
    ]
