"""HTTP(S) tarballs (local http.server), URL parsing, manifests and selection."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from model_fetch.checksums import parse_manifest
from model_fetch.cli import main
from model_fetch.errors import FetchError
from model_fetch.layout import select_versions
from model_fetch.stores import parse_source


def make_tarball(path: Path, version_dirs: dict[str, Path], extra: dict[str, bytes]):
    """Writes a .tar.gz with each dir under its arcname plus raw members."""
    with tarfile.open(path, "w:gz") as tar:
        for arcname, root in version_dirs.items():
            tar.add(root, arcname=arcname)
        for name, body in extra.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tarball(http_root, fashion_mnist_base_path: Path):
    root, url = http_root
    digest = make_tarball(
        root / "model.tar.gz",
        {
            "fashion_mnist/1": fashion_mnist_base_path / "1",
            "fashion_mnist/2": fashion_mnist_base_path / "1",
        },
        {},
    )
    return f"{url}/model.tar.gz", digest


def test_a_verified_tarball_is_placed(tarball, tmp_path):
    url, digest = tarball
    dest = tmp_path / "m"
    assert main(["--source", url, "--sha256", digest, "--dest", str(dest)]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["1", "2"]
    assert (dest / "2" / "saved_model.pb").is_file()
    assert oct((dest / "2").stat().st_mode & 0o777) == "0o755"


def test_a_wrong_sha256_fails_and_leaves_nothing(tarball, tmp_path, capsys):
    url, _ = tarball
    dest = tmp_path / "m"
    assert main(["--source", url, "--sha256", "f" * 64, "--dest", str(dest)]) == 1
    assert "checksum mismatch" in capsys.readouterr().err
    assert list(dest.iterdir()) == []


def test_path_traversal_members_are_rejected(
    http_root, fashion_mnist_base_path, tmp_path, capsys
):
    root, url = http_root
    make_tarball(
        root / "evil.tar.gz",
        {"1": fashion_mnist_base_path / "1"},
        {"../../escaped.txt": b"owned"},
    )
    dest = tmp_path / "m"
    assert main(["--source", f"{url}/evil.tar.gz", "--dest", str(dest)]) == 1
    assert "unsafe tarball member" in capsys.readouterr().err
    assert not (tmp_path / "escaped.txt").exists()
    assert list(dest.iterdir()) == []


def test_http_errors_name_the_status(http_root, tmp_path, capsys):
    _, url = http_root
    assert (
        main(["--source", f"{url}/missing.tar.gz", "--dest", str(tmp_path / "m")]) == 1
    )
    assert "answered HTTP 404" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "unsupported source"),
        ("s3:///prefix", "has no bucket"),
        ("models/fashion_mnist", "unsupported source"),
    ],
)
def test_bad_source_urls(url, message):
    with pytest.raises(FetchError, match=message):
        parse_source(url)


def test_source_parts():
    source = parse_source("gs://bucket/a/b/")
    assert (source.scheme, source.bucket, source.prefix) == ("gs", "bucket", "a/b")


def test_gcs_without_its_client_library_says_what_to_install(tmp_path, capsys):
    try:
        import google.cloud.storage  # noqa: F401
    except ImportError:
        code = main(["--source", "gs://bucket/m", "--dest", str(tmp_path / "m")])
        assert code == 1
        assert "pip install google-cloud-storage" in capsys.readouterr().err
    else:
        pytest.skip(
            "google-cloud-storage is installed; its error path is not reachable"
        )


def test_manifest_parsing():
    digest = "a" * 64
    assert parse_manifest(f"{digest}  1/saved_model.pb\n{digest} *./2/x\n") == {
        "1/saved_model.pb": digest,
        "2/x": digest,
    }
    with pytest.raises(FetchError, match="line 1 is not"):
        parse_manifest("xyz 1/saved_model.pb")


def test_version_selection():
    assert select_versions([3, 1, 2], None, None) == [1, 2, 3]
    assert select_versions([3, 1, 2], None, 2) == [2, 3]
    assert select_versions([3, 1, 2], [2, 2], None) == [2]
    with pytest.raises(FetchError, match="no numbered version"):
        select_versions([], None, None)


def test_usage_errors_exit_2(tmp_path):
    with pytest.raises(SystemExit) as err:
        main(["--source", "s3://b/p", "--dest", str(tmp_path), "--versions", "a,b"])
    assert err.value.code == 2
