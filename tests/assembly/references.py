"""Every reference resolves: each name or namespace an object points at is found, with the
defaulting rules of the referrer's own API (the CRD field texts, read from tests/crds):

- Gateway API (routes' parentRefs and backendRefs, ReferenceGrant): an empty `namespace`
  means the referrer's own; `group` "" and `kind` Service by default for an HTTPRoute's
  backendRefs; a reference into another namespace needs a ReferenceGrant there whose
  `from` names the referrer's group, kind and namespace and whose `to` names the target's
  group and kind (and name, if it names one).
- AIGatewayRoute (Envoy AI Gateway v1.1.0): backendRefs are AIServiceBackends by default,
  or InferencePools by group and kind; the controller turns the route into an HTTPRoute
  of the same name (internal/controller/ai_gateway_route.go `newHTTPRoute`), which Envoy
  Gateway then resolves: a pool in another namespace needs a grant for both.
- Envoy Gateway policies' targetRefs and credential/user Secrets: the policy's namespace.
- cert-manager: a Certificate's issuerRef (kind Issuer in its namespace by default); a
  ClusterIssuer's Secrets in cert-manager's own namespace (its cluster resource namespace).
- KEDA: a ScaledObject's scaleTargetRef (a Deployment by default) in its namespace; the
  HTTP add-on's InterceptorRoute `target.service` and port in its namespace.
- Services: their selectors select pods that exist (ours, the charts', and the stand-ins
  for what controllers start: runtime.py), and a named targetPort is a port of theirs.
- Prometheus operator: monitors select pods (PodMonitor) or Services (ServiceMonitor) in
  their namespaceSelector's namespaces (their own by default), on ports those have; the
  Prometheus picks the monitors and rules up by its selectors.
- PodDisruptionBudgets and NetworkPolicy selectors select pods that exist.
- Every in-cluster URL any object or release value holds (`<svc>.<ns>.svc…[:port]`)
  names a Service with that port.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from infra.manifests.topology import AI_GATEWAY_API as AI_GATEWAY
from infra.manifests.topology import CERT_MANAGER_NAMESPACE, GATEWAY_API
from tests.assembly import runtime
from tests.assembly.graph import Assembly, Obj, pod_labels, pod_spec

# A Service's cluster DNS name, with or without the cluster domain, and a port.
SERVICE_URL = re.compile(
    r"(?<![\w.-])([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc"
    r"(\.cluster\.local)?\.?(:(\d+))?"
)


@dataclass(frozen=True)
class Pod:
    """A pod as selectors and ports see it: ours, a chart's, or a controller's stand-in."""

    namespace: str
    labels: dict[str, str]
    ports: dict[str, int]  # container port name -> number
    numbers: frozenset[int]
    owner: str


@functools.cache
def world(a: Assembly) -> list[Obj]:
    """Everything in the cluster: the stack's objects and the stand-ins (runtime.py)."""
    return a.objects + runtime.standins(a)


def _in_ns(a: Assembly, namespace: str) -> list[Obj]:
    return [o for o in world(a) if o.namespace == namespace]


@functools.cache
def pods(a: Assembly) -> list[Pod]:
    found = []
    for manifest, owner in ((o.manifest, o.label) for o in world(a)):
        spec = pod_spec(manifest)
        if spec is None:
            continue
        ports: dict[str, int] = {}
        numbers: set[int] = set()
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            for p in c.get("ports") or []:
                numbers.add(int(p["containerPort"]))
                if p.get("name"):
                    ports[str(p["name"])] = int(p["containerPort"])
        ns = str(manifest["metadata"].get("namespace") or "")
        found.append(Pod(ns, pod_labels(manifest), ports, frozenset(numbers), owner))
    return found


def _selected(a: Assembly, namespace: str, selector: dict[str, Any] | None) -> list[Pod]:
    return [p for p in pods(a) if p.namespace == namespace and runtime.matches(selector, p.labels)]


def _one(a: Assembly, kind: str, namespace: str | None, name: str) -> Obj | None:
    key = (kind, namespace or "", name)
    return next((o for o in world(a) if o.key == key), None)


# --------------------------------------------------------------------------- grants


def granted(a: Assembly, source: tuple[str, str, str], target: tuple[str, str, str, str]) -> bool:
    """A ReferenceGrant in the target's namespace admits (group, kind, namespace) of the
    referrer to (group, kind, namespace, name) of the target."""
    group, kind, namespace = source
    t_group, t_kind, t_namespace, t_name = target
    for grant in _in_ns(a, t_namespace):
        if grant.kind != "ReferenceGrant":
            continue
        spec = grant.manifest["spec"]
        from_ok = any(
            (f.get("group", ""), f["kind"], f["namespace"]) == (group, kind, namespace)
            for f in spec.get("from") or []
        )
        to_ok = any(
            (t.get("group", ""), t["kind"]) == (t_group, t_kind) and t.get("name") in (None, t_name)
            for t in spec.get("to") or []
        )
        if from_ok and to_ok:
            return True
    return False


# --------------------------------------------------------------------------- routes


def _listeners(gateway: Obj) -> dict[str, dict[str, Any]]:
    return {str(item["name"]): item for item in gateway.manifest["spec"].get("listeners") or []}


def _parent_problems(a: Assembly, route: Obj) -> Iterator[str]:
    for ref in route.manifest["spec"].get("parentRefs") or []:
        ns = ref.get("namespace") or route.namespace
        gateway = _one(a, "Gateway", ns, ref["name"])
        if gateway is None:
            yield f"{route.label}: parent Gateway {ns}/{ref['name']} does not exist"
            continue
        listeners = _listeners(gateway)
        section = ref.get("sectionName")
        chosen = [listeners[section]] if section in listeners else []
        if section is not None and not chosen:
            yield f"{route.label}: Gateway {ns}/{ref['name']} has no listener {section!r}"
            continue
        for item in chosen or list(listeners.values()):
            allowed = ((item.get("allowedRoutes") or {}).get("namespaces") or {}).get("from")
            if (allowed or "Same") == "Same" and ns != route.namespace:
                yield (
                    f"{route.label}: listener {item['name']!r} admits routes of its own "
                    "namespace only"
                )


def _backend_target(route: Obj, ref: dict[str, Any]) -> tuple[str, str, str, str]:
    """(group, kind, namespace, name) of a backendRef, with the API's defaults."""
    if route.kind == "AIGatewayRoute":
        default_group, default_kind = AI_GATEWAY, "AIServiceBackend"
    else:
        default_group, default_kind = "", "Service"
    group = ref.get("group", default_group if "kind" not in ref else "")
    kind = ref.get("kind", default_kind)
    if kind == "AIServiceBackend":
        group = AI_GATEWAY
    return group, kind, str(ref.get("namespace") or route.namespace), str(ref["name"])


def _route_backend_problems(a: Assembly, route: Obj) -> Iterator[str]:
    group = route.manifest["apiVersion"].split("/")[0]
    for rule in route.manifest["spec"].get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            t_group, kind, ns, name = _backend_target(route, ref)
            target = _one(a, kind, ns, name)
            if target is None:
                yield f"{route.label}: backend {kind} {ns}/{name} does not exist"
                continue
            if kind == "Service" and "port" in ref:
                ports = [p["port"] for p in target.manifest["spec"].get("ports") or []]
                if ref["port"] not in ports:
                    yield f"{route.label}: Service {ns}/{name} has no port {ref['port']}"
            if ns == route.namespace:
                continue
            referrers = [(group, route.kind, route.namespace or "")]
            if route.kind == "AIGatewayRoute":  # and the HTTPRoute it becomes
                referrers.append((GATEWAY_API, "HTTPRoute", route.namespace or ""))
            for source in referrers:
                if not granted(a, source, (t_group, kind, ns, name)):
                    yield (
                        f"{route.label}: {kind} {ns}/{name} is in another namespace and no "
                        f"ReferenceGrant there admits {source[1]}s from {route.namespace}"
                    )


def routes(a: Assembly) -> list[str]:
    problems: list[str] = []
    for o in a.objects:
        if o.kind in ("HTTPRoute", "AIGatewayRoute"):
            problems += _parent_problems(a, o)
            problems += _route_backend_problems(a, o)
    return problems


# --------------------------------------------------------------------------- gateway


def _service_for_host(a: Assembly, host: str, port: int | None) -> str | None:
    """None when `host[:port]` is a Service that exists (with that port), else why not."""
    m = SERVICE_URL.fullmatch(host if port is None else f"{host}:{port}")
    if m is None:
        return None  # not an in-cluster name
    name, ns = m.group(1), m.group(3)
    service = _one(a, "Service", ns, name)
    if service is None:
        return f"Service {ns}/{name} does not exist"
    ports = {int(p["port"]) for p in service.manifest["spec"].get("ports") or []}
    if port is not None and port not in ports:
        return f"Service {ns}/{name} has no port {port} (it has {sorted(ports)})"
    return None


def gateway_objects(a: Assembly) -> list[str]:
    """Backends, the AI backends' Backends, the class's parameters, the listeners'
    certificates, and every policy's targets and Secrets."""
    problems: list[str] = []
    for o in a.objects:
        spec = o.manifest.get("spec") or {}
        if o.kind == "AIServiceBackend":
            ref = spec["backendRef"]
            if (
                _one(
                    a, ref.get("kind", "Backend"), ref.get("namespace") or o.namespace, ref["name"]
                )
                is None
            ):
                problems.append(f"{o.label}: Backend {ref['name']} does not exist")
        elif o.kind == "Backend":
            for e in spec.get("endpoints") or []:
                fqdn = e.get("fqdn") or {}
                why = _service_for_host(a, fqdn.get("hostname", ""), fqdn.get("port"))
                if why:
                    problems.append(f"{o.label}: endpoint {fqdn.get('hostname')}: {why}")
        elif o.kind == "GatewayClass" and spec.get("parametersRef"):
            ref = spec["parametersRef"]
            if _one(a, ref["kind"], ref.get("namespace"), ref["name"]) is None:
                problems.append(f"{o.label}: parameters {ref['kind']} {ref['name']} do not exist")
        elif o.kind == "Gateway":
            problems += _gateway_problems(a, o)
        elif "targetRefs" in spec or "targetRef" in spec:
            problems += _policy_problems(a, o)
    return problems


def _certificate_secret(a: Assembly, namespace: str, name: str) -> bool:
    """The Secret exists, or a Certificate there writes it (cert-manager, spec.secretName)."""
    if _one(a, "Secret", namespace, name) is not None:
        return True
    return any(
        o.kind == "Certificate" and o.manifest["spec"].get("secretName") == name
        for o in _in_ns(a, namespace)
    )


def _gateway_problems(a: Assembly, gateway: Obj) -> Iterator[str]:
    spec = gateway.manifest["spec"]
    if _one(a, "GatewayClass", None, spec["gatewayClassName"]) is None:
        yield f"{gateway.label}: GatewayClass {spec['gatewayClassName']} does not exist"
    for item in spec.get("listeners") or []:
        for ref in (item.get("tls") or {}).get("certificateRefs") or []:
            ns = ref.get("namespace") or gateway.namespace or ""
            if not _certificate_secret(a, ns, ref["name"]):
                yield (
                    f"{gateway.label}: listener {item['name']}: Secret {ns}/{ref['name']} "
                    "is made by nothing"
                )


def _policy_problems(a: Assembly, policy: Obj) -> Iterator[str]:
    spec = policy.manifest["spec"]
    for ref in spec.get("targetRefs") or [spec.get("targetRef")]:
        target = _one(a, ref["kind"], policy.namespace, ref["name"])
        if target is None:
            yield f"{policy.label}: target {ref['kind']} {ref['name']} does not exist"
            continue
        section = ref.get("sectionName")
        if section and ref["kind"] == "Gateway" and section not in _listeners(target):
            yield f"{policy.label}: Gateway {ref['name']} has no listener {section!r}"
    secrets = [r["name"] for r in (spec.get("apiKeyAuth") or {}).get("credentialRefs") or []]
    users = (spec.get("basicAuth") or {}).get("users")
    secrets += [users["name"]] if users else []
    for name in secrets:
        if _one(a, "Secret", policy.namespace, name) is None:
            yield f"{policy.label}: Secret {name} does not exist in {policy.namespace}"


# --------------------------------------------------------------------------- KEDA, certificates


def autoscalers(a: Assembly) -> list[str]:
    problems: list[str] = []
    for o in a.objects:
        spec = o.manifest.get("spec") or {}
        if o.kind == "ScaledObject" and not o.from_chart:
            ref = spec["scaleTargetRef"]
            if _one(a, ref.get("kind", "Deployment"), o.namespace, ref["name"]) is None:
                kind = ref.get("kind", "Deployment")
                problems.append(f"{o.label}: target {kind} {ref['name']} does not exist")
            for trigger in spec.get("triggers") or []:
                problems += _trigger_problems(a, o, trigger)
        elif o.kind == "InterceptorRoute":
            target = spec["target"]
            why = _service_for_host(
                a, f"{target['service']}.{o.namespace}.svc", int(target["port"])
            )
            if why:
                problems.append(f"{o.label}: target {why}")
    return problems


def _trigger_problems(a: Assembly, scaled: Obj, trigger: dict[str, Any]) -> Iterator[str]:
    meta = trigger.get("metadata") or {}
    address = meta.get("serverAddress") or meta.get("scalerAddress") or ""
    host = re.sub(r"^\w+://", "", str(address)).split("/", 1)[0]
    name, _, port = host.partition(":")
    if name.count(".") == 1:
        name += ".svc"  # `<service>.<namespace>:<port>`, as KEDA's gRPC client resolves it
    why = _service_for_host(a, name, int(port) if port else None)
    if why:
        yield f"{scaled.label}: trigger {trigger.get('name')}: {why}"
    route = meta.get("interceptorRoute")
    if route and _one(a, "InterceptorRoute", scaled.namespace, route) is None:
        yield f"{scaled.label}: InterceptorRoute {route} does not exist"


def issuers(a: Assembly) -> list[str]:
    problems: list[str] = []
    for o in a.objects:
        spec = o.manifest.get("spec") or {}
        if o.kind == "Certificate":
            ref = spec["issuerRef"]
            kind = ref.get("kind", "Issuer")
            ns = None if kind == "ClusterIssuer" else o.namespace
            if _one(a, kind, ns, ref["name"]) is None:
                problems.append(f"{o.label}: {kind} {ref['name']} does not exist")
        elif o.kind == "ClusterIssuer":
            for name in _secret_refs(spec):
                if _one(a, "Secret", CERT_MANAGER_NAMESPACE, name) is None:
                    problems.append(
                        f"{o.label}: Secret {CERT_MANAGER_NAMESPACE}/{name} does not exist"
                    )
    return problems


def _secret_refs(value: Any) -> Iterator[str]:
    """Every `…SecretRef.name` in a ClusterIssuer's solvers (the ACME account key is made
    by cert-manager itself)."""
    if isinstance(value, dict):
        for key, child in value.items():
            if (
                key.endswith("SecretRef")
                and key != "privateKeySecretRef"
                and isinstance(child, dict)
            ):
                yield str(child["name"])
            else:
                yield from _secret_refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from _secret_refs(child)


# --------------------------------------------------------------------------- selectors


def services(a: Assembly) -> list[str]:
    """A Service's selector selects pods, and a named targetPort is one of their ports."""
    problems: list[str] = []
    for o in world(a):
        if o.kind != "Service":
            continue
        spec = o.manifest.get("spec") or {}
        selector = spec.get("selector")
        if not selector:
            continue
        chosen = _selected(a, o.namespace or "", {"matchLabels": selector})
        if not chosen:
            problems.append(f"{o.label}: its selector {selector} selects no pod")
            continue
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port["port"])
            if isinstance(target, str) and not any(target in p.ports for p in chosen):
                problems.append(f"{o.label}: targetPort {target!r} is no port of its pods")
    return problems


def _monitor_namespaces(monitor: Obj) -> list[str]:
    names = (monitor.manifest["spec"].get("namespaceSelector") or {}).get("matchNames")
    return list(names) if names else [monitor.namespace or ""]


def monitors(a: Assembly) -> list[str]:
    problems: list[str] = []
    for o in a.objects:
        spec = o.manifest.get("spec") or {}
        if o.kind == "PodMonitor":
            chosen = [
                p for ns in _monitor_namespaces(o) for p in _selected(a, ns, spec.get("selector"))
            ]
            if not chosen:
                problems.append(f"{o.label}: selects no pod")
            for e in spec.get("podMetricsEndpoints") or []:
                if "port" in e and not any(e["port"] in p.ports for p in chosen):
                    problems.append(f"{o.label}: port {e['port']!r} is no port of its pods")
                if "portNumber" in e and not any(e["portNumber"] in p.numbers for p in chosen):
                    problems.append(f"{o.label}: port {e['portNumber']} is no port of its pods")
        elif o.kind == "ServiceMonitor":
            problems += _service_monitor_problems(a, o)
    return problems + _picked_up(a)


def _service_monitor_problems(a: Assembly, monitor: Obj) -> Iterator[str]:
    spec = monitor.manifest["spec"]
    chosen = [
        s
        for ns in _monitor_namespaces(monitor)
        for s in _in_ns(a, ns)
        if s.kind == "Service"
        and runtime.matches(spec.get("selector"), dict(s.manifest["metadata"].get("labels") or {}))
    ]
    if not chosen:
        yield f"{monitor.label}: selects no Service"
    names = {p.get("name") for s in chosen for p in s.manifest["spec"].get("ports") or []}
    for e in spec.get("endpoints") or []:
        if "port" in e and e["port"] not in names:
            yield f"{monitor.label}: port {e['port']!r} is no port of its Services"


def _picked_up(a: Assembly) -> list[str]:
    """The Prometheus the stack runs selects every monitor and rule (selectors and
    namespace selectors: empty selects all, absent selects none)."""
    proms = [o for o in a.objects if o.kind == "Prometheus"]
    if not proms:
        return []
    spec = proms[0].manifest["spec"]
    keys = {
        "PodMonitor": ("podMonitorSelector", "podMonitorNamespaceSelector"),
        "ServiceMonitor": ("serviceMonitorSelector", "serviceMonitorNamespaceSelector"),
        "PrometheusRule": ("ruleSelector", "ruleNamespaceSelector"),
    }
    problems = []
    for o in a.objects:
        if o.kind not in keys:
            continue
        selector_key, ns_key = keys[o.kind]
        labels = dict(o.manifest["metadata"].get("labels") or {})
        own = o.namespace == proms[0].namespace
        picked = selector_key in spec and runtime.matches(spec[selector_key], labels)
        ns_ok = own or (
            ns_key in spec
            and runtime.matches(spec[ns_key], runtime.namespace_labels(a, o.namespace or ""))
        )
        if not (picked and ns_ok):
            problems.append(f"{o.label}: the Prometheus {proms[0].name} does not select it")
    return problems


def disruption_budgets(a: Assembly) -> list[str]:
    return [
        f"{o.label}: selects no pod"
        for o in a.objects
        if o.kind == "PodDisruptionBudget"
        and not _selected(a, o.namespace or "", o.manifest["spec"].get("selector"))
    ]


def network_policy_selectors(a: Assembly) -> list[str]:
    """A policy's podSelector and every pod peer select pods that exist (a peer that
    selects nothing admits nobody: the flow it was written for is closed)."""
    problems: list[str] = []
    namespaces = {o.name for o in a.objects if o.kind == "Namespace"}
    for o in a.objects:
        if o.kind != "NetworkPolicy":
            continue
        spec = o.manifest["spec"]
        if spec.get("podSelector") and not _selected(a, o.namespace or "", spec["podSelector"]):
            problems.append(f"{o.label}: its podSelector selects no pod")
        for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
            for peer in (rule.get("from") or []) + (rule.get("to") or []):
                if "podSelector" not in peer:
                    continue
                ns_selector = peer.get("namespaceSelector")
                in_ns = (
                    [o.namespace or ""]
                    if ns_selector is None
                    else [
                        n
                        for n in namespaces | {"kube-system"}
                        if runtime.matches(ns_selector, runtime.namespace_labels(a, n))
                    ]
                )
                if not any(_selected(a, n, peer["podSelector"]) for n in in_ns):
                    problems.append(f"{o.label}: peer {peer} selects no pod")
    return problems


# --------------------------------------------------------------------------- URLs


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for child in value.values():
            yield from _strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from _strings(child)


def service_urls(a: Assembly) -> list[str]:
    """Every in-cluster address our objects and our releases' values hold names a Service
    (with the port it gives)."""
    problems = []
    subjects: list[tuple[str, Any]] = [(o.label, o.manifest) for o in a.objects if not o.from_chart]
    subjects += [(r.label, r.inputs.get("values")) for r in a.releases()]
    for label, value in subjects:
        for text in _strings(value):
            for m in SERVICE_URL.finditer(text):
                host = m.group(0).rstrip(".").split(":")[0]
                why = _service_for_host(a, host, int(m.group(7)) if m.group(7) else None)
                if why:
                    problems.append(f"{label}: {m.group(0)}: {why}")
    return problems
