"""ChatUi: Open WebUI for trying the models in a browser, through the gateway."""

from __future__ import annotations

from typing import TypedDict

import pulumi
import pulumi_random as random

from infra.components.declare import declare, helm_release
from infra.components.network import Network, policies_in
from infra.config import ChatUiConfig
from infra.manifests.chat_ui import (
    chat_key_secret,
    chat_policies,
    chat_route,
    htpasswd_line,
    open_webui_values,
    route_grant,
    session_key_secret,
    sign_in_policy,
    users_secret,
)
from infra.manifests.common import namespace
from infra.manifests.network import Rule
from infra.manifests.topology import CHAT_NAMESPACE
from infra.planning.plans import ReleasePlan

SESSION_KEY_LENGTH = 48
SIGN_IN_PASSWORD_LENGTH = 32  # random: the unsalted {SHA} form Envoy accepts is then safe


class ChatUiArgs(TypedDict):
    network: Network | None  # NetworkPolicies' inputs; None: the stack has none
    gateway_client: Rule  # how a pod here reaches the public endpoint
    config: ChatUiConfig
    gateway_url: str
    api_key: pulumi.Output[str]
    gateway_namespace: pulumi.Resource  # where the route, its sign-in and its users live
    releases: dict[str, ReleasePlan]  # chart key -> how its release is installed (the plan's)


class ChatUi(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ChatUiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:chat:ChatUi", name, None, opts)
        self._releases = args["releases"]
        cfg = args["config"]

        def child(*deps: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(deps))

        ns = declare(namespace(CHAT_NAMESPACE, "baseline", "chat"), child())
        flows: list[pulumi.Resource] = []
        if args["network"] is not None:
            flows = policies_in(chat_policies(cfg.hostname, args["gateway_client"]), child(ns))
        key = declare(chat_key_secret(args["api_key"]), child(ns))
        session = random.RandomPassword(
            "chat-ui-session-key", length=SESSION_KEY_LENGTH, special=False, opts=child()
        )
        session_secret = declare(session_key_secret(session.result), child(ns))
        release = helm_release(
            "open-webui",
            self._releases["open-webui"],
            CHAT_NAMESPACE,
            open_webui_values(cfg, args["gateway_url"]),
            child(key, session_secret, *flows),
        )
        self.sign_in_password: pulumi.Output[str] | None = None
        if cfg.hostname is not None:
            gateway_ns = args["gateway_namespace"]
            password = random.RandomPassword(
                "chat-ui-sign-in", length=SIGN_IN_PASSWORD_LENGTH, special=False, opts=child()
            ).result
            users = declare(
                users_secret(password.apply(lambda p: htpasswd_line(cfg.username, p))),
                child(gateway_ns),
            )
            declare(route_grant(), child(ns))
            route = declare(chat_route(cfg.hostname), child(gateway_ns, release))
            declare(sign_in_policy(), child(route, users))
            self.sign_in_password = password
        self.register_outputs({"namespace": CHAT_NAMESPACE})
