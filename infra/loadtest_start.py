"""`python -m infra.loadtest_start --stack NAME`: start the stack's load test and report it.

Creates a Job from the stack's suspended `loadtest` CronJob (kubectl, the stack's context),
waits for it, prints the benchmark's log and the summary it stored, and exits 0 when the SLO
held, 1 when it did not, 2 on a problem running it. `make loadtest STACK=…` runs this.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from infra.config import ConfigError, parse, stack_file
from infra.config.reader import raw_config
from infra.manifests.topology import LOADTEST, LOADTEST_NAMESPACE
from infra.root import PROJECT_ROOT
from infra.stack_file import read_stack_file

POLL_SECONDS = 10
GRACE_SECONDS = 120  # beyond the Job's own deadline: scheduling, image pull


class StartError(Exception):
    pass


Kubectl = Callable[[list[str]], str]


def kubectl_for(context: str | None) -> Kubectl:
    def run(args: list[str]) -> str:
        command = ["kubectl", *(["--context", context] if context else []), "-n"]
        command += [LOADTEST_NAMESPACE, *args]
        try:
            done = subprocess.run(command, check=True, capture_output=True, text=True)
        except FileNotFoundError:
            raise StartError("kubectl not found: https://kubernetes.io/docs/tasks/tools/") from None
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()
            raise StartError(f"kubectl {' '.join(args)}: {detail[-1] if detail else exc}") from None
        return done.stdout

    return run


def wait(kubectl: Kubectl, job: str, deadline_seconds: int, sleep: Callable[[float], None]) -> bool:
    """True when the Job succeeded, False when it failed; StartError when it never ends."""
    waited = 0
    while waited <= deadline_seconds:
        status = kubectl(["get", "job", job, "-o", "jsonpath={.status.succeeded},{.status.failed}"])
        succeeded, _, failed = status.partition(",")
        if succeeded.strip() not in ("", "0"):
            return True
        if failed.strip() not in ("", "0"):
            return False
        sleep(POLL_SECONDS)
        waited += POLL_SECONDS
    raise StartError(f"job {job} did not finish in {deadline_seconds} s")


def run_load_test(
    kubectl: Kubectl, timeout_minutes: int, sleep: Callable[[float], None] = time.sleep
) -> tuple[int, str]:
    job = f"{LOADTEST}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    kubectl(["create", "job", job, f"--from=cronjob/{LOADTEST}"])
    passed = wait(kubectl, job, timeout_minutes * 60 + GRACE_SECONDS, sleep)
    report = kubectl(["logs", f"job/{job}"])
    try:
        summary = kubectl(["get", "configmap", job, "-o", "jsonpath={.data.summary\\.json}"])
        report += f"\nsummary (configmap {LOADTEST_NAMESPACE}/{job}):\n{summary}"
        verdict = json.loads(summary)["verdict"]
    except (StartError, ValueError, KeyError):
        verdict = "PASS" if passed else "FAIL"
    return (0 if verdict == "PASS" and passed else 1), report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.loadtest_start", description=__doc__)
    parser.add_argument("--stack", required=True)
    args = parser.parse_args(argv)
    label = stack_file(args.stack)
    try:
        config, secret_keys = read_stack_file(PROJECT_ROOT / label, label)
        cfg = parse(raw_config(config, secret_keys), label)
    except ConfigError as exc:
        print("\n".join(exc.lines()), file=sys.stderr)
        return 2
    if not cfg.load_test.enabled:
        print(
            f"{label}: llm-platform:loadTest.enabled: the stack declares no load test; set "
            "loadTest.enabled: true and run pulumi up first",
            file=sys.stderr,
        )
        return 2
    try:
        status, report = run_load_test(
            kubectl_for(cfg.cluster.effective_context), cfg.load_test.timeout_minutes
        )
    except StartError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    print(report)
    return status


if __name__ == "__main__":
    sys.exit(main())
