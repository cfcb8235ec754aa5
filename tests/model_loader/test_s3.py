"""The loader's S3 source and mirror against a real S3-compatible server on loopback
(moto's server: the S3 API over HTTP, as MinIO or Ceph RGW serve it)."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from model_loader.__main__ import main
from model_loader.loader import LoadError, load, model_dir
from model_loader.sources import S3Source, SourceError
from tests.model_loader.fake_servers import FakeState, fake_server
from tests.model_loader.test_loader import FILES, REPO, REV

BUCKET = "model-snapshots"
PREFIX = f"s3://{BUCKET}/models/{REPO}/{REV}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "loader",
        "AWS_SECRET_ACCESS_KEY": "loader-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    # The server keeps its buckets in this process: start every test from an empty store.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    try:
        yield client
    finally:
        server.stop()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeState]:
    state = FakeState(files=dict(FILES))
    with fake_server(state, REPO, REV) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        yield state


def mirror(tmp_path: Path) -> int:
    """The primary's snapshot job: load from the Hub, mirror into the bucket."""
    args = ["--model", REPO, "--revision", REV, "--cache", str(tmp_path / "primary")]
    return main([*args, "--mirror-to", PREFIX])


def test_snapshot_round_trip_through_s3(s3: Any, hub: FakeState, tmp_path: Path) -> None:
    assert mirror(tmp_path) == 0
    listed = S3Source(PREFIX).list_files()
    assert {f.path for f in listed} == {
        "config.json",
        "tokenizer.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    }
    assert all(f.sha256 and len(f.sha256) == 64 for f in listed)  # verified on the way in
    # A replica at the other site loads from the bucket: verified, placed atomically.
    hub.downloads.clear()
    args = ["--model", REPO, "--revision", REV, "--cache", str(tmp_path / "secondary")]
    assert main([*args, "--source", PREFIX]) == 0
    assert hub.downloads == []
    loaded = model_dir(tmp_path / "secondary", REPO, REV)
    assert (loaded / "model-00002-of-00002.safetensors").read_bytes() == b"B" * 2048
    assert not list(loaded.rglob("*.partial"))


def test_a_tampered_object_is_refused_and_nothing_lands(
    s3: Any, hub: FakeState, tmp_path: Path
) -> None:
    assert mirror(tmp_path) == 0
    key = f"models/{REPO}/{REV}/model-00001-of-00002.safetensors"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"X" * 4096, Metadata={"sha256": "0" * 64})
    target = model_dir(tmp_path / "secondary", REPO, REV)
    with pytest.raises(LoadError, match="sha256"):
        load(S3Source(PREFIX), target)
    assert not (target / "model-00001-of-00002.safetensors").exists()


def test_an_interrupted_load_resumes_with_what_is_missing(
    s3: Any, hub: FakeState, tmp_path: Path
) -> None:
    assert mirror(tmp_path) == 0
    target = model_dir(tmp_path / "secondary", REPO, REV)
    load(S3Source(PREFIX), target)
    (target / "model-00002-of-00002.safetensors").unlink()
    log: list[str] = []
    load(S3Source(PREFIX), target, log)
    assert log[0].startswith("fetching 1 of 4 files (2048 bytes)")


def test_a_missing_bucket_is_one_line(s3: Any, tmp_path: Path, capsys: Any) -> None:
    args = ["--model", REPO, "--revision", REV, "--cache", str(tmp_path)]
    assert main([*args, "--source", f"s3://no-such-bucket/models/{REPO}/{REV}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NoSuchBucket" in err[0]


def test_bad_credentials_are_one_line(
    s3: Any, hub: FakeState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert mirror(tmp_path) == 0
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")  # nothing listens
    with pytest.raises(SourceError, match="Could not connect"):
        S3Source(PREFIX).list_files()
