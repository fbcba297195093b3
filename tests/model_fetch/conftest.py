"""Fixtures for model_fetch: a real S3 API server (moto in server mode) and a bucket.

The server is a separate `python -m moto.server` process on 127.0.0.1, spoken to
over HTTP by boto3 exactly as an S3-compatible endpoint would be.

Typical usage example:

    def test_x(s3_models): ...   # s3://models/fashion_mnist holds versions 1 and 2
"""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.loopback import free_port
from tests.processes import start_server, stop  # noqa: F401  (used by the tests)
from tests.standin_fixtures import (  # noqa: F401  (fixtures used by the tests)
    REPO_ROOT,
    standin_server_factory,
)

BUCKET = "models"
PREFIX = "fashion_mnist"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def moto_server(tmp: Path, host: str = "127.0.0.1") -> tuple[subprocess.Popen, str]:
    """A moto S3 server process; returns (process, endpoint URL)."""
    port = free_port()
    url = f"http://{host}:{port}"
    argv = [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]
    return start_server(argv, url, tmp / f"moto-{port}.log"), url


@dataclasses.dataclass
class S3Models:
    """The bucket, its endpoint and the source version directories uploaded."""

    endpoint: str
    source: str
    versions: dict[int, Path]
    client: object

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=BUCKET, Key=key, Body=body)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=BUCKET, Key=key)


def upload_version(client, version_dir: Path, prefix: str, version: int) -> list[str]:
    """Uploads one SavedModel directory as <prefix>/<version>/...; returns the keys."""
    keys = []
    for path in sorted(p for p in version_dir.rglob("*") if p.is_file()):
        key = f"{prefix}/{version}/{path.relative_to(version_dir).as_posix()}"
        client.upload_file(str(path), BUCKET, key)
        keys.append(key)
    return keys


def manifest_for(versions: dict[int, Path]) -> str:
    """SHA256SUMS text for the uploaded versions (paths relative to the prefix)."""
    lines = []
    for version, root in sorted(versions.items()):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f"{digest}  {version}/{path.relative_to(root).as_posix()}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test credentials for moto; no shared config files."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of a moto S3 server for the whole session."""
    proc, url = moto_server(tmp_path_factory.mktemp("moto"))
    yield url
    stop(proc)


@pytest.fixture
def s3_models(
    moto_endpoint: str, fashion_mnist_base_path: Path, aws_env: None
) -> Iterator[S3Models]:
    """A fresh bucket holding the exported model as versions 1 and 2."""
    import boto3

    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.create_bucket(Bucket=BUCKET)
    version_one = fashion_mnist_base_path / "1"
    versions = {1: version_one, 2: version_one}
    for version, root in versions.items():
        upload_version(client, root, PREFIX, version)
    yield S3Models(moto_endpoint, f"s3://{BUCKET}/{PREFIX}", versions, client)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture(scope="session")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A directory served by `python -m http.server` on loopback: (dir, base URL)."""
    root = tmp_path_factory.mktemp("http-root")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    argv += ["--directory", str(root)]
    proc = start_server(argv, url, root.parent / "http.log")
    yield root, url
    stop(proc)
