"""Class names from export metadata, a names file, or indexes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.labels import ClassNames, ClassNamesError, label, read_names_file


def test_names_come_from_the_answering_versions_export_metadata(tmp_path: Path) -> None:
    for version, names in ((1, ["a", "b"]), (2, ["c", "d"])):
        extra = tmp_path / str(version) / "assets.extra"
        extra.mkdir(parents=True)
        (extra / "export_metadata.json").write_text(json.dumps({"class_names": names}))
    lookup = ClassNames(model_base_path=tmp_path)
    assert lookup.for_version(1) == ["a", "b"]
    assert lookup.for_version(2) == ["c", "d"]
    assert lookup.for_version(3) is None


def test_a_names_file_overrides_metadata(tmp_path: Path) -> None:
    (tmp_path / "names.txt").write_text("cat\n\ndog\n")
    (tmp_path / "names.json").write_text('["x", "y"]')
    assert read_names_file(tmp_path / "names.txt") == ["cat", "dog"]
    assert ClassNames(names_file=tmp_path / "names.json").for_version(7) == ["x", "y"]


def test_a_broken_names_file_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "names.json").write_text("[not json")
    with pytest.raises(ClassNamesError, match="names.json is not a JSON list"):
        read_names_file(tmp_path / "names.json")


def test_unnamed_indexes_fall_back_to_numbers() -> None:
    assert label(None, 4) == "4"
    assert label(["a"], 3) == "3"
    assert label(["a", "b"], 1) == "b"
