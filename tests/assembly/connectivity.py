"""Which pod may talk to which, as the CNI will enforce the NetworkPolicies: computed by IBM's
network-config-analyzer (PyPI `network-config-analyzer`, run from .venv-netpol, `make
netpol`) over every pod of a stack (ours, the charts', and the stand-ins for what
controllers and the cluster run: runtime.py) and every NetworkPolicy (ours and the
charts'). Non-pod endpoints (the API server, nodes, the internet) are address blocks.
Pods on the host network are the node's: no NetworkPolicy applies to them, and they are
left out."""

from __future__ import annotations

import functools
import ipaddress
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.root import PROJECT_ROOT
from tests.assembly import references
from tests.assembly.graph import Assembly, Obj, pod_labels, pod_spec
from tests.assembly.runtime import namespace_labels

NCA = PROJECT_ROOT / ".venv-netpol" / "bin" / "nca"
_LINE = re.compile(r"^(?P<src>\S+) => (?P<dst>\S+) : (?P<conn>.+)$")
_ADDRESSES = re.compile(r"^\d+\.\d+\.\d+\.\d+(-\d+\.\d+\.\d+\.\d+|/\d+)?$")


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace and name as written for the analyzer) or an address."""

    namespace: str
    name: str


def pod_name(o: Obj) -> str:
    """The pod that stands for a workload: its kind and name (unique in its namespace)."""
    return f"{o.kind.lower()}-{o.name}"[:63]


def _pods(a: Assembly) -> tuple[list[dict[str, Any]], dict[str, Obj]]:
    pods, owners = [], {}
    for o in references.world(a):
        spec = pod_spec(o.manifest)
        if spec is None or spec.get("hostNetwork"):
            continue
        containers = [
            {"name": c["name"], "image": "x", "ports": c.get("ports") or []}
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
        ]
        name = pod_name(o)
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": o.namespace,
                    "labels": pod_labels(o.manifest),
                },
                "spec": {"containers": containers},
            }
        )
        owners[f"{o.namespace}/{name}"] = o
    return pods, owners


def _namespaces(a: Assembly) -> list[dict[str, Any]]:
    names = {o.namespace for o in references.world(a) if o.namespace}
    names |= {o.name for o in a.objects if o.kind == "Namespace"}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": n, "labels": namespace_labels(a, n)},
        }
        for n in sorted(names)
    ]


@dataclass(frozen=True)
class Connections:
    """protocol -> allowed destination ports (None: every port)."""

    by_protocol: dict[str, frozenset[int] | None]

    def allows(self, protocol: str, port: int) -> bool:
        if protocol not in self.by_protocol:
            return False
        ports = self.by_protocol[protocol]
        return ports is None or port in ports


def _ports(text: str) -> frozenset[int]:
    found: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        found |= set(range(int(low), int(high or low) + 1))
    return frozenset(found)


def parse_connections(text: str) -> dict[str, frozenset[int] | None]:
    """`All connections`, or `{protocols:TCP, UDP,dst_ports:53},{protocols:TCP}`."""
    if text.strip() == "All connections":
        return {p: None for p in ("TCP", "UDP", "SCTP")}
    out: dict[str, frozenset[int] | None] = {}
    for item in re.findall(r"\{([^}]*)\}", text):
        protocols, _, ports = item.partition(",dst_ports:")
        names = [p.strip() for p in protocols.removeprefix("protocols:").split(",")]
        allowed = _ports(ports) if ports else None
        for name in names:
            if out.get(name, frozenset()) is None or allowed is None:
                out[name] = None
            else:
                out[name] = frozenset(out.get(name) or frozenset()) | allowed
    return out


class Connectivity:
    """The analyzer's connectivity map of one stack."""

    def __init__(self, a: Assembly) -> None:
        self.a = a
        pods, self.owners = _pods(a)
        policies = [o.manifest for o in a.objects if o.kind == "NetworkPolicy"]
        self.lines = _run(pods, _namespaces(a), policies)

    def pod_connections(self) -> list[tuple[str, str, dict[str, frozenset[int] | None]]]:
        """(src pod, dst pod, what is allowed) for every pair of pods the analyzer lists."""
        return [
            (s.split("[", 1)[0], d.split("[", 1)[0], conn)
            for s, d, conn in self.lines
            if not _ADDRESSES.match(s) and not _ADDRESSES.match(d)
        ]

    def allowed(self, src: str, dst: str, protocol: str, port: int) -> bool:
        """`src`/`dst`: `namespace/pod` (pod_name) or an IPv4 address."""
        for s, d, conn in self.lines:
            if _covers(s, src) and _covers(d, dst) and Connections(conn).allows(protocol, port):
                return True
        return False


def _covers(endpoint: str, wanted: str) -> bool:
    """The analyzer's endpoint (`ns/pod[Pod]`, an address, a range `a-b` or a CIDR) holds
    the wanted pod (`ns/pod`) or address."""
    address = _ADDRESSES.match(endpoint) is not None
    if "/" in wanted and not wanted[0].isdigit():
        return not address and endpoint.split("[", 1)[0] == wanted
    if not address:
        return False
    ip = ipaddress.IPv4Address(wanted)
    if "-" in endpoint:
        low, high = (ipaddress.IPv4Address(x) for x in endpoint.split("-"))
        return low <= ip <= high
    return ip in ipaddress.IPv4Network(endpoint, strict=False)


@functools.cache
def _run_cached(key: str) -> tuple[tuple[str, str, Any], ...]:
    pods, namespaces, policies = yaml.safe_load(key)
    with tempfile.TemporaryDirectory(prefix="nca-") as tmp:
        folder = Path(tmp)
        (folder / "policies").mkdir()
        (folder / "pods.yaml").write_text(
            yaml.safe_dump({"apiVersion": "v1", "kind": "PodList", "items": pods})
        )
        (folder / "namespaces.yaml").write_text(
            yaml.safe_dump({"apiVersion": "v1", "kind": "NamespaceList", "items": namespaces})
        )
        (folder / "policies" / "policies.yaml").write_text(
            yaml.safe_dump_all(policies) if policies else ""
        )
        out = subprocess.run(
            [str(NCA), "--connectivity", str(folder / "policies"), "-p", str(folder / "pods.yaml"),
             "-n", str(folder / "namespaces.yaml"), "-o", "txt_no_fw_rules"],
            capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
    if out.returncode not in (0, 1) or "=>" not in out.stdout:
        raise RuntimeError(f"network-config-analyzer failed: {out.stderr.strip() or out.stdout}")
    found = []
    for line in out.stdout.splitlines():
        m = _LINE.match(line.strip())
        if m:
            found.append((m["src"], m["dst"], parse_connections(m["conn"])))
    return tuple(found)


def _run(
    pods: list[dict[str, Any]], namespaces: list[dict[str, Any]], policies: list[dict[str, Any]]
) -> tuple[tuple[str, str, Any], ...]:
    if not NCA.exists():
        raise RuntimeError(f"{NCA} is missing: run `make netpol`")
    return _run_cached(yaml.safe_dump([pods, namespaces, policies], sort_keys=True))
