"""A planned stack as `pulumi up` runs it: which registration waits for which, and every
Kubernetes object it puts in the cluster (ours, and each Helm release's, by Helm's render).

What "waits for" means is the Pulumi Python SDK's (pulumi 3.272, `pulumi/runtime/resource.py`
`prepare_resource`, and `rpc.py` `_add_dependency`): before a resource is registered the SDK
awaits the URNs of its explicit `depends_on` (a component stands for every custom resource
under it), of every resource whose outputs its inputs take, and of its parent. A custom
resource's URN resolves only when the engine has created it, which for pulumi-kubernetes
includes its await (provider/pkg/await/await.go `Creation`); a component's resolves once it
is registered, after its own waits. So a resource waits, transitively, for its
`depends_on`, its inputs' resources, its parent, and everything those waited for.

A chart object is applied by Helm with the rest of its release, once the release's own
waits are over: it waits for what its release waits for, and is applied together with the
release's other objects (Helm installs the chart's `crds/` first, then every template).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from infra.catalog.provider import HELM_RELEASE_TYPE
from infra.catalog.versions import ChartRef
from infra.engine import Recorded
from infra.plan import manifest_of
from policies.helm import chart_of, chart_resources, load

# API groups Kubernetes itself serves (everything else is a custom resource).
BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "policy",
        "autoscaling",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "apiextensions.k8s.io",
        "admissionregistration.k8s.io",
        "apiregistration.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
        "events.k8s.io",
    }
)
# Built-in kinds that are cluster-scoped (the rest of the built-ins are namespaced).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "NodePatch",
        "PersistentVolume",
        "StorageClass",
        "RuntimeClass",
        "PriorityClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
        "CSIDriver",
        "IngressClass",
    }
)


def group_of(manifest: dict[str, Any]) -> str:
    api = str(manifest["apiVersion"])
    return api.rpartition("/")[0]


def is_custom(manifest: dict[str, Any]) -> bool:
    return group_of(manifest) not in BUILTIN_GROUPS


@dataclass(frozen=True)
class Obj:
    """A Kubernetes object in the cluster, and the registration that puts it there: itself,
    or (a chart object) its Helm release."""

    manifest: dict[str, Any]
    origin: Recorded
    from_chart: bool
    made_by: str | None = None  # a stand-in: what makes it at runtime (runtime.py)

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        ns = self.manifest["metadata"].get("namespace")
        return str(ns) if ns else None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace or "", self.name)

    @property
    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        if self.made_by is not None:
            own = f" (made by {self.made_by})"
        elif self.from_chart:
            own = f" (in release {self.origin.inputs['name']})"
        else:
            own = ""
        return f"{self.kind} {where}{self.name}{own}"


class Assembly:
    """One planned stack: its registrations, their waits, and the objects in the cluster."""

    def __init__(self, resources: list[Recorded], kube_version: str) -> None:
        self.resources = resources
        self.by_urn = {r.urn: r for r in resources}
        self.kube_version = kube_version
        self.objects: list[Obj] = []
        for r in resources:
            if r.type == HELM_RELEASE_TYPE:
                continue
            manifest = manifest_of(r)
            if manifest is not None and "metadata" in manifest:
                self.objects.append(Obj(_patched(r, manifest), r, False))
        self.chart_objects: dict[str, list[Obj]] = {}
        for c in chart_resources(resources, kube_version):
            if _test_hook(c.inputs):
                continue  # run by `helm test` only, never by an install
            release = self.by_urn[c.parent]
            self.chart_objects.setdefault(release.urn, []).append(Obj(c.inputs, release, True))
        self.objects += [o for objs in self.chart_objects.values() for o in objs]
        self._after: dict[str, frozenset[str]] = {}

    # ------------------------------------------------------------------ waits

    def after(self, urn: str) -> frozenset[str]:
        """Every registration `urn` waits for before it is created (transitively)."""
        if urn not in self._after:
            r = self.by_urn[urn]
            direct = set(r.depends_on)
            if r.parent in self.by_urn:
                direct.add(r.parent)
            found: set[str] = set(direct)
            for d in direct:
                if d in self.by_urn:
                    found |= self.after(d)
            self._after[urn] = frozenset(found)
        return self._after[urn]

    def waits_for(self, obj: Obj, other: Recorded) -> bool:
        """`obj` is created only once `other` is (for a chart object: its release's waits,
        or the same release)."""
        return other.urn == obj.origin.urn or other.urn in self.after(obj.origin.urn)

    # ------------------------------------------------------------------ looking up

    def releases(self) -> list[Recorded]:
        return [r for r in self.resources if r.type == HELM_RELEASE_TYPE]

    def find(self, kind: str, namespace: str | None, name: str) -> list[Obj]:
        return [o for o in self.objects if o.key == (kind, namespace or "", name)]

    def in_namespace(self, namespace: str) -> Iterator[Obj]:
        return (o for o in self.objects if o.namespace == namespace)

    def crds(self) -> dict[tuple[str, str], list[tuple[Recorded, dict[str, Any]]]]:
        """(group, kind) -> who installs that CRD, and the CRD: a CustomResourceDefinition
        the program declares, or a release (its chart's crds/ folder or its templates)."""
        found: dict[tuple[str, str], list[tuple[Recorded, dict[str, Any]]]] = {}
        for o in self.objects:
            if o.kind == "CustomResourceDefinition":
                spec = o.manifest["spec"]
                key = (spec["group"], spec["names"]["kind"])
                found.setdefault(key, []).append((o.origin, o.manifest))
        for release in self.releases():
            for crd in chart_crds(release):
                spec = crd["spec"]
                found.setdefault((spec["group"], spec["names"]["kind"]), []).append((release, crd))
        return found


def _test_hook(manifest: dict[str, Any]) -> bool:
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    hooks = annotations.get("helm.sh/hook", "")
    return "test" in [h.strip() for h in str(hooks).split(",")]


def _patched(resource: Recorded, manifest: dict[str, Any]) -> dict[str, Any]:
    """A NodePatch is a Node to the cluster."""
    if resource.type == "kubernetes:core/v1:NodePatch":
        return {**manifest, "kind": "NodePatch"}
    return manifest


class _CrdLoader(yaml.CSafeLoader):
    """YAML 1.1 reads a bare `=` as the `value` tag, which safe loaders refuse; a CRD's
    enum of operators holds one (Gateway API's): read it as the string it is."""


def _scalar(loader: yaml.CSafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_CrdLoader.add_constructor("tag:yaml.org,2002:value", _scalar)


def chart_crds(release: Recorded) -> list[dict[str, Any]]:
    """The CRDs Helm installs from the chart's (and its subcharts') crds/ folders before
    anything else of the release (Helm does not render them: `helm template` omits them)."""
    return list(_chart_crds(chart_of(release)))


@functools.cache
def _chart_crds(ref: ChartRef) -> tuple[dict[str, Any], ...]:
    """Read once per chart (values do not reach crds/): kube-prometheus-stack's are MBs."""
    out: list[dict[str, Any]] = []
    for entry in load(ref).crds:
        for doc in yaml.load_all(entry["data"], Loader=_CrdLoader):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                out.append(doc)
    return tuple(out)


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template of a workload (Deployment, StatefulSet, DaemonSet, Job, CronJob,
    ReplicaSet) or a Pod's spec; None for anything else."""
    kind, spec = manifest["kind"], manifest.get("spec") or {}
    if kind == "Pod":
        return dict(spec)
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif kind not in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return None
    template = (spec.get("template") or {}).get("spec")
    return dict(template) if template else None


def pod_labels(manifest: dict[str, Any]) -> dict[str, str]:
    kind, spec = manifest["kind"], manifest.get("spec") or {}
    if kind == "Pod":
        return dict(manifest["metadata"].get("labels") or {})
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return dict(((spec.get("template") or {}).get("metadata") or {}).get("labels") or {})


# Built-in kinds webhooks name by their plural (custom kinds: their CRD's spec.names.plural).
BUILTIN_PLURALS = {
    ("", "Pod"): "pods",
    ("", "Service"): "services",
    ("", "Secret"): "secrets",
    ("", "ConfigMap"): "configmaps",
    ("", "Namespace"): "namespaces",
    ("", "ServiceAccount"): "serviceaccounts",
    ("", "PersistentVolumeClaim"): "persistentvolumeclaims",
    ("apps", "Deployment"): "deployments",
    ("apps", "StatefulSet"): "statefulsets",
    ("apps", "DaemonSet"): "daemonsets",
    ("batch", "Job"): "jobs",
    ("batch", "CronJob"): "cronjobs",
    ("networking.k8s.io", "NetworkPolicy"): "networkpolicies",
    ("policy", "PodDisruptionBudget"): "poddisruptionbudgets",
}


def plurals(a: Assembly) -> dict[tuple[str, str], str]:
    found = dict(BUILTIN_PLURALS)
    for key, installers in a.crds().items():
        found[key] = installers[0][1]["spec"]["names"]["plural"]
    return found
