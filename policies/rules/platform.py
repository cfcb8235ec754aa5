"""Rules on the platform as a whole: namespaces, disruption budgets, the gateway, zones,
Helm releases and KEDA."""

from __future__ import annotations

import re
from collections.abc import Iterator

from infra.catalog.metrics import KNOWN_SERIES, MODEL_LABEL
from infra.catalog.provider import HELM_RELEASE_TYPE
from infra.manifests.common import ACTIVE_REPLICAS_ANNOTATION, POOL_LABEL
from infra.manifests.topology import KPS_RELEASE
from infra.planning.placement import zone_loss
from infra.planning.promql import vector_selectors
from policies.rules.base import Props, Resource, Rule, containers, is_vllm, pod_spec

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
GATEWAY_TYPE = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
AUTH_KINDS = ("apiKeyAuth", "basicAuth", "jwt", "oidc", "extAuth")
ROUTE_TYPES = {
    "kubernetes:aigateway.envoyproxy.io/v1beta1:AIGatewayRoute",
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
}
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
ZONE_KEY = "topology.kubernetes.io/zone"
EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


def _meta(res: Resource) -> Props:
    meta: Props = res.props.get("metadata") or {}
    return meta


def _vllm_deployments(resources: list[Resource]) -> Iterator[Resource]:
    for r in resources:
        pod = pod_spec(r)
        if r.type == DEPLOYMENT and pod and any(is_vllm(c) for c in containers(pod)):
            yield r


def _scaled(resources: list[Resource], deployment: Resource) -> Props | None:
    for r in resources:
        if (
            r.type == SCALED_OBJECT
            and _meta(r).get("namespace") == _meta(deployment).get("namespace")
            and (r.props.get("spec") or {}).get("scaleTargetRef", {}).get("name")
            == _meta(deployment).get("name")
        ):
            spec: Props = r.props["spec"]
            return spec
    return None


def serving_namespace_default_deny(
    resources: list[Resource], _: Props
) -> Iterator[tuple[Resource | None, str]]:
    denied = {
        _meta(r).get("namespace")
        for r in resources
        if r.type == NETWORK_POLICY
        and (r.props.get("spec") or {}).get("podSelector") == {}
        and {"Ingress", "Egress"} <= set(r.props["spec"].get("policyTypes") or [])
    }
    for d in _vllm_deployments(resources):
        ns = _meta(d).get("namespace")
        if ns not in denied:
            yield d, f"namespace {ns!r} serves models but has no default-deny NetworkPolicy"


def multi_replica_pdb(resources: list[Resource], _: Props) -> Iterator[tuple[Resource | None, str]]:
    for d in (r for r in resources if r.type == DEPLOYMENT):
        scaled = _scaled(resources, d)
        most = (
            int(scaled["maxReplicaCount"])
            if scaled
            else int((d.props.get("spec") or {}).get("replicas", 1))
        )
        if most < 2:
            continue
        labels = ((d.props["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        covered = any(
            r.type == PDB
            and _meta(r).get("namespace") == _meta(d).get("namespace")
            and ((r.props.get("spec") or {}).get("selector") or {}).get("matchLabels", {}).items()
            <= labels.items()
            for r in resources
        )
        if not covered:
            yield (
                d,
                f"up to {most} replicas and no PodDisruptionBudget: a node drain may take them all",
            )


def gateway_auth_and_tls(
    resources: list[Resource], config: Props
) -> Iterator[tuple[Resource | None, str]]:
    listeners: dict[tuple[str, str], Props] = {}
    for g in (r for r in resources if r.type == GATEWAY_TYPE):
        for listener in (g.props.get("spec") or {}).get("listeners") or []:
            listeners[(_meta(g)["name"], listener["name"])] = listener
    protected, protected_routes = set(), set()
    for p in (r for r in resources if r.type == SECURITY_POLICY):
        spec = p.props.get("spec") or {}
        if any(spec.get(kind) for kind in AUTH_KINDS):
            for t in spec.get("targetRefs") or []:
                if t.get("kind") == "Gateway":
                    protected.add((t["name"], t.get("sectionName")))
                else:
                    protected_routes.add(t["name"])
    for route in (r for r in resources if r.type in ROUTE_TYPES):
        # A route may carry its own sign-in (the chat UI's basic auth).
        signed_in = _meta(route).get("name") in protected_routes
        for parent in (route.props.get("spec") or {}).get("parentRefs") or []:
            key = (parent["name"], parent.get("sectionName"))
            rules = route.props["spec"].get("rules") or []
            redirect = all(
                any(f.get("type") == "RequestRedirect" for f in rule.get("filters") or [])
                for rule in rules
            )
            if redirect:
                continue  # only sends clients to HTTPS
            if not signed_in and key not in protected and (parent["name"], None) not in protected:
                yield route, f"route on {key[0]}/{key[1]} serves without API-key auth"
            listener = listeners.get(key)
            if config.get("requireTls") and listener and listener.get("protocol") != "HTTPS":
                yield route, f"route on {key[0]}/{key[1]} serves plain {listener.get('protocol')}"


def zone_resilience(resources: list[Resource], _: Props) -> Iterator[tuple[Resource | None, str]]:
    zones = {
        ((p.props.get("nodeConfig") or {}).get("labels") or {}).get(POOL_LABEL): list(
            p.props.get("nodeLocations") or []
        )
        for p in resources
        if p.type == GKE_NODE_POOL
    }
    for d in _vllm_deployments(resources):
        pod = pod_spec(d) or {}
        pool = (pod.get("nodeSelector") or {}).get(POOL_LABEL)
        if pool not in zones:
            continue  # not a multi-zone pool (on-prem)
        count = len(zones[pool])
        # What it serves with when active: a DR standby runs fewer until the flip, and the
        # flip must not make the stack fail this rule.
        active = (_meta(d).get("annotations") or {}).get(ACTIVE_REPLICAS_ANNOTATION)
        scaled = _scaled(resources, d)
        fallback = (
            int(scaled["minReplicaCount"]) if scaled else int(d.props["spec"].get("replicas", 1))
        )
        replicas = int(active) if active is not None else fallback
        left, needed = zone_loss(replicas, count)
        if left < needed:
            yield (
                d,
                f"{replicas} replica(s) over {count} zone(s): losing one leaves {left} "
                f"of the {needed} needed",
            )
        strict = [
            c
            for c in pod.get("topologySpreadConstraints") or []
            if c.get("topologyKey") == ZONE_KEY and c.get("whenUnsatisfiable") == "DoNotSchedule"
        ]
        if not strict:
            yield (
                d,
                "replicas are not spread over zones (topology.kubernetes.io/zone, DoNotSchedule)",
            )


def helm_chart_pinned(res: Resource, _: Props) -> Iterator[str]:
    if res.type != HELM_RELEASE_TYPE:
        return
    version = str(res.props.get("version") or "")
    if not EXACT_VERSION.match(version):
        yield f"chart {res.props.get('chart')!r} version {version!r} is not an exact version"


def keda_vllm_metrics(res: Resource, _: Props) -> Iterator[str]:
    if res.type != SCALED_OBJECT:
        return
    for trigger in (res.props.get("spec") or {}).get("triggers") or []:
        if trigger.get("type") != "prometheus":
            continue
        query = (trigger.get("metadata") or {}).get("query", "")
        try:
            selectors = vector_selectors(query)
        except ValueError as exc:
            yield f"trigger {trigger.get('name')!r}: query does not parse: {exc}"
            continue
        for name, matchers in selectors:
            if name not in KNOWN_SERIES:
                yield (
                    f"trigger {trigger.get('name')!r}: {name} is not a metric of the pinned "
                    "vLLM/DCGM versions"
                )
            elif (
                name.startswith("vllm:")
                and matchers.get(MODEL_LABEL, ("", ""))[0] != "MatchOp.Equal"
            ):
                yield (
                    f"trigger {trigger.get('name')!r}: {name} is not filtered by "
                    f"{MODEL_LABEL} (KEDA would scale on every model's load)"
                )


def alerts_reach_a_person(res: Resource, config: Props) -> Iterator[str]:
    """Critical alerts must route to a receiver; the chart's default is the null receiver."""
    if res.type != HELM_RELEASE_TYPE or res.props.get("name") != KPS_RELEASE:
        return
    if not config.get("requireReceivers"):
        return
    values = res.props.get("values") or {}
    route = ((values.get("alertmanager") or {}).get("config") or {}).get("route") or {}
    paging = [
        r
        for r in route.get("routes") or []
        if 'severity = "critical"' in (r.get("matchers") or []) and r.get("receiver") != "null"
    ]
    if not paging:
        yield "critical alerts reach nobody: Alertmanager routes them to the null receiver"


RULES = [
    Rule(
        "serving-namespace-default-deny",
        "a namespace that serves models denies by default",
        "keep security.networkPolicies on",
        stack=serving_namespace_default_deny,
    ),
    Rule(
        "multi-replica-pdb",
        "multi-replica deployments have a PodDisruptionBudget",
        "add a PDB selecting the deployment's pods",
        stack=multi_replica_pdb,
    ),
    Rule(
        "gateway-auth-and-tls",
        "gateway routes require an API key (and TLS where required)",
        "attach the api-keys SecurityPolicy; set gateway.tls.mode",
        stack=gateway_auth_and_tls,
        config={"requireTls": {"type": "boolean", "default": False}},
    ),
    Rule(
        "zone-resilience",
        "losing one zone keeps ⌈2/3⌉ of each model's replicas",
        "spread the pool over 3+ zones and run a replica per zone",
        stack=zone_resilience,
    ),
    Rule(
        "helm-chart-pinned",
        "Helm releases pin an exact chart version",
        "set the version in infra/catalog/versions.py",
        helm_chart_pinned,
    ),
    Rule(
        "alerts-reach-a-person",
        "critical alerts are routed to a receiver (production)",
        "set observability.alerting.receivers and page",
        alerts_reach_a_person,
        config={"requireReceivers": {"type": "boolean", "default": False}},
    ),
    Rule(
        "keda-vllm-metrics",
        "KEDA queries name metrics of the pinned vLLM and filter by model_name",
        "build triggers from infra/catalog/metrics.py",
        keda_vllm_metrics,
    ),
]
