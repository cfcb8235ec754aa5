"""The model loader against loopback fakes of the Hub and GCS."""

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from model_loader.__main__ import main
from model_loader.loader import MARKER, LoadError, exclusive, load, make_plan, model_dir
from model_loader.sources import GcsSource, HubSource
from tests.model_loader.fake_servers import FakeState, fake_server

REPO, REV = "acme/tiny-model", "0123456789abcdef0123456789abcdef01234567"
FILES = {
    "config.json": b'{"hidden_size": 8}',
    "tokenizer.json": b'{"version": "1.0"}',
    "model-00001-of-00002.safetensors": b"A" * 4096,
    "model-00002-of-00002.safetensors": b"B" * 2048,
    "pytorch_model.bin": b"C" * 9000,  # duplicate weights: skipped
    "original/consolidated.00.pth": b"D" * 9000,  # Llama's original/: skipped
}


@pytest.fixture
def hub() -> Iterator[tuple[FakeState, str]]:
    state = FakeState(files=dict(FILES))
    with fake_server(state, REPO, REV) as url:
        yield state, url


def source(url: str) -> HubSource:
    return HubSource(REPO, REV, endpoint=url)


def test_plan_fetches_weights_configs_and_tokenizer_only(
    hub: tuple[FakeState, str], tmp_path: Path
) -> None:
    _, url = hub
    plan = make_plan(source(url), model_dir(tmp_path, REPO, REV))
    assert [f.path for f in plan.fetch] == [
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "tokenizer.json",
    ]
    weights = next(f for f in plan.fetch if f.path.endswith("00001-of-00002.safetensors"))
    assert weights.sha256 and weights.size == 4096


def test_load_writes_verified_files_at_the_path_vllm_is_given(
    hub: tuple[FakeState, str], tmp_path: Path
) -> None:
    _, url = hub
    target = model_dir(tmp_path, REPO, REV)
    load(source(url), target)
    assert target == tmp_path / "acme" / "tiny-model" / REV
    assert (target / "model-00002-of-00002.safetensors").read_bytes() == b"B" * 2048
    marker = json.loads((target / MARKER).read_text())
    assert set(marker["files"]) == {
        "config.json",
        "tokenizer.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    }
    assert not list(target.rglob("*.partial"))


def test_second_run_with_a_complete_cache_downloads_nothing(
    hub: tuple[FakeState, str], tmp_path: Path
) -> None:
    state, url = hub
    target = model_dir(tmp_path, REPO, REV)
    load(source(url), target)
    state.downloads.clear()
    log: list[str] = []
    assert load(source(url), target, log).complete
    assert state.downloads == [] and log == [f"cache complete: 4 files in {target}"]


def test_a_damaged_cache_fetches_only_what_is_wrong(
    hub: tuple[FakeState, str], tmp_path: Path
) -> None:
    state, url = hub
    target = model_dir(tmp_path, REPO, REV)
    load(source(url), target)
    (target / "tokenizer.json").unlink()
    (target / "model-00001-of-00002.safetensors").write_bytes(b"A" * 10)  # truncated
    state.downloads.clear()
    load(source(url), target)
    assert sorted(state.downloads) == ["model-00001-of-00002.safetensors", "tokenizer.json"]


def test_checksum_mismatch_fails_and_leaves_nothing_in_place(
    hub: tuple[FakeState, str], tmp_path: Path
) -> None:
    state, url = hub
    state.corrupt.add("model-00001-of-00002.safetensors")
    target = model_dir(tmp_path, REPO, REV)
    with pytest.raises(LoadError, match=r"sha256 [0-9a-f]{64} does not match the source's"):
        load(source(url), target)
    assert not (target / "model-00001-of-00002.safetensors").exists()
    assert (
        "model-00001-of-00002.safetensors" not in json.loads((target / MARKER).read_text())["files"]
    )
    assert not list(target.rglob("*.partial"))
    # The files verified before the failure are kept: the retry fetches only the rest.
    state.corrupt.clear()
    state.downloads.clear()
    load(source(url), target)
    assert state.downloads == [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "tokenizer.json",
    ]


def test_unknown_repository_is_a_clear_failure(hub: tuple[FakeState, str], tmp_path: Path) -> None:
    _, url = hub
    with pytest.raises(LoadError, match=r"cannot list .*acme/other@main: .*HTTP 404"):
        load(HubSource("acme/other", "main", endpoint=url), tmp_path)


def test_unreachable_source_is_a_clear_failure(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"cannot list http://127\.0\.0\.1:9/"):
        load(HubSource(REPO, REV, endpoint="http://127.0.0.1:9"), tmp_path)


def test_a_repository_without_safetensors_is_refused(tmp_path: Path) -> None:
    state = FakeState(files={"config.json": b"{}", "pytorch_model.bin": b"x"})
    with fake_server(state, REPO, REV) as url, pytest.raises(LoadError, match=r"no \.safetensors"):
        load(source(url), tmp_path)


def test_cli_exit_codes_and_one_line_errors(
    hub: tuple[FakeState, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, url = hub
    monkeypatch.setenv("HF_ENDPOINT", url)
    args = ["--model", REPO, "--revision", REV, "--cache", str(tmp_path)]
    assert main(args) == 0
    assert "model-loader: cache complete: 4 files" in capsys.readouterr().out
    state.files.pop("model-00002-of-00002.safetensors")
    state.files["model-00003.safetensors"] = b"x"
    state.corrupt.add("model-00003.safetensors")
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"model-loader: {REPO}@{REV}: ")
    assert main(["--cache", str(tmp_path)]) == 2


def test_gcs_snapshot_round_trip(
    hub: tuple[FakeState, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = hub
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
    prefix = f"gs://snapshots/models/{REPO}/{REV}"
    # The primary's snapshot job: load from the hub, mirror into the bucket.
    assert (
        main(
            [
                "--model",
                REPO,
                "--revision",
                REV,
                "--cache",
                str(tmp_path / "a"),
                "--mirror-to",
                prefix,
            ]
        )
        == 0
    )
    assert len(state.objects) == 4
    # A DR replica: load from the bucket (paginated listing, md5-verified).
    state.downloads.clear()
    assert (
        main(
            ["--model", REPO, "--revision", REV, "--cache", str(tmp_path / "b"), "--source", prefix]
        )
        == 0
    )
    assert len(state.downloads) == 4
    loaded = model_dir(tmp_path / "b", REPO, REV)
    assert (loaded / "model-00001-of-00002.safetensors").read_bytes() == b"A" * 4096
    files = GcsSource(prefix).list_files()
    assert all(f.md5 for f in files) and len(files) == 4


def test_paths_outside_the_model_directory_are_refused(tmp_path: Path) -> None:
    state = FakeState(files={"../escape.safetensors": b"x", "a.safetensors": b"y"})
    with fake_server(state, REPO, REV) as url, pytest.raises(LoadError, match="outside"):
        load(source(url), tmp_path / "m")


def test_loaders_sharing_a_cache_download_each_file_once(
    hub: tuple[FakeState, str], tmp_path: Path
) -> None:
    """Replicas (or deployments of one model) on a shared volume start their loaders at
    once: the first fills the cache, the others wait for it and download nothing."""
    state, url = hub
    target = model_dir(tmp_path, REPO, REV)
    logs: list[list[str]] = [[] for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        plans = list(pool.map(lambda log: load(source(url), target, log), logs))
    weights = [p for p in state.downloads if p.endswith(".safetensors")]
    assert sorted(weights) == [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ]
    assert sum(not p.complete for p in plans) == 1  # one loader fetched, three found it done
    assert all(log[-1] == f"cache complete: 4 files in {target}" for log in logs)


def test_a_held_lock_makes_the_loader_wait_and_say_so(
    hub: tuple[FakeState, str], tmp_path: Path
) -> None:
    _, url = hub
    target = model_dir(tmp_path, REPO, REV)
    log: list[str] = []
    holder = exclusive(target, [])
    holder.__enter__()
    waiting = threading.Thread(target=load, args=(source(url), target, log))
    waiting.start()
    waiting.join(timeout=0.3)
    assert waiting.is_alive() and log == [f"waiting for another loader filling {target}"]
    holder.__exit__(None, None, None)
    waiting.join(timeout=10)
    assert not waiting.is_alive() and log[-1] == f"cache complete: 4 files in {target}"
