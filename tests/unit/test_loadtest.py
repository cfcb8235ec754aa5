"""The load test: what the stack declares, how `make loadtest` drives it, how the runner
judges and keeps a result (vLLM's own client runs in tests/engines/test_loadtest_bench.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import kubernetes_validate
import pytest

from infra import loadtest_start
from infra.config import ConfigError
from infra.engine import RunResult
from infra.plan import manifest_of
from loadtest.runner import configmap, judge, store
from policies import config as policy_config
from policies.review import review
from tests.builders import gpu_box, rendered
from tests.helpers import container, one, plan_of
from tests.loopback import serve

RESULT = {  # the aggregate keys vLLM 0.33's `bench serve --save-result` writes
    "completed": 200, "failed": 0, "duration": 61.2, "request_throughput": 3.27,
    "output_throughput": 836.1, "p50_ttft_ms": 410.0, "p95_ttft_ms": 1210.0,
    "p99_ttft_ms": 1650.0, "p95_itl_ms": 38.0, "ttfts": [0.4] * 200,
}  # fmt: skip


def with_load_test(**lt: Any) -> dict[str, Any]:
    return gpu_box(loadTest={"enabled": True, **lt})


@pytest.fixture(scope="module")
def declared() -> RunResult:
    return rendered(with_load_test(requestRate=4, numPrompts=300))


def test_the_stack_declares_a_suspended_benchmark_job_on_the_servers_image(
    declared: RunResult,
) -> None:
    cron = manifest_of(one(declared, "batch/v1:CronJob"))
    assert cron is not None
    kubernetes_validate.validate(cron, "1.31", strict=True)
    assert cron["spec"]["suspend"] is True  # it runs only when `make loadtest` starts it
    job = cron["spec"]["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] == 30 * 60
    [bench] = job["template"]["spec"]["containers"]
    env = {e["name"]: e for e in bench["env"]}
    args = json.loads(env["LOADTEST_ARGS"]["value"])
    assert args[args.index("--base-url") + 1] == "https://llm.example.com"
    assert args[args.index("--model") + 1] == "Qwen/Qwen2.5-7B-Instruct"
    assert args[args.index("--request-rate") + 1] == "4.0"
    assert args[args.index("--num-prompts") + 1] == "300"
    assert env["LOADTEST_TTFT_P95_MS"]["value"] == "1500"  # observability.slo default
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "loadtest"
    server = container(one(declared, "apps/v1:Deployment"))
    assert bench["image"] == server["image"]  # the client pinned with the server


def test_the_load_test_has_its_own_client_key_and_a_narrow_identity(
    declared: RunResult,
) -> None:
    keys = one(declared, "core/v1:Secret", "llm-gateway/llm-api-keys")
    assert "loadtest" in keys.inputs["stringData"]
    role = manifest_of(one(declared, "rbac.authorization.k8s.io/v1:Role"))
    assert role is not None
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "update", "get"]}
    ]
    found = review(declared.resources, policy_config.load("production"))
    assert not [v for v in found if v.level == "mandatory"], found


@pytest.mark.parametrize(
    ("lt", "path", "words"),
    [
        ({"model": "gpt-4"}, "loadTest.model", "not a public model name"),
        ({"inputLen": 30000, "outputLen": 4000}, "loadTest.inputLen", "exceeds the shortest"),
    ],
)
def test_a_load_test_vllm_would_refuse_is_refused(
    lt: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_of(with_load_test(**lt))
    [line] = [x for x in caught.value.lines() if f"llm-platform:{path}:" in x]
    assert words in line


def test_the_runner_judges_against_the_objective() -> None:
    assert judge(RESULT, 1500)["verdict"] == "PASS"
    slow = judge(RESULT, 1000)
    assert slow["verdict"] == "FAIL" and slow["problems"] == [
        "P95 TTFT 1210 ms > the SLO's 1000 ms"
    ]
    failed = judge({**RESULT, "failed": 3}, 1500)
    assert failed["problems"] == ["3 request(s) failed"]
    assert "ttfts" not in judge(RESULT, 1500)  # the summary keeps aggregates only


@contextmanager
def api_server(answers: list[int], seen: list[tuple[str, str, dict[str, Any]]]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _answer(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.command, self.path, body))
            assert self.headers["Authorization"] == "Bearer sa-token"
            self.send_response(answers.pop(0))
            self.end_headers()

        do_POST = do_PUT = _answer  # noqa: N815 (http.server's names)

    with serve(Handler) as url:
        yield url


def test_the_result_is_kept_in_a_configmap_named_after_the_job() -> None:
    seen: list[tuple[str, str, dict[str, Any]]] = []
    body = configmap("loadtest-20261121-101500", judge(RESULT, 1500), RESULT)
    with api_server([201, 409, 200], seen) as url:
        store(url, "llm-loadtest", body, "sa-token", None)
        store(url, "llm-loadtest", body, "sa-token", None)  # rerun: replaced, not an error
    assert [(m, p) for m, p, _ in seen] == [
        ("POST", "/api/v1/namespaces/llm-loadtest/configmaps"),
        ("POST", "/api/v1/namespaces/llm-loadtest/configmaps"),
        ("PUT", "/api/v1/namespaces/llm-loadtest/configmaps/loadtest-20261121-101500"),
    ]
    stored = seen[0][2]
    assert json.loads(stored["data"]["summary.json"])["verdict"] == "PASS"
    assert stored["metadata"]["labels"]["llm-platform.io/verdict"] == "PASS"


class FakeKubectl:
    def __init__(self, status: str, summary: str) -> None:
        self.calls: list[list[str]] = []
        self.status, self.summary = status, summary

    def __call__(self, args: list[str]) -> str:
        self.calls.append(args)
        if args[:2] == ["get", "job"]:
            return self.status
        if args[:2] == ["get", "configmap"]:
            return self.summary
        return "benchmark log\n" if args[0] == "logs" else ""


def test_make_loadtest_starts_a_job_waits_and_reports_the_verdict() -> None:
    kubectl = FakeKubectl("1,", json.dumps(judge(RESULT, 1500)))
    status, report = loadtest_start.run_load_test(kubectl, 30, sleep=lambda _: None)
    job = kubectl.calls[0][2]
    assert kubectl.calls[0] == ["create", "job", job, "--from=cronjob/loadtest"]
    assert ["logs", f"job/{job}"] in kubectl.calls
    assert status == 0 and "benchmark log" in report and '"verdict": "PASS"' in report
    failing = FakeKubectl(",1", json.dumps(judge(RESULT, 10)))
    assert loadtest_start.run_load_test(failing, 30, sleep=lambda _: None)[0] == 1


def test_a_job_that_never_ends_is_reported_not_waited_on_forever() -> None:
    with pytest.raises(loadtest_start.StartError, match="did not finish"):
        loadtest_start.run_load_test(FakeKubectl(",", ""), 1, sleep=lambda _: None)


def test_make_loadtest_on_a_stack_without_one_says_what_to_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert loadtest_start.main(["--stack", "dev"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stacks/Pulumi.dev.yaml: llm-platform:loadTest.enabled:")
