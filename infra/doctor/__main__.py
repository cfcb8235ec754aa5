"""Check, before a first `pulumi up`, what a stack needs of its cluster and this machine.

Reads the cluster of the stack's kubeconfig context with kubectl (`get` only: it changes
nothing), and says for each need: ok, WARN, FAIL, or -- (what it cannot check from here and
how to check it yourself). Exit 1 when something would make `pulumi up` fail."""

from __future__ import annotations

import shutil
import subprocess
import sys

from infra.config import ConfigError, StackConfig
from infra.doctor.checks import CLUSTER_CHECKS, Finding
from infra.doctor.kubectl import Kubectl, UnreachableError, kubectl_binary
from infra.engine import Recorded
from infra.stack_run import plan_stack, stack_config, stack_parser

TAGS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "--"}
PULUMI_INSTALL = "https://www.pulumi.com/docs/install/"
KUBECTL_INSTALL = "https://kubernetes.io/docs/tasks/tools/"


def _version(binary: str, *args: str) -> str:
    try:
        done = subprocess.run(
            [binary, *args], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "found (its version did not answer)"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def tools(cfg: StackConfig) -> list[Finding]:
    """The command-line tools `pulumi up` needs here."""
    wanted = [("pulumi", ("version",), PULUMI_INSTALL)]
    if cfg.images.build:
        wanted.append(("docker", ("--version",), "https://docs.docker.com/get-docker/"))
    if cfg.cluster.provider == "gke":
        wanted.append(("gcloud", ("--version",), "https://cloud.google.com/sdk/docs/install"))
    found = []
    for name, args, how in wanted:
        path = shutil.which(name)
        found.append(
            Finding("ok", name, _version(path, *args))
            if path
            else Finding("fail", name, f"not found on PATH: {how}")
        )
    return found


def not_checked(cfg: StackConfig) -> list[Finding]:
    """What needs a shell on a node, a registry login or DNS: said, with how to check it."""
    found = []
    nodes = sorted({n for pool in cfg.node_pools for n in pool.nodes})
    if nodes and any(m.device == "gpu" for m in cfg.models):
        found.append(
            Finding(
                "skip",
                "gpu",
                f"the NVIDIA driver and container toolkit on {', '.join(nodes)}: run "
                "`nvidia-smi` and `nvidia-ctk --version` there",
            )
        )
    if not cfg.dr or not cfg.dr.snapshots:
        found.append(
            Finding(
                "skip",
                "egress",
                "pods download weights from huggingface.co over HTTPS: the nodes need egress",
            )
        )
    if cfg.images.build:
        found.append(
            Finding("skip", "images.registry", f"push access: `docker login {cfg.images.registry}`")
        )
    if cfg.gateway.enabled and cfg.gateway.hostname:
        found.append(_dns(cfg, cfg.gateway.hostname))
    return found


def _dns(cfg: StackConfig, hostname: str) -> Finding:
    if cfg.dr is None:
        return Finding(
            "skip",
            "gateway.hostname",
            f"after pulumi up, point {hostname} at the address in `pulumi stack output "
            "gatewayAddress` (ACME needs it before it can issue)",
        )
    if cfg.dr.dns is None:
        return Finding(
            "skip", "gateway.hostname", f"{hostname} is written by the secondary stack of the pair"
        )
    return Finding(
        "skip",
        "dr.dns",
        f"the program writes {hostname} through {cfg.dr.dns.provider}: its credentials must "
        "be allowed to change that zone",
    )


def _context(cfg: StackConfig, kube: Kubectl) -> Finding:
    contexts = kube.contexts()
    wanted = cfg.cluster.effective_context or kube.current_context()
    if wanted is None:
        return Finding("fail", "cluster.context", "unset, and kubectl has no current context")
    if wanted not in contexts:
        hint = " (`make dev-up` creates it)" if cfg.cluster.provider == "kind" else ""
        known = ", ".join(contexts) or "none"
        return Finding(
            "fail",
            "cluster.context",
            f"no context {wanted!r} in the kubeconfig{hint} (it has: {known})",
        )
    kube.context = wanted
    return Finding("ok", "cluster.context", wanted)


def _server(cfg: StackConfig, kube: Kubectl) -> Finding:
    version = kube.server_version()
    minor = f"{version.get('major')}.{str(version.get('minor', '')).rstrip('+')}"
    text = f"API server {version.get('gitVersion', minor)}"
    if minor != cfg.cluster.kubernetes_version:
        return Finding(
            "warn",
            "cluster.kubernetesVersion",
            f"{cfg.cluster.kubernetes_version}, but the {text}: manifests are checked for the "
            "version the stack names",
        )
    return Finding("ok", "cluster.kubernetesVersion", text)


def cluster(cfg: StackConfig, resources: list[Recorded]) -> list[Finding]:
    """Every cluster check, or why none could run."""
    if cfg.cluster.provider == "gke":
        return [
            Finding(
                "skip",
                "cluster",
                f"this stack creates its GKE cluster in {cfg.cluster.project}: nothing to read "
                "yet; pulumi-gcp needs `gcloud auth application-default login`",
            )
        ]
    binary = kubectl_binary()
    if binary is None:
        return [Finding("fail", "kubectl", f"not found on PATH: {KUBECTL_INSTALL}")]
    kube = Kubectl(binary, None, cfg.cluster.kubeconfig)
    try:
        context = _context(cfg, kube)
        if context.level == "fail":
            return [context]
        found = [context, _server(cfg, kube)]
    except UnreachableError as exc:
        return [Finding("fail", "cluster", f"kubectl cannot reach it: {exc}")]
    for check in CLUSTER_CHECKS:
        try:
            found += check(cfg, resources, kube)
        except UnreachableError as exc:
            subject = (check.__name__ or "").removeprefix("check_")
            found.append(Finding("fail", subject, f"kubectl could not read it: {exc}"))
    return found


def render(stack: str, findings: list[Finding]) -> str:
    lines = [f"doctor: stack {stack}"]
    lines += [f"  {TAGS[f.level]:<4}  {f.subject}: {f.text}" for f in findings]
    counts = {level: sum(f.level == level for f in findings) for level in TAGS}
    lines.append(
        f"doctor: {counts['fail']} failed, {counts['warn']} warnings, {counts['ok']} ok, "
        f"{counts['skip']} to check yourself"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = stack_parser("python -m infra.doctor", __doc__, "check")
    args = parser.parse_args(argv)
    try:
        cfg = stack_config(args.stack, args.config_file)
        resources = plan_stack(args.stack, args.config_file).resources
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print("doctor: the stack file does not plan; `make plan` lists why", file=sys.stderr)
        return 2
    findings = tools(cfg) + cluster(cfg, resources) + not_checked(cfg)
    print(render(args.stack, findings))
    return 1 if any(f.level == "fail" for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main())
