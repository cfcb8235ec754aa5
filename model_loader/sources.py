"""Where weights come from: the Hugging Face Hub, or a snapshot in a GCS bucket or in any
S3-compatible store (AWS, MinIO, Ceph RGW). Hub and GCS use the standard library only (the
loader also runs from a ConfigMap on the vLLM image); S3 uses boto3, which the model-loader
image installs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

CHUNK = 8 * 1024 * 1024
S3_ATTEMPTS = 5  # boto3's standard retry mode: throttling and transient errors
TIMEOUT_SECONDS = 60
GCP_METADATA_TOKEN = (
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"
)


class SourceError(Exception):
    """A source could not list or fetch: the message says which URL and why."""


@dataclass(frozen=True)
class RemoteFile:
    path: str  # relative to the model root
    size: int
    sha256: str | None = None  # hex, when the source publishes it (hub LFS files)
    md5: str | None = None  # hex (GCS objects)


class Source(Protocol):
    description: str

    def list_files(self) -> list[RemoteFile]: ...

    def open(self, path: str) -> Iterator[bytes]: ...


def _get(url: str, headers: dict[str, str]) -> urllib.request.Request:
    return urllib.request.Request(url, headers=headers)


def _read_json(request: urllib.request.Request) -> object:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{request.full_url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SourceError(f"{request.full_url}: {exc}") from None


def _stream(request: urllib.request.Request) -> Iterator[bytes]:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            while chunk := response.read(CHUNK):
                yield chunk
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{request.full_url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SourceError(f"{request.full_url}: {exc}") from None


class HubSource:
    """A model repository at a revision, through the Hub's HTTP API."""

    def __init__(
        self, repo: str, revision: str, token: str | None = None, endpoint: str | None = None
    ) -> None:
        self.repo, self.revision = repo, revision
        self.endpoint = endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
        self.endpoint = self.endpoint.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.description = f"{self.endpoint}/{repo}@{revision}"

    def list_files(self) -> list[RemoteFile]:
        rev = urllib.parse.quote(self.revision, safe="")
        url = f"{self.endpoint}/api/models/{self.repo}/tree/{rev}?recursive=true"
        entries = _read_json(_get(url, self.headers))
        if not isinstance(entries, list):
            raise SourceError(f"{url}: expected a list of files")
        files = []
        for e in entries:
            if e.get("type") != "file":
                continue
            lfs = e.get("lfs") or {}
            files.append(RemoteFile(e["path"], int(lfs.get("size", e["size"])), lfs.get("oid")))
        return files

    def open(self, path: str) -> Iterator[bytes]:
        rev = urllib.parse.quote(self.revision, safe="")
        url = f"{self.endpoint}/{self.repo}/resolve/{rev}/{urllib.parse.quote(path)}"
        return _stream(_get(url, self.headers))


def _gcs_token() -> dict[str, str]:
    """Workload Identity's token from the metadata server; none against an emulator."""
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        return {}
    request = _get(GCP_METADATA_TOKEN, {"Metadata-Flavor": "Google"})
    token = _read_json(request)
    if not isinstance(token, dict) or "access_token" not in token:
        raise SourceError(f"{GCP_METADATA_TOKEN}: no access_token")
    return {"Authorization": f"Bearer {token['access_token']}"}


class GcsSource:
    """A snapshot under gs://bucket/prefix/, through the GCS JSON API."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme != "gs" or not parsed.netloc:
            raise SourceError(f"{url}: expected gs://BUCKET/PREFIX")
        self.bucket, self.prefix = parsed.netloc, parsed.path.strip("/") + "/"
        host = os.environ.get("STORAGE_EMULATOR_HOST", "https://storage.googleapis.com")
        self.endpoint = host.rstrip("/")
        self.description = url
        self._headers: dict[str, str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = _gcs_token()
        return self._headers

    def list_files(self) -> list[RemoteFile]:
        files: list[RemoteFile] = []
        page = ""
        while True:
            query = urllib.parse.urlencode({"prefix": self.prefix, "pageToken": page})
            url = f"{self.endpoint}/storage/v1/b/{self.bucket}/o?{query}"
            listing = _read_json(_get(url, self.headers))
            if not isinstance(listing, dict):
                raise SourceError(f"{url}: expected an object listing")
            for item in listing.get("items", []):
                md5 = base64.b64decode(item["md5Hash"]).hex() if "md5Hash" in item else None
                files.append(
                    RemoteFile(item["name"][len(self.prefix) :], int(item["size"]), md5=md5)
                )
            page = listing.get("nextPageToken", "")
            if not page:
                return files

    def open(self, path: str) -> Iterator[bytes]:
        name = urllib.parse.quote(self.prefix + path, safe="")
        url = f"{self.endpoint}/storage/v1/b/{self.bucket}/o/{name}?alt=media"
        return _stream(_get(url, self.headers))

    def upload(self, path: str, data: Iterator[bytes], size: int) -> None:
        """Write one object (the snapshot job mirrors the hub into the bucket)."""
        name = urllib.parse.quote(self.prefix + path, safe="")
        url = f"{self.endpoint}/upload/storage/v1/b/{self.bucket}/o?uploadType=media&name={name}"
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={
                **self.headers,
                "Content-Type": "application/octet-stream",
                "Content-Length": str(size),
            },
        )
        _read_json(request)

    def upload_file(self, path: str, local: Path) -> None:
        with local.open("rb") as data:
            self.upload(path, iter(lambda: data.read(CHUNK), b""), local.stat().st_size)


class S3Source:
    """A snapshot under s3://bucket/prefix/ on any S3 API. The endpoint and credentials come
    from the standard AWS environment (AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, …). Each
    object carries the sha256 of its content as metadata (the mirror writes it), so a
    replica verifies what it loads as it does from the Hub."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise SourceError(f"{url}: expected s3://BUCKET/PREFIX")
        self.bucket, self.prefix = parsed.netloc, parsed.path.strip("/") + "/"
        self.description = url
        try:
            import boto3  # noqa: PLC0415 (only S3 sources need it)
            from botocore.config import Config  # noqa: PLC0415
        except ImportError:
            raise SourceError(
                f"{url}: S3 sources need boto3: run the model-loader image (images.build)"
            ) from None
        retries = Config(retries={"max_attempts": S3_ATTEMPTS, "mode": "standard"})
        self.client = boto3.client("s3", config=retries)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            return call()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise SourceError(f"{what}: {error.get('Code')} {error.get('Message', '')}") from None
        except BotoCoreError as exc:
            raise SourceError(f"{what}: {exc}") from None

    def list_files(self) -> list[RemoteFile]:
        where = f"s3://{self.bucket}/{self.prefix}"
        pages = self._call(
            where,
            lambda: list(
                self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=self.prefix
                )
            ),
        )
        files = []
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"]
                head = self._head(key)
                sha256 = head.get("Metadata", {}).get("sha256")
                files.append(RemoteFile(key[len(self.prefix) :], int(item["Size"]), sha256))
        return files

    def _head(self, key: str) -> dict[str, Any]:
        def head() -> dict[str, Any]:
            return dict(self.client.head_object(Bucket=self.bucket, Key=key))

        return self._call(f"s3://{self.bucket}/{key}", head)

    def open(self, path: str) -> Iterator[bytes]:
        key = self.prefix + path
        where = f"s3://{self.bucket}/{key}"
        body = self._call(
            where, lambda: self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        )
        chunks = body.iter_chunks(CHUNK)
        while True:
            chunk = self._call(where, lambda: next(chunks, b""))
            if not chunk:
                return
            yield chunk

    def upload_file(self, path: str, local: Path) -> None:
        """Write one object with its sha256 (the snapshot job mirrors the Hub into S3)."""
        digest = hashlib.sha256()
        with local.open("rb") as data:
            for chunk in iter(lambda: data.read(CHUNK), b""):
                digest.update(chunk)
        key = self.prefix + path
        extra = {"Metadata": {"sha256": digest.hexdigest()}}
        self._call(
            f"s3://{self.bucket}/{key}",
            lambda: self.client.upload_file(str(local), self.bucket, key, ExtraArgs=extra),
        )


def mirror_for(url: str) -> GcsSource | S3Source:
    if url.startswith("gs://"):
        return GcsSource(url)
    if url.startswith("s3://"):
        return S3Source(url)
    raise SourceError(
        f"{url}: unknown snapshot store; use gs://BUCKET/PREFIX or s3://BUCKET/PREFIX"
    )


def source_for(url: str | None, repo: str, revision: str, token: str | None) -> Source:
    if url is None or url in ("", "hub"):
        return HubSource(repo, revision, token)
    if url.startswith(("gs://", "s3://")):
        return mirror_for(url)
    raise SourceError(
        f"{url}: unknown model source; use 'hub', gs://BUCKET/PREFIX or s3://BUCKET/PREFIX"
    )
