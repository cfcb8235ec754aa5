"""LoadTest: the benchmark Job's template, its client key, identity and runner."""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi

from infra.components.declare import declare
from infra.components.network import Network, policies_in
from infra.config import LoadTestConfig
from infra.manifests.common import namespace
from infra.manifests.loadtest import (
    access,
    bench_args,
    cron_job,
    key_secret,
    loadtest_policies,
    runner_config_map,
)
from infra.manifests.network import Rule
from infra.manifests.topology import LOADTEST_NAMESPACE


class LoadTestArgs(TypedDict):
    network: Network | None  # NetworkPolicies' inputs; None: the stack has none
    gateway_client: Rule  # how the benchmark reaches the public endpoint
    config: LoadTestConfig
    base_url: str  # the gateway's public endpoint, without /v1
    model: str  # the public model name
    tokenizer: str  # the Hugging Face repository of a deployment serving it
    image: Any  # the serving image (vLLM's benchmark client, pinned with the server)
    api_key: pulumi.Output[str]
    ttft_p95_seconds: float


class LoadTest(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: LoadTestArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:loadtest:LoadTest", name, None, opts)

        def child(*deps: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(deps))

        ns = declare(namespace(LOADTEST_NAMESPACE, "restricted", "loadtest"), child())
        needs: list[pulumi.Resource] = [declare(key_secret(args["api_key"]), child(ns))]
        network = args["network"]
        if network is not None:
            manifests = loadtest_policies(network["api_server"], args["gateway_client"])
            needs += policies_in(manifests, child(ns))
        needs.append(declare(runner_config_map(), child(ns)))
        needs += [declare(m, child(ns)) for m in access()]
        arguments = bench_args(
            args["config"],
            base_url=args["base_url"],
            model=args["model"],
            tokenizer=args["tokenizer"],
        )
        declare(
            cron_job(
                args["config"],
                image=args["image"],
                args=arguments,
                ttft_p95_seconds=args["ttft_p95_seconds"],
            ),
            child(*needs),
        )
        self.register_outputs({"namespace": LOADTEST_NAMESPACE})
