"""Object stores: S3-compatible (boto3) and Google Cloud Storage, behind one interface.

Credentials come from the environment the chart fills from a Secret: the standard
AWS variables (and ``AWS_ENDPOINT_URL`` or ``--endpoint-url`` for MinIO and other
S3-compatible servers), or ``GOOGLE_APPLICATION_CREDENTIALS`` for GCS.

Typical usage example:

    store = open_store(parse_source("s3://models/fashion_mnist"), endpoint_url=None)
    for key, info in store.list().items(): ...
"""

from __future__ import annotations

import base64
import dataclasses
import urllib.parse
from pathlib import Path
from typing import Protocol

from model_fetch.errors import FetchError

SCHEMES = ("s3", "gs", "http", "https")


@dataclasses.dataclass(frozen=True)
class Source:
    """A parsed source URL."""

    scheme: str
    bucket: str = ""
    prefix: str = ""
    url: str = ""


@dataclasses.dataclass(frozen=True)
class ObjectInfo:
    """One object under the prefix; md5 is hex when the store vouches for it."""

    size: int
    md5: str | None


def parse_source(url: str) -> Source:
    """Parses s3://bucket/prefix, gs://bucket/prefix or http(s)://host/x.tar.gz.

    Raises:
        FetchError: an unknown scheme or a missing bucket.
    """
    parts = urllib.parse.urlparse(url)
    if parts.scheme not in SCHEMES:
        raise FetchError(
            f"unsupported source {url!r}: use s3://bucket/prefix, gs://bucket/prefix "
            "or an https:// URL of a .tar.gz holding <version>/ directories"
        )
    if parts.scheme in ("http", "https"):
        if not parts.netloc:
            raise FetchError(f"source {url!r} has no host")
        return Source(parts.scheme, url=url)
    if not parts.netloc:
        raise FetchError(
            f"source {url!r} has no bucket: use {parts.scheme}://bucket/prefix"
        )
    return Source(parts.scheme, parts.netloc, parts.path.strip("/"))


class ObjectStore(Protocol):
    """What fetching needs from a bucket: list, download, read a small object."""

    def list(self) -> dict[str, ObjectInfo]: ...

    def download(self, key: str, path: Path) -> None: ...

    def read_text(self, key: str) -> str: ...


def _key(prefix: str, relative: str) -> str:
    return f"{prefix}/{relative}" if prefix else relative


class S3Store:
    """An S3 bucket prefix through boto3 (AWS or any S3-compatible endpoint)."""

    def __init__(
        self, source: Source, endpoint_url: str | None, timeout: float
    ) -> None:
        import boto3.session
        import botocore.config

        self.source = source
        # A new session each time: credentials come from this process's environment now.
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            config=botocore.config.Config(
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"max_attempts": 3},
            ),
        )

    def _explain(self, err: Exception) -> FetchError:
        import botocore.exceptions as bex

        where = f"s3://{self.source.bucket}/{self.source.prefix}"
        if isinstance(err, bex.NoCredentialsError):
            return FetchError(
                f"no S3 credentials for {where}: put AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY in the Secret named by "
                "modelFetch.credentialsSecret"
            )
        if isinstance(err, bex.EndpointConnectionError):
            return FetchError(
                f"cannot reach the S3 endpoint for {where}: {err}; check --endpoint-url"
            )
        if isinstance(err, bex.ClientError):
            code = err.response.get("Error", {}).get("Code", "")
            if code == "NoSuchBucket":
                return FetchError(
                    f"bucket {self.source.bucket!r} does not exist: fix the source URL"
                )
            if code in (
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "AccessDenied",
                "403",
            ):
                return FetchError(
                    f"S3 refused access to {where} ({code}): check the credentials "
                    "in the Secret and that they may list and read the prefix"
                )
            return FetchError(f"S3 error on {where}: {code}: {err}")
        return FetchError(f"S3 error on {where}: {err}")

    def list(self) -> dict[str, ObjectInfo]:
        """Relative key -> info of every object under the prefix."""
        import botocore.exceptions as bex

        prefix = f"{self.source.prefix}/" if self.source.prefix else ""
        found: dict[str, ObjectInfo] = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.source.bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    etag = item.get("ETag", "").strip('"')
                    md5 = etag if len(etag) == 32 and "-" not in etag else None
                    found[item["Key"][len(prefix) :]] = ObjectInfo(item["Size"], md5)
        except (bex.BotoCoreError, bex.ClientError) as err:
            raise self._explain(err) from err
        return found

    def download(self, key: str, path: Path) -> None:
        """Writes one object to path."""
        import botocore.exceptions as bex

        try:
            self.client.download_file(
                self.source.bucket, _key(self.source.prefix, key), str(path)
            )
        except (bex.BotoCoreError, bex.ClientError) as err:
            raise self._explain(err) from err

    def read_text(self, key: str) -> str:
        """A small object as text."""
        import botocore.exceptions as bex

        try:
            body = self.client.get_object(
                Bucket=self.source.bucket, Key=_key(self.source.prefix, key)
            )["Body"]
            return body.read().decode("utf-8")
        except (bex.BotoCoreError, bex.ClientError) as err:
            raise self._explain(err) from err


class GCSStore:
    """A GCS bucket prefix through google-cloud-storage (installed separately)."""

    def __init__(self, source: Source, timeout: float) -> None:
        try:
            from google.cloud import storage
        except ImportError as err:
            raise FetchError(
                "gs:// sources need google-cloud-storage: "
                "pip install google-cloud-storage"
            ) from err
        self.source = source
        self.timeout = timeout
        self.bucket = storage.Client().bucket(source.bucket)

    def list(self) -> dict[str, ObjectInfo]:
        """Relative key -> info (md5 from the object's base64 md5Hash)."""
        prefix = f"{self.source.prefix}/" if self.source.prefix else ""
        found = {}
        for blob in self.bucket.list_blobs(prefix=prefix, timeout=self.timeout):
            md5 = base64.b64decode(blob.md5_hash).hex() if blob.md5_hash else None
            found[blob.name[len(prefix) :]] = ObjectInfo(blob.size or 0, md5)
        return found

    def download(self, key: str, path: Path) -> None:
        """Writes one object to path."""
        blob = self.bucket.blob(_key(self.source.prefix, key))
        blob.download_to_filename(str(path), timeout=self.timeout)

    def read_text(self, key: str) -> str:
        """A small object as text."""
        blob = self.bucket.blob(_key(self.source.prefix, key))
        return blob.download_as_text(timeout=self.timeout)


def open_store(source: Source, endpoint_url: str | None, timeout: float) -> ObjectStore:
    """The store for an s3:// or gs:// source."""
    if source.scheme == "s3":
        return S3Store(source, endpoint_url, timeout)
    return GCSStore(source, timeout)
