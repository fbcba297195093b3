"""tfs-fetch against a real S3 API server (moto server process on loopback)."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pytest
import requests

from model_fetch.cli import main
from tests.model_fetch.conftest import PREFIX, S3Models, manifest_for, moto_server, stop

pytestmark = pytest.mark.standin


def fetch(models: S3Models, dest: Path, *extra: str) -> int:
    return main(
        [
            "--source",
            models.source,
            "--dest",
            str(dest),
            "--endpoint-url",
            models.endpoint,
            *extra,
        ]
    )


def listing(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def same_tree(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all(
        filecmp.cmp(a / f, b / f, shallow=False) for f in files_a
    )


def test_fetches_every_version_byte_for_byte(s3_models: S3Models, tmp_path, capsys):
    dest = tmp_path / "fashion_mnist"
    assert fetch(s3_models, dest) == 0
    assert listing(dest) == ["1", "2"]
    assert same_tree(dest / "2", s3_models.versions[2])
    assert "fetched versions [1, 2]" in capsys.readouterr().out


def test_fetched_versions_load_and_predict_in_the_standin(
    s3_models: S3Models, tmp_path, standin_server_factory
):
    dest = tmp_path / "fashion_mnist"
    assert fetch(s3_models, dest, "--latest", "1") == 0
    assert listing(dest) == ["2"]
    server = standin_server_factory(dest)
    extra = dest / "2" / "assets.extra"
    request = json.loads((extra / "sample_request.json").read_text())
    golden = json.loads((extra / "golden_outputs.json").read_text())["predictions"]
    reply = requests.post(f"{server.model_url}:predict", json=request, timeout=30)
    assert reply.status_code == 200, reply.text
    np.testing.assert_allclose(
        reply.json()["predictions"], golden, rtol=1e-4, atol=1e-5
    )


def test_selected_versions_only_and_existing_ones_untouched(s3_models, tmp_path):
    dest = tmp_path / "m"
    (dest / "1").mkdir(parents=True)
    (dest / "1" / "marker").write_text("mine")
    assert fetch(s3_models, dest, "--versions", "1,2") == 0
    assert (dest / "1" / "marker").read_text() == "mine"
    assert not (dest / "1" / "saved_model.pb").exists()
    assert (dest / "2" / "saved_model.pb").is_file()


def test_a_matching_manifest_passes(s3_models: S3Models, tmp_path):
    s3_models.put(f"{PREFIX}/SHA256SUMS", manifest_for(s3_models.versions).encode())
    assert fetch(s3_models, tmp_path / "m") == 0
    assert listing(tmp_path / "m") == ["1", "2"]


def test_a_checksum_mismatch_fails_and_leaves_nothing(s3_models, tmp_path, capsys):
    manifest = manifest_for(s3_models.versions).splitlines()
    digest, name = manifest[0].split("  ", 1)
    manifest[0] = f"{'0' * 64}  {name}"
    s3_models.put(f"{PREFIX}/SHA256SUMS", ("\n".join(manifest) + "\n").encode())
    dest = tmp_path / "m"
    assert fetch(s3_models, dest) == 1
    err = capsys.readouterr().err
    assert f"checksum mismatch for {name}" in err and "upload it again" in err
    assert listing(dest) == []


def test_an_object_missing_from_the_manifest_is_refused(s3_models, tmp_path, capsys):
    s3_models.put(f"{PREFIX}/SHA256SUMS", manifest_for(s3_models.versions).encode())
    s3_models.put(f"{PREFIX}/2/stray.txt", b"not in the manifest")
    assert fetch(s3_models, tmp_path / "m", "--versions", "2") == 1
    assert "2/stray.txt is not listed in SHA256SUMS" in capsys.readouterr().err
    assert listing(tmp_path / "m") == []


def test_a_version_without_saved_model_is_refused(s3_models, tmp_path, capsys):
    s3_models.put(f"{PREFIX}/3/variables/variables.index", b"x")
    assert fetch(s3_models, tmp_path / "m", "--versions", "3") == 1
    assert "version 3 has no saved_model.pb" in capsys.readouterr().err
    assert listing(tmp_path / "m") == []


def test_unknown_versions_and_empty_prefixes_name_the_fix(s3_models, tmp_path, capsys):
    assert fetch(s3_models, tmp_path / "m", "--versions", "7") == 1
    assert (
        "versions [7] are not in the source (it has [1, 2])" in capsys.readouterr().err
    )
    empty = main(
        [
            "--source",
            "s3://models/nothing-here",
            "--dest",
            str(tmp_path / "e"),
            "--endpoint-url",
            s3_models.endpoint,
        ]
    )
    assert empty == 1
    assert "no numbered version directories" in capsys.readouterr().err


def test_a_missing_bucket_is_named(s3_models, tmp_path, capsys):
    code = main(
        [
            "--source",
            "s3://no-such-bucket/x",
            "--dest",
            str(tmp_path / "m"),
            "--endpoint-url",
            s3_models.endpoint,
        ]
    )
    assert code == 1
    assert "bucket 'no-such-bucket' does not exist" in capsys.readouterr().err


def test_missing_credentials_point_at_the_secret(
    s3_models, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert fetch(s3_models, tmp_path / "m") == 1
    err = capsys.readouterr().err
    assert "no S3 credentials" in err and "modelFetch.credentialsSecret" in err


def test_rejected_credentials_are_explained(tmp_path, capsys, monkeypatch, aws_env):
    """A moto server that enforces authentication refuses unknown keys."""
    monkeypatch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "0")
    proc, endpoint = moto_server(tmp_path)
    try:
        code = main(
            [
                "--source",
                "s3://models/x",
                "--dest",
                str(tmp_path / "m"),
                "--endpoint-url",
                endpoint,
                "--timeout",
                "10",
            ]
        )
    finally:
        stop(proc)
    assert code == 1
    err = capsys.readouterr().err
    assert "S3 refused access" in err and "check the credentials" in err


def test_an_unreachable_endpoint_is_named(tmp_path, capsys, aws_env):
    code = main(
        [
            "--source",
            "s3://models/x",
            "--dest",
            str(tmp_path / "m"),
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--timeout",
            "2",
        ]
    )
    assert code == 1
    assert "cannot reach the S3 endpoint" in capsys.readouterr().err


def test_credentials_from_a_mounted_secret_directory(s3_models, tmp_path, monkeypatch):
    secret = tmp_path / "secret"
    secret.mkdir()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        (secret / name).write_text("testing\n")
        monkeypatch.delenv(name)
    (secret / "..data").mkdir()  # kubelet's atomic-writer directories are skipped
    assert fetch(s3_models, tmp_path / "m", "--credentials-dir", str(secret)) == 0
    assert listing(tmp_path / "m") == ["1", "2"]
