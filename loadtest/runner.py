"""Run `vllm bench serve`, judge its result against the SLO, keep the result.

Runs in the load-test Job on the pinned vLLM image (standard library only, like the model
loader): the benchmark's arguments come from the stack (LOADTEST_ARGS, a JSON list), the
SLO from LOADTEST_TTFT_P95_MS. The summary is printed as one JSON line (kept by Loki) and
stored in a ConfigMap named after the Job (through the Kubernetes API, with the Job's
service account); the exit status is 0 when the SLO holds, 1 when it does not, 2 when the
benchmark could not run.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BENCH = ["vllm", "bench", "serve"]
RESULT_FILE = "result.json"
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# The aggregate figures the summary keeps (vLLM's result keys).
KEPT = (
    "completed",
    "failed",
    "duration",
    "request_throughput",
    "output_throughput",
    "total_token_throughput",
    "max_concurrent_requests",
    "mean_ttft_ms",
    "p50_ttft_ms",
    "p95_ttft_ms",
    "p99_ttft_ms",
    "mean_itl_ms",
    "p50_itl_ms",
    "p95_itl_ms",
    "p99_itl_ms",
    "mean_tpot_ms",
    "p95_tpot_ms",
)
MAX_CONFIGMAP_BYTES = 900_000  # under the API server's 1 MiB object limit
API_TIMEOUT_SECONDS = 30


def run_benchmark(args: list[str], result_dir: Path) -> dict[str, Any]:
    command = [*BENCH, *args, "--save-result", "--result-dir", str(result_dir)]
    command += ["--result-filename", RESULT_FILE]
    subprocess.run(command, check=True)
    return dict(json.loads((result_dir / RESULT_FILE).read_text()))


def judge(result: dict[str, Any], ttft_p95_ms: float) -> dict[str, Any]:
    """The summary: the kept figures, and whether the SLO held (and why not)."""
    summary = {k: result[k] for k in KEPT if k in result}
    problems = []
    p95 = result.get("p95_ttft_ms")
    if p95 is None:
        problems.append("no P95 TTFT in the result (add 95 to --metric-percentiles)")
    elif p95 > ttft_p95_ms:
        problems.append(f"P95 TTFT {p95:.0f} ms > the SLO's {ttft_p95_ms:.0f} ms")
    if result.get("failed", 0):
        problems.append(f"{result['failed']} request(s) failed")
    if not result.get("completed"):
        problems.append("no request completed")
    summary["sloTtftP95Ms"] = ttft_p95_ms
    summary["verdict"] = "FAIL" if problems else "PASS"
    summary["problems"] = problems
    return summary


def configmap(name: str, summary: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    data = {"summary.json": json.dumps(summary, indent=1, sort_keys=True)}
    full = json.dumps(result, sort_keys=True)
    if len(full) < MAX_CONFIGMAP_BYTES:
        data["result.json"] = full
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/name": "llm-loadtest",
                "app.kubernetes.io/part-of": "llm-platform",
                "llm-platform.io/verdict": summary["verdict"],
            },
        },
        "data": data,
    }


def store(api: str, namespace: str, body: dict[str, Any], token: str, context: Any) -> None:
    """Create the result ConfigMap (POST; a rerun of the same Job name replaces it)."""
    url = f"{api}/api/v1/namespaces/{namespace}/configmaps"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        urllib.request.urlopen(request, context=context, timeout=API_TIMEOUT_SECONDS).close()
    except urllib.error.HTTPError as exc:
        if exc.code != 409:
            raise
        name = body["metadata"]["name"]
        replace = urllib.request.Request(f"{url}/{name}", data=data, headers=headers, method="PUT")
        urllib.request.urlopen(replace, context=context, timeout=API_TIMEOUT_SECONDS).close()


def _in_cluster() -> tuple[str, str, Any]:
    host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
    token = (SERVICE_ACCOUNT / "token").read_text().strip()
    context = ssl.create_default_context(cafile=str(SERVICE_ACCOUNT / "ca.crt"))
    return f"https://{host}:{port}", token, context


def main() -> int:
    env = os.environ
    args = [str(a) for a in json.loads(env["LOADTEST_ARGS"])]
    slo = float(env["LOADTEST_TTFT_P95_MS"])
    try:
        with tempfile.TemporaryDirectory() as scratch:
            result = run_benchmark(args, Path(scratch))
    except (subprocess.CalledProcessError, OSError, ValueError) as exc:
        print(f"loadtest: the benchmark did not run to the end: {exc}", file=sys.stderr)
        return 2
    summary = judge(result, slo)
    print(json.dumps({"loadtest": summary}, sort_keys=True), flush=True)
    name = env.get("LOADTEST_RESULT_NAME")
    if name:
        api, token, context = _in_cluster()
        store(api, env["LOADTEST_NAMESPACE"], configmap(name, summary, result), token, context)
    return 0 if summary["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
