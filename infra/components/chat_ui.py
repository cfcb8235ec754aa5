"""ChatUi: Open WebUI for trying the models in a browser, through the gateway."""

from __future__ import annotations

from typing import TypedDict

import pulumi

from infra.catalog.versions import CHARTS
from infra.components.declare import declare, helm_release
from infra.config import ChatUiConfig
from infra.manifests.chat_ui import chat_key_secret, open_webui_values
from infra.manifests.common import namespace
from infra.manifests.topology import CHAT_NAMESPACE


class ChatUiArgs(TypedDict):
    config: ChatUiConfig
    gateway_url: str
    api_key: pulumi.Output[str]


class ChatUi(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ChatUiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:chat:ChatUi", name, None, opts)
        ns = declare(
            namespace(CHAT_NAMESPACE, "baseline", "chat"), pulumi.ResourceOptions(parent=self)
        )
        key = declare(
            chat_key_secret(args["api_key"]), pulumi.ResourceOptions(parent=self, depends_on=[ns])
        )
        helm_release(
            "open-webui",
            CHARTS["open-webui"],
            CHAT_NAMESPACE,
            open_webui_values(args["config"], args["gateway_url"]),
            pulumi.ResourceOptions(parent=self, depends_on=[key]),
        )
        self.register_outputs({"namespace": CHAT_NAMESPACE})
