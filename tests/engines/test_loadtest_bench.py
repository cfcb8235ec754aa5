"""The load test with vLLM's own benchmark client: the runner the Job runs calls the real
`vllm bench serve` (vLLM 0.33 in .venv-engines) with the arguments the stack emits, against
an OpenAI-compatible fake on loopback, then judges the result vLLM wrote."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from infra.config import LoadTestConfig
from infra.manifests.loadtest import bench_args
from infra.root import PROJECT_ROOT
from tests.loopback import serve

ENGINES = PROJECT_ROOT / ".venv-engines" / "bin"
RUNNER = PROJECT_ROOT / "loadtest" / "runner.py"
KEY = "test-client-key"
MODEL = "qwen"
TOKENS_PER_REPLY = 4


@dataclass
class Served:
    delay_seconds: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # paths asked without the key


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.headers.get("Authorization") != f"Bearer {KEY}":
                # As the gateway answers without a key (vLLM's client probes /tokenize
                # without one, and skips prompt alignment when refused).
                served.refused.append(self.path)
                self.send_error(401)
                return
            served.requests.append(body)
            if self.path != "/v1/chat/completions" or body.get("model") != MODEL:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            time.sleep(served.delay_seconds)
            for i in range(TOKENS_PER_REPLY):
                delta = {"choices": [{"index": 0, "delta": {"content": f" w{i + 1}"}}]}
                self.wfile.write(f"data: {json.dumps(delta)}\n\n".encode())
                self.wfile.flush()
            usage = {"choices": [], "usage": {"prompt_tokens": 32, "completion_tokens": 4}}
            self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())

    return Handler


@contextmanager
def openai_fake(served: Served) -> Iterator[str]:
    with serve(_handler(served)) as url:
        yield url


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tokenizer")
    script = Path(__file__).with_name("make_tokenizer.py")
    subprocess.run([ENGINES / "python", script, folder], check=True)
    return folder


def run_job(base_url: str, tokenizer: Path, slo_ms: int) -> subprocess.CompletedProcess[str]:
    """The Job's container, minus the cluster: same runner, same arguments, same env."""
    lt = LoadTestConfig(enabled=True, input_len=32, output_len=TOKENS_PER_REPLY, num_prompts=6,
                        max_concurrency=2)  # fmt: skip
    args = bench_args(lt, base_url=base_url, model=MODEL, tokenizer=str(tokenizer))
    env = {
        "PATH": f"{ENGINES}:{os.environ['PATH']}",
        "HOME": str(tokenizer.parent),
        "HF_HUB_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "LOADTEST_ARGS": json.dumps(args),
        "LOADTEST_TTFT_P95_MS": str(slo_ms),
        "OPENAI_API_KEY": KEY,
    }
    return subprocess.run(
        [ENGINES / "python", RUNNER],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _summary(stdout: str) -> dict[str, Any]:
    [line] = [x for x in stdout.splitlines() if x.startswith('{"loadtest"')]
    return dict(json.loads(line)["loadtest"])


def test_vllms_benchmark_client_runs_with_the_stacks_arguments(tokenizer: Path) -> None:
    served = Served()
    with openai_fake(served) as url:
        done = run_job(url, tokenizer, slo_ms=1500)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = _summary(done.stdout)
    assert summary["verdict"] == "PASS" and summary["completed"] == 6 and summary["failed"] == 0
    for key in ("p50_ttft_ms", "p95_ttft_ms", "p99_ttft_ms", "p95_itl_ms", "request_throughput"):
        assert key in summary, key
    # Every completion carried the client's key; only the optional probe went without.
    assert len(served.requests) >= 6  # (plus vLLM's own warm-up request, if any)
    assert set(served.refused) <= {"/tokenize"}
    assert all(r["max_completion_tokens"] == TOKENS_PER_REPLY for r in served.requests)


def test_a_missed_ttft_objective_fails_the_job(tokenizer: Path) -> None:
    served = Served(delay_seconds=0.05)
    with openai_fake(served) as url:
        done = run_job(url, tokenizer, slo_ms=10)
    assert done.returncode == 1, done.stderr[-2000:]
    summary = _summary(done.stdout)
    assert summary["verdict"] == "FAIL"
    assert any(p.startswith("P95 TTFT") for p in summary["problems"])
