"""Where alerts go: the Alertmanager configuration (kube-prometheus-stack's
`alertmanager.config`) and the Secret holding receivers' credentials.

Critical alerts page, warnings open tickets; one incident pages once (a critical alert
inhibits the warnings of the same model; a model that is down inhibits its per-pod
alerts); the chart's always-firing Watchdog goes to a dead-man's switch. Credentials are
files mounted from a Secret (`*_file` settings), so the Helm values hold none.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from infra.config import AlertingConfig, ReceiverConfig
from infra.manifests.common import Manifest, labels, opaque_secret
from infra.manifests.topology import (
    ALERTMANAGER_CREDENTIALS,
    HTTP_PORT,
    HTTPS_PORT,
    MONITORING_NAMESPACE,
)

NULL_RECEIVER = "null"  # drops what nobody receives
WATCHDOG = "Watchdog"  # kube-prometheus-stack's always-firing alert
# Labels one incident shares: the component (model, gateway, gpu), and for a model its
# namespace and name. Alerts of one incident are grouped, and a page inhibits its tickets.
INCIDENT_LABELS = ["component", "namespace", "model"]
GROUP_BY = ["alertname", *INCIDENT_LABELS]
# Alerts a model-wide outage makes redundant (same namespace and model).
OUTAGE_ALERT = "VLLMModelUnavailable"
PER_POD_ALERTS = "VLLMPod.*|VLLMTargetDown"
CREDENTIALS_DIR = f"/etc/alertmanager/secrets/{ALERTMANAGER_CREDENTIALS}"


def _file(key: str) -> str:
    return f"{CREDENTIALS_DIR}/{key}"


def _receiver(r: ReceiverConfig) -> Manifest:
    out: Manifest = {"name": r.name}
    if r.email:
        email: Manifest = {
            "to": ", ".join(r.email.to),
            "from": r.email.sender,
            "smarthost": r.email.smarthost,
            "require_tls": r.email.require_tls,
            "send_resolved": True,
        }
        if r.email.auth_username:
            email["auth_username"] = r.email.auth_username
        if r.email.auth_password_secret:
            email["auth_password_file"] = _file(r.email.auth_password_secret)
        out["email_configs"] = [email]
    if r.slack:
        out["slack_configs"] = [
            {
                "channel": r.slack.channel,
                "api_url_file": _file(r.slack.api_url_secret),
                "send_resolved": True,
            }
        ]
    if r.pagerduty:
        out["pagerduty_configs"] = [
            {"routing_key_file": _file(r.pagerduty.routing_key_secret), "send_resolved": True}
        ]
    if r.webhook:
        webhook: Manifest = {"url": r.webhook.url, "send_resolved": True}
        if r.webhook.bearer_token_secret:
            webhook["http_config"] = {
                "authorization": {
                    "type": "Bearer",
                    "credentials_file": _file(r.webhook.bearer_token_secret),
                }
            }
        out["webhook_configs"] = [webhook]
    return out


def _fan_out(severity: str, receivers: list[str]) -> list[Manifest]:
    """One route per receiver of a severity; all but the last continue to the next."""
    return [
        {
            "matchers": [f'severity = "{severity}"'],
            "receiver": name,
            "continue": i < len(receivers) - 1,
        }
        for i, name in enumerate(receivers)
    ]


def alertmanager_config(alerting: AlertingConfig) -> Manifest:
    routes: list[Manifest] = [
        {
            "matchers": [f'alertname = "{WATCHDOG}"'],
            "receiver": alerting.watchdog or NULL_RECEIVER,
            "group_wait": "0s",
            "group_interval": alerting.watchdog_interval,
            "repeat_interval": alerting.watchdog_interval,
        },
        *_fan_out("critical", alerting.page),
        *_fan_out("warning", alerting.ticket),
    ]
    config: dict[str, Any] = {
        "route": {
            # Anything no route takes (e.g. severity "info") is dropped.
            "receiver": NULL_RECEIVER,
            "group_by": GROUP_BY,
            "group_wait": alerting.group_wait,
            "group_interval": alerting.group_interval,
            "repeat_interval": alerting.repeat_interval,
            "routes": routes,
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity = "critical"'],
                "target_matchers": ['severity = "warning"'],
                "equal": INCIDENT_LABELS,
            },
            {
                "source_matchers": [f'alertname = "{OUTAGE_ALERT}"'],
                "target_matchers": [f'alertname =~ "{PER_POD_ALERTS}"'],
                "equal": INCIDENT_LABELS,
            },
        ],
        "receivers": [{"name": NULL_RECEIVER}, *(_receiver(r) for r in alerting.receivers)],
    }
    return config


def credentials_secret(values: Any) -> Manifest:
    """Receivers' credentials (alertingSecrets, a secret Output): mounted into Alertmanager."""
    return opaque_secret(
        {
            "name": ALERTMANAGER_CREDENTIALS,
            "namespace": MONITORING_NAMESPACE,
            "labels": labels("alertmanager", ALERTMANAGER_CREDENTIALS, "credentials"),
        },
        values,
    )


def receiver_ports(alerting: AlertingConfig) -> list[int]:
    """The ports Alertmanager sends to: each e-mail smarthost's, each webhook URL's (or its
    scheme's), HTTPS for Slack and PagerDuty."""
    ports: set[int] = set()
    for r in alerting.receivers:
        if r.email is not None:
            ports.add(int(r.email.smarthost.rsplit(":", 1)[1]))
        if r.webhook is not None:
            url = urllib.parse.urlparse(r.webhook.url)
            ports.add(url.port or (HTTPS_PORT if url.scheme == "https" else HTTP_PORT))
        if r.slack is not None or r.pagerduty is not None:
            ports.add(HTTPS_PORT)
    return sorted(ports)
