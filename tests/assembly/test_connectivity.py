"""Which pod may talk to which, judged by IBM's network-config-analyzer over every stack's
pods (ours, the charts', the controllers' stand-ins) and NetworkPolicies, against the
table of intended flows (flows.py): every needed flow allowed, every forbidden one denied,
nothing between the platform's pods beyond the table; and every namespace the platform
creates denies by default."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from infra.config import StackConfig
from infra.engine import documentation_address
from infra.planning.capacity import plan_platform
from infra.root import PROJECT_ROOT
from tests.assembly import flows
from tests.assembly.cases import NAMES, assembly, config
from tests.assembly.connectivity import Connectivity
from tests.assembly.graph import Assembly, pod_labels
from tests.builders import pooled_and_sleeping, rendered
from tests.helpers import config_of


def api_address(cfg: StackConfig) -> str:
    """Where the stack's API server answers: as it says, the GKE cluster's endpoint (the
    mock's stand-in for what GKE assigns), or a node of a site network."""
    if cfg.security.api_server_cidrs:
        return cfg.security.api_server_cidrs[0].split("/")[0]
    if cfg.cluster.provider == "gke":
        return documentation_address("cluster/cluster")
    return flows.NODE


@dataclass(frozen=True)
class Judge:
    """One stack's connectivity, read against the table."""

    c: Connectivity
    ctx: flows.Context

    def resolve(self, endpoint: flows.Endpoint) -> list[str]:
        """A role's pods (`namespace/pod`), or the address standing for the endpoint."""
        if endpoint == flows.API:
            return [api_address(self.ctx.config)]
        if isinstance(endpoint, str):
            return [endpoint]
        serving = {p.model.namespace for p in self.ctx.plan.models}
        wanted = serving if endpoint.namespace == flows.SERVING else {endpoint.namespace}
        models = endpoint.models(self.ctx) if endpoint.models else None
        found = []
        for pod, owner in self.c.owners.items():
            ns = pod.split("/", 1)[0]
            every = endpoint.namespace == flows.EVERY and ns != "kube-system"
            labels = pod_labels(owner.manifest)
            model_ok = models is None or labels.get("app.kubernetes.io/instance") in models
            if (ns in wanted or every) and endpoint.labels.items() <= labels.items() and model_ok:
                found.append(pod)
        return sorted(found)

    def judged(self) -> Iterator[tuple[int, flows.Flow, str, str]]:
        for i, flow in enumerate(flows.FLOWS):
            if flow.when(self.ctx):
                for src in self.resolve(flow.src):
                    for dst in self.resolve(flow.dst):
                        yield i, flow, src, dst

    def wrong(self) -> list[str]:
        out = []
        for _, flow, src, dst in self.judged():
            if self.c.allowed(src, dst, flow.protocol, flow.port) != flow.must:
                verdict = "denied" if flow.must else "allowed"
                out.append(f"{src} -> {dst}:{flow.port}/{flow.protocol} {verdict} ({flow.why})")
        return out

    def unintended(self) -> list[str]:
        """Connections between the platform's pods that no needed flow of the table is."""
        intended = {(src, dst, f.protocol, f.port) for _, f, src, dst in self.judged() if f.must}
        out = []
        for src, dst, allowed in self.c.pod_connections():
            if src.startswith("kube-system/"):
                continue  # the cluster's own pods: no policy of ours applies to them
            for protocol, ports in allowed.items():
                for port in sorted(ports) if ports is not None else [None]:
                    if (src, dst, protocol, port) not in intended:
                        out.append(f"{src} -> {dst}:{port or 'any'}/{protocol}")
        return out


@functools.cache
def judge(name: str) -> Judge:
    cfg = config(name)
    return Judge(Connectivity(assembly(name)), flows.Context(cfg, plan_platform(cfg, name)))


@pytest.mark.parametrize("name", NAMES)
def test_every_intended_flow_is_allowed_and_every_forbidden_one_denied(name: str) -> None:
    assert judge(name).wrong() == []


@pytest.mark.parametrize("name", NAMES)
def test_nothing_else_flows_between_the_platforms_pods(name: str) -> None:
    """No rule is broader than its flow: every connection the policies allow from one of
    the platform's pods to another is one the table intends (its roles, its port)."""
    assert judge(name).unintended() == []


def test_every_flow_of_the_table_is_judged_somewhere() -> None:
    """No line of the table is dead: some stack or example has both of its ends."""
    judged = {i for name in NAMES for i, *_ in judge(name).judged()}
    assert [f.why for i, f in enumerate(flows.FLOWS) if i not in judged] == []


@pytest.mark.parametrize("name", NAMES)
def test_every_namespace_the_platform_creates_denies_by_default(name: str) -> None:
    a = assembly(name)
    declared = {o.name for o in a.objects if o.kind == "Namespace"}
    denying = {
        o.namespace
        for o in a.objects
        if o.kind == "NetworkPolicy"
        and o.manifest["spec"].get("podSelector") == {}
        and set(o.manifest["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
        and not o.manifest["spec"].get("ingress")
        and not o.manifest["spec"].get("egress")
    }
    assert declared - denying == set()


def test_a_policy_that_admits_the_wrong_port_is_caught() -> None:
    """The broken fixture: the model servers' allow for the proxies opened on every port
    (instead of vLLM's 8000) lets the proxies, which reach the serving namespace's picker
    on 9002, reach the model servers there too."""
    raw = pooled_and_sleeping()
    resources = copy.deepcopy(rendered(raw).resources)
    [policy] = [r for r in resources if r.name == "llm-serving/allow-gateway"]
    del policy.inputs["spec"]["ingress"][0]["ports"]
    cfg = config_of(raw)
    broken = Judge(
        Connectivity(Assembly(resources, "1.31")), flows.Context(cfg, plan_platform(cfg, "test"))
    )
    assert broken.wrong() == []  # the table's needed and forbidden flows still hold …
    proxy = "envoy-gateway-system/pod-envoy-llm-gateway"
    assert broken.unintended() == [  # … but the proxies reach more than vLLM's port
        f"{proxy} -> llm-serving/deployment-qwen2-5-05b:9002/TCP",
        f"{proxy} -> llm-serving/deployment-qwen2-5-7b:9002/TCP",
    ]


def test_the_documented_flows_are_the_table() -> None:
    """docs/network-flows.md is generated from the table (`make docs`)."""
    assert (PROJECT_ROOT / "docs" / "network-flows.md").read_text() == flows.markdown()
