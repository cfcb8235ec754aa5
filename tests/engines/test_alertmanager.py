"""The generated Alertmanager configuration, judged by Alertmanager's own amtool: it loads,
and critical and warning alerts reach the right people. Config: gpu_box (production) with
an e-mail receiver for tickets and a webhook pager, credentials from alertingSecrets."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.plan import plan_stack
from tests.builders import gpu_box, rendered, stack_file_text
from tests.engines.prom_tools import (
    ALERTMANAGER,
    AMTOOL,
    MINIMUM,
    UNPACKED_SHARE,
    kps_values,
    run,
    tool,
    unpacked,
    version,
)

PAGER, TEAM, DEADMAN = "pager", "team", "deadman"
SECURE = {"alertingSecrets": "v1:AAAAencrypted"}


def alerting_stack() -> dict[str, Any]:
    raw = gpu_box()
    raw["observability"]["alerting"] = {
        "receivers": [
            {
                "name": TEAM,
                "email": {
                    "to": ["llm-team@example.com"],
                    "sender": "alerts@example.com",
                    "smarthost": "smtp.example.com:587",
                    "authUsername": "alerts@example.com",
                    "authPasswordSecret": "smtp",
                },
            },
            {
                "name": PAGER,
                "webhook": {"url": "https://pager.example.com/hook", "bearerTokenSecret": "pager"},
            },
            {"name": DEADMAN, "webhook": {"url": "https://deadman.example.com/ping/llm"}},
        ],
        "page": [PAGER],
        "ticket": [TEAM],
        "watchdog": DEADMAN,
    }
    return raw


def secret_map_stack_text(tmp: Path) -> Path:
    """alertingSecrets as Pulumi writes it: an encrypted map (keys visible, values not)."""
    text = stack_file_text(alerting_stack())
    text += (
        "  llm-platform:alertingSecrets:\n"
        "    smtp: {secure: v1:AAAA1}\n"
        "    pager: {secure: v1:AAAA2}\n"
    )
    path = tmp / "Pulumi.test.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("am")
    result = plan_stack("test", secret_map_stack_text(tmp))
    config = kps_values(result)["alertmanager"]["config"]
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def routes(config: Path, *labels: str) -> str:
    done = run(
        [tool(AMTOOL), "config", "routes", "test", f"--config.file={config}", *labels],
        config.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_amtool_accepts_the_generated_config(config_file: Path) -> None:
    done = run([tool(AMTOOL), "check-config", str(config_file)], config_file.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_a_critical_alert_pages_and_a_warning_opens_a_ticket(config_file: Path) -> None:
    model = ["component=model", "namespace=llm-serving", "model=qwen2-5-7b"]
    assert (
        routes(config_file, "alertname=VLLMModelUnavailable", "severity=critical", *model) == PAGER
    )
    assert routes(config_file, "alertname=VLLMPodRestarting", "severity=warning", *model) == TEAM
    assert routes(config_file, "alertname=Watchdog", "severity=none") == DEADMAN
    assert routes(config_file, "alertname=Info", "severity=info") == "null"


def test_credentials_are_files_from_the_mounted_secret_never_values(config_file: Path) -> None:
    text = config_file.read_text()
    assert "/etc/alertmanager/secrets/alertmanager-credentials/smtp" in text
    assert "/etc/alertmanager/secrets/alertmanager-credentials/pager" in text
    assert "[secret]" not in text and "v1:AAAA" not in text


def test_the_credentials_secret_is_mounted_and_holds_secret_values(tmp_path: Path) -> None:
    result = plan_stack("test", secret_map_stack_text(tmp_path))
    spec = kps_values(result)["alertmanager"]["alertmanagerSpec"]
    assert spec["secrets"] == ["alertmanager-credentials"]
    [secret] = [r for r in result.resources if r.name == "monitoring/alertmanager-credentials"]
    assert secret.secret_paths  # a Pulumi secret, never plain text


def test_one_incident_pages_once() -> None:
    config = kps_values(rendered(gpu_box()))["alertmanager"]["config"]
    page_inhibits_ticket, outage_inhibits_pods = config["inhibit_rules"]
    assert page_inhibits_ticket["source_matchers"] == ['severity = "critical"']
    assert page_inhibits_ticket["target_matchers"] == ['severity = "warning"']
    assert page_inhibits_ticket["equal"] == ["component", "namespace", "model"]
    assert outage_inhibits_pods["source_matchers"] == ['alertname = "VLLMModelUnavailable"']


def test_the_amtool_and_alertmanager_in_use_are_recent_enough() -> None:
    assert version(AMTOOL) >= MINIMUM["amtool"]
    assert version(ALERTMANAGER) >= MINIMUM["alertmanager"]


def _alertmanager(flags: list[str]) -> list[str]:
    """The command that runs Alertmanager. Debian's build reads its templates from
    /usr/share/prometheus: unpacked into .tools (not installed), it gets that /usr/share in
    a private mount namespace (as root, or in a user namespace; nothing changes on the
    machine). An installed or upstream build runs as it is."""
    if not unpacked(ALERTMANAGER):
        return [tool(ALERTMANAGER), *flags]
    command = " ".join(
        [f"mount --bind {UNPACKED_SHARE} /usr/share && exec", tool(ALERTMANAGER), *flags]
    )
    as_root = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return ["unshare", *as_root, "--mount", "sh", "-c", command]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(port: int, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/{path}",
        data=data,
        headers={"Content-Type": "application/json"},
        method="POST" if data else "GET",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def test_alertmanager_itself_inhibits_the_ticket_of_a_paged_incident(config_file: Path) -> None:
    """The real Alertmanager on loopback, with the generated routes and inhibit rules and
    receivers that send nothing: a page holds back the warnings of the same model, not
    another model's, and a model outage holds back its per-pod alerts."""
    config = yaml.safe_load(config_file.read_text())
    config["receivers"] = [{"name": r["name"]} for r in config["receivers"]]
    folder = config_file.parent / "run"
    folder.mkdir(exist_ok=True)
    (folder / "am.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    server = subprocess.Popen(
        _alertmanager(
            [
                f"--config.file={folder / 'am.yml'}",
                f"--storage.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):  # bounded: up to 10 s for the server to answer
            with contextlib.suppress(OSError):
                _api(port, "status")
                break
            time.sleep(0.1)
        one = {"component": "model", "namespace": "llm-serving", "model": "qwen2-5-7b"}
        other = {**one, "model": "other"}
        _api(
            port,
            "alerts",
            [
                {"labels": {"alertname": "VLLMModelUnavailable", "severity": "critical", **one}},
                {"labels": {"alertname": "VLLMPodRestarting", "severity": "warning", **one}},
                {"labels": {"alertname": "VLLMKVCacheNearlyFull", "severity": "warning", **one}},
                {"labels": {"alertname": "VLLMRequestsQueued", "severity": "warning", **other}},
            ],
        )
        state: dict[str, list[str]] = {}
        for _ in range(50):  # inhibition is computed as alerts arrive; allow a moment
            state = {
                f"{a['labels']['alertname']}/{a['labels']['model']}": a["status"]["inhibitedBy"]
                for a in _api(port, "alerts")
            }
            if len(state) == 4 and state["VLLMPodRestarting/qwen2-5-7b"]:
                break
            time.sleep(0.1)
        assert state["VLLMModelUnavailable/qwen2-5-7b"] == []
        assert state["VLLMPodRestarting/qwen2-5-7b"]  # same incident: held back
        assert state["VLLMKVCacheNearlyFull/qwen2-5-7b"]
        assert state["VLLMRequestsQueued/other"] == []  # another model: still tickets
    finally:
        server.terminate()
        server.wait(timeout=10)
