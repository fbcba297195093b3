"""The version scan follows TF Serving's (absl::SimpleAtoi on each child's name).

Typical usage example:

    .venv/bin/python -m pytest tests/tfserving_contract/test_layout.py -q
"""

import pytest

from tfserving_contract import layout


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("1", 1),
        ("00012", 12),
        ("+3", 3),
        ("-2", -2),
        (" 7\n", 7),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", None),
        ("1.tmp", None),
        (".tmp-1", None),
        ("x", None),
        ("", None),
        ("+", None),
        ("\u0663", None),  # ARABIC-INDIC DIGIT THREE: str.isdigit() says yes
        ("\u00b2", None),  # SUPERSCRIPT TWO: str.isdigit() says yes
    ],
)
def test_parse_version_is_simple_atoi(name, version):
    assert layout.parse_version(name) == version


def test_version_paths_keep_the_real_child_names_in_number_order(tmp_path):
    for name in ("10", "002", "x", ".tmp-3", "\u0663"):
        (tmp_path / name).mkdir()
    (tmp_path / "5").write_text("not a SavedModel")  # the server tries it too
    found = layout.version_paths(tmp_path)
    assert found == {2: tmp_path / "002", 5: tmp_path / "5", 10: tmp_path / "10"}
    assert layout.latest_version(tmp_path) == 10
    assert layout.version_dirs(tmp_path) == {2: tmp_path / "002", 10: tmp_path / "10"}


def test_two_children_with_one_number_are_an_error_naming_both(tmp_path):
    (tmp_path / "7").mkdir()
    (tmp_path / "007").mkdir()
    with pytest.raises(layout.LayoutError, match=r"007.* and .*7 are both version 7"):
        layout.version_paths(tmp_path)


def test_a_missing_base_path_is_an_error(tmp_path):
    with pytest.raises(layout.LayoutError, match="is not a directory"):
        layout.version_paths(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    assert layout.latest_version(tmp_path / "empty") is None
