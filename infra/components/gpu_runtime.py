"""GpuRuntime: the NVIDIA device plugin on the GPU pools."""

from __future__ import annotations

from typing import TypedDict

import pulumi

from infra.components.declare import declare, helm_release
from infra.components.network import Network, policies_in
from infra.manifests.common import namespace
from infra.manifests.gpu_runtime import device_plugin_values
from infra.manifests.observability.network import gpu_policies
from infra.manifests.topology import GPU_NAMESPACE
from infra.planning.plans import ReleasePlan


class GpuRuntimeArgs(TypedDict):
    pools: dict[str, int]  # pool name -> time-slicing replicas
    runtime_class: str | None
    network: Network | None  # NetworkPolicies' inputs; None: the stack has none
    exporter: bool  # the DCGM exporter will run here too (observability on)
    releases: dict[str, ReleasePlan]  # chart key -> how its release is installed (the plan's)


class GpuRuntime(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: GpuRuntimeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-platform:gpu:GpuRuntime", name, None, opts)
        self._releases = args["releases"]
        # The device plugin mounts the kubelet's hostPath socket dir: privileged namespace.
        ns = declare(
            namespace(GPU_NAMESPACE, "privileged", "gpu-runtime"),
            pulumi.ResourceOptions(parent=self),
        )
        applied: list[pulumi.Resource] = []
        if args["network"] is not None:
            manifests = gpu_policies(
                args["network"]["api_server"], device_plugin=True, exporter=args["exporter"]
            )
            applied = policies_in(manifests, pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        values = device_plugin_values(args["pools"], args["pools"].values(), args["runtime_class"])
        self.device_plugin = helm_release(
            "nvidia-device-plugin",
            self._releases["nvidia-device-plugin"],
            GPU_NAMESPACE,
            values,
            pulumi.ResourceOptions(parent=self, depends_on=[ns, *applied]),
        )
        self.register_outputs({"namespace": GPU_NAMESPACE})
