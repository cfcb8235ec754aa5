"""Deploy order: what a first `pulumi up` on an empty cluster needs to exist, and to be ready,
before each object is created, judged on the recorded graph (graph.py) by the provider's
semantics (provider.py). Each check returns one line per problem; none means it holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra.engine import Recorded
from tests.assembly import runtime
from tests.assembly.graph import (
    CLUSTER_SCOPED,
    Assembly,
    Obj,
    group_of,
    is_custom,
    pod_labels,
    pod_spec,
)
from tests.assembly.provider import is_awaited

# Namespaces every cluster has (declaring one would adopt it; see topology.py).
CLUSTER_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# What Kubernetes creates in every namespace, and PriorityClasses every cluster has.
DEFAULT_SERVICE_ACCOUNT = "default"
BUILTIN_PRIORITY_CLASSES = frozenset({"system-cluster-critical", "system-node-critical"})


# --------------------------------------------------------------------------- CRDs


def crd_installers(a: Assembly) -> list[str]:
    """Every custom resource waits, directly or through its ancestors, for what installs
    its CRD: a CustomResourceDefinition the program declares, or a Helm release whose chart
    carries it (crds/ folder or templates). A chart's own CRDs are installed first."""
    problems = []
    crds = a.crds()
    for o in a.objects:
        if not is_custom(o.manifest):
            continue
        installers = [r for r, _ in crds.get((group_of(o.manifest), o.kind), [])]
        if not installers:
            problems.append(f"{o.label}: nothing the stack installs provides its CRD")
        elif not any(a.waits_for(o, r) for r in installers):
            names = ", ".join(sorted(r.label for r in installers))
            problems.append(f"{o.label}: created without waiting for {names} (its CRD)")
    return problems


def crd_scopes(a: Assembly) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, from the CRDs the stack installs."""
    return {k: v[0][1]["spec"]["scope"] == "Namespaced" for k, v in a.crds().items()}


# --------------------------------------------------------------------------- namespaces


def declared_namespaces(a: Assembly) -> dict[str, Recorded]:
    return {o.name: o.origin for o in a.objects if o.kind == "Namespace" and not o.from_chart}


def namespaces(a: Assembly) -> list[str]:
    """Every namespaced object waits for its Namespace where the program declares it; a
    namespace nobody declares must be one every cluster has. A release waits for the
    namespace it installs into."""
    problems = []
    declared = declared_namespaces(a)
    for release in a.releases():
        ns = str(release.inputs["namespace"])
        if ns in declared and declared[ns].urn not in a.after(release.urn):
            problems.append(f"{release.label}: installed without waiting for Namespace {ns}")
        elif ns not in declared and ns not in CLUSTER_NAMESPACES:
            problems.append(f"{release.label}: installs into {ns}, which nothing declares")
    for o in a.objects:
        if o.namespace is None:
            continue
        ns = o.namespace
        if ns in declared:
            if not a.waits_for(o, declared[ns]):
                problems.append(f"{o.label}: created without waiting for Namespace {ns}")
        elif ns not in CLUSTER_NAMESPACES:
            problems.append(f"{o.label}: its namespace {ns} is declared by nothing")
    return problems


def scopes(a: Assembly) -> list[str]:
    """A namespaced kind has a namespace, a cluster-scoped one has none (the CRD's scope)."""
    problems = []
    custom = crd_scopes(a)
    for o in a.objects:
        if is_custom(o.manifest):
            key = (group_of(o.manifest), o.kind)
            if key not in custom:
                continue  # crd_installers reports it
            namespaced = custom[key]
        else:
            namespaced = o.kind not in CLUSTER_SCOPED
        if namespaced and o.namespace is None and not o.from_chart:
            problems.append(f"{o.label}: a namespaced kind without a namespace")
        if not namespaced and o.namespace is not None and not o.from_chart:
            problems.append(f"{o.label}: a cluster-scoped kind with a namespace")
    return problems


# --------------------------------------------------------------------------- pods


def _optional(ref: dict[str, Any]) -> bool:
    return bool(ref.get("optional"))


def _container_refs(c: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for env in c.get("env") or []:
        source = env.get("valueFrom") or {}
        for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            ref = source.get(field)
            if ref and not _optional(ref):
                yield kind, str(ref["name"])
    for env in c.get("envFrom") or []:
        for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
            ref = env.get(field)
            if ref and not _optional(ref):
                yield kind, str(ref["name"])


def _volume_refs(v: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "secret" in v and not _optional(v["secret"]):
        yield "Secret", str(v["secret"]["secretName"])
    if "configMap" in v and not _optional(v["configMap"]):
        yield "ConfigMap", str(v["configMap"]["name"])
    if "persistentVolumeClaim" in v:
        yield "PersistentVolumeClaim", str(v["persistentVolumeClaim"]["claimName"])
    for source in (v.get("projected") or {}).get("sources") or []:
        for field, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
            ref = source.get(field)
            if ref and not _optional(ref):
                yield kind, str(ref["name"])


def pod_refs(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(kind, name) of every object a pod template names and cannot start without."""
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        yield from _container_refs(c)
    for v in spec.get("volumes") or []:
        yield from _volume_refs(v)
    for s in spec.get("imagePullSecrets") or []:
        yield "Secret", str(s["name"])
    yield "ServiceAccount", str(spec.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT)
    if spec.get("runtimeClassName"):
        yield "RuntimeClass", str(spec["runtimeClassName"])
    if spec.get("priorityClassName"):
        yield "PriorityClass", str(spec["priorityClassName"])


def _provided(a: Assembly, o: Obj, kind: str, name: str, provided: runtime.Provided) -> bool:
    """Declared by the program (and waited for), by a release the object waits for (or its
    own), created at runtime by something the stack installs, or provided by the cluster."""
    ns = None if kind in CLUSTER_SCOPED else o.namespace
    if kind == "ServiceAccount" and name == DEFAULT_SERVICE_ACCOUNT:
        return True
    if kind == "PriorityClass" and name in BUILTIN_PRIORITY_CLASSES:
        return True
    if any(a.waits_for(o, t.origin) for t in a.find(kind, ns, name)):
        return True
    return provided.has(kind, ns, name, o)


def pod_references(a: Assembly, provided: runtime.Provided) -> list[str]:
    """Every Secret, ConfigMap, PVC, ServiceAccount, RuntimeClass and PriorityClass a pod
    template names exists before the pod: declared and waited for, or written down as
    provided (by the cluster, or made at runtime by a controller the stack installs)."""
    problems = []
    for o in a.objects:
        spec = pod_spec(o.manifest)
        if spec is None:
            continue
        for kind, name in sorted(set(pod_refs(spec))):
            if not _provided(a, o, kind, name, provided):
                where = "" if kind in CLUSTER_SCOPED else f" in {o.namespace}"
                found = a.find(kind, None if kind in CLUSTER_SCOPED else o.namespace, name)
                why = "created after it" if found else "declared by nothing"
                problems.append(f"{o.label}: names {kind} {name}{where}, {why}")
    return problems


# --------------------------------------------------------------------------- webhooks


def _matches_rule(rule: dict[str, Any], group: str, plural: str, op: str) -> bool:
    groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
    ops = rule.get("operations") or []
    group_ok = "*" in groups or group in groups
    resource_ok = any(r in ("*", "*/*", plural) for r in resources)
    return group_ok and resource_ok and ("*" in ops or op in ops)


def fail_webhooks(a: Assembly) -> list[tuple[Recorded, dict[str, Any]]]:
    """(serving release, webhook) of every admission webhook that refuses a request while
    it cannot be reached (`failurePolicy: Fail`, the v1 default)."""
    found = []
    for o in a.objects:
        if o.kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            for hook in o.manifest.get("webhooks") or []:
                if hook.get("failurePolicy", "Fail") == "Fail":
                    found.append((o.origin, hook))
    return found


def webhooks(a: Assembly, plurals: dict[tuple[str, str], str]) -> list[str]:
    """An object that a `failurePolicy: Fail` webhook admits is created only after the
    awaited release serving the webhook (else the API server refuses the create, and the
    provider does not retry that). Pods a controller makes for an object (runtime.py) count
    as that object's."""
    problems = []
    hooks = fail_webhooks(a)
    subjects = [(o, o.manifest) for o in a.objects]
    subjects += [(cause, pod) for cause, pod in runtime.pods_caused(a)]
    for o, manifest in subjects:
        plural = plurals.get((group_of(manifest), manifest["kind"]))
        if plural is None:
            continue
        for release, hook in hooks:
            if o.from_chart and o.origin.urn == release.urn:
                continue  # the release's own objects: Helm applies them together
            if not any(
                _matches_rule(r, group_of(manifest), plural, "CREATE") for r in hook["rules"]
            ):
                continue
            if not runtime.selected(hook, manifest, a):
                continue
            ready = a.waits_for(o, release) and not release.inputs.get("skipAwait")
            if not ready:
                problems.append(
                    f"{o.label}: {manifest['kind']} {manifest['metadata'].get('name')} is "
                    f"admitted by webhook {hook['name']} (failurePolicy Fail) of "
                    f"{release.label}, which it does not wait for"
                )
    return problems


# --------------------------------------------------------------------------- awaits


def hangs(a: Assembly) -> list[str]:
    """No awaited object waits for something that cannot happen before it: a claim that
    binds only when a pod uses it, awaited alone or under a Deployment of no replicas."""
    problems = []
    for o in a.objects:
        if o.from_chart:
            continue
        m = o.manifest
        unnamed = not (m.get("spec") or {}).get("storageClassName")
        if o.kind == "PersistentVolumeClaim" and is_awaited(m) and unnamed:
            problems.append(
                f"{o.label}: awaited without a storageClassName: the provider cannot "
                "read the class's binding mode and waits for Bound, which a "
                "WaitForFirstConsumer default class gives only once a pod uses it"
            )
        if o.kind == "Deployment" and is_awaited(m) and (m["spec"].get("replicas", 1) == 0):
            spec = pod_spec(m) or {}
            claims = [v for v in spec.get("volumes") or [] if "persistentVolumeClaim" in v]
            if claims:
                problems.append(
                    f"{o.label}: 0 replicas mounting a claim: the await needs it Bound, "
                    "and no pod will ever use it"
                )
    return problems


# --------------------------------------------------------------------------- cloud grants

WORKLOAD_IDENTITY = "iam.gke.io/gcp-service-account"
IAM_TYPES = (
    "gcp:serviceaccount/iAMMember:IAMMember",
    "gcp:projects/iAMMember:IAMMember",
    "gcp:storage/bucketIAMMember:BucketIAMMember",
)


def _grants(a: Assembly, namespace: str, account: str, email: str) -> list[Recorded]:
    """The IAM grants a Kubernetes service account's pods act through: the Workload
    Identity binding of <namespace>/<account>, and every role granted to its Google
    account."""
    members = {f"serviceAccount:{email}"}
    found = []
    for r in a.resources:
        if r.type not in IAM_TYPES:
            continue
        member = str(r.inputs.get("member", ""))
        bound = member.endswith(f".svc.id.goog[{namespace}/{account}]")
        if bound or member in members:
            found.append(r)
    return found


def cloud_grants(a: Assembly) -> list[str]:
    """A pod that acts as a Google service account (Workload Identity) starts only after
    the grants it needs exist: its binding, and its roles on buckets and projects. Before
    them, its first request is refused, and a loader Job or init container fails."""
    problems = []
    accounts = {
        (o.namespace or "", o.name): str(o.manifest["metadata"]["annotations"][WORKLOAD_IDENTITY])
        for o in a.objects
        if o.kind == "ServiceAccount"
        and WORKLOAD_IDENTITY in (o.manifest["metadata"].get("annotations") or {})
    }
    for o in a.objects:
        spec = pod_spec(o.manifest)
        if spec is None:
            continue
        key = (o.namespace or "", str(spec.get("serviceAccountName") or "default"))
        if key not in accounts:
            continue
        grants = _grants(a, *key, accounts[key])
        if not any(g.type == IAM_TYPES[0] for g in grants):
            problems.append(f"{o.label}: acts as {accounts[key]} without a Workload Identity grant")
        problems += [
            f"{o.label}: starts without waiting for {g.label} ({g.inputs.get('role')})"
            for g in grants
            if not a.waits_for(o, g)
        ]
    return problems


# --------------------------------------------------------------------------- load balancers


def load_balancers(a: Assembly, assigns_addresses: bool) -> list[str]:
    """A LoadBalancer Service only where something assigns addresses (a cloud, k3s
    ServiceLB, MetalLB…: cluster.loadBalancers): else it stays pending, the provider and
    Helm wait for it in vain, and the gateway has no address. The Envoy proxies' Service is
    made by Envoy Gateway from the EnvoyProxy's `envoyService.type`."""
    if assigns_addresses:
        return []
    problems = []
    for o in a.objects:
        spec = o.manifest.get("spec") or {}
        if o.kind == "Service" and spec.get("type") == "LoadBalancer":
            problems.append(f"{o.label}: type LoadBalancer, and nothing assigns addresses")
        if o.kind == "EnvoyProxy":
            service = ((spec.get("provider") or {}).get("kubernetes") or {}).get("envoyService")
            if (service or {}).get("type", "LoadBalancer") == "LoadBalancer":
                problems.append(
                    f"{o.label}: the gateway's Service is a LoadBalancer, and nothing "
                    "assigns addresses"
                )
    return problems


# --------------------------------------------------------------------------- NetworkPolicies


def policies_first(a: Assembly) -> list[str]:
    """A pod in a namespace that denies by default starts only once the policies that let
    it out exist (its start needs them: the API server, a download); else it runs, fails
    and restarts until they come, and an awaited release may time out meanwhile. (Allows
    of traffic in may follow: its clients come later.)"""
    problems = []
    egress = [
        o
        for o in a.objects
        if o.kind == "NetworkPolicy"
        and "Egress" in (o.manifest["spec"].get("policyTypes") or [])
        and o.manifest["spec"].get("egress")
    ]
    for o in a.objects:
        spec = pod_spec(o.manifest)
        if spec is None or spec.get("hostNetwork"):
            continue
        labels = pod_labels(o.manifest)
        for policy in egress:
            if policy.namespace != o.namespace:
                continue
            selector = policy.manifest["spec"].get("podSelector")
            if runtime.matches(selector, labels) and not a.waits_for(o, policy.origin):
                problems.append(f"{o.label}: starts before {policy.label}, which lets it out")
    return problems
