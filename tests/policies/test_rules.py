"""Every rule: a fixture that violates it is reported, and the shipped stacks pass."""

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from infra.engine import Recorded
from policies.review import Violation, review
from policies.rules import RULES
from tests.helpers import planned

Mutate = Callable[[dict[str, Any]], object]


def only(name: str, **settings: Any) -> dict[str, Any]:
    return {"all": "disabled", name: {"enforcementLevel": "mandatory", **settings}}


def resources(stack: str) -> list[Recorded]:
    return [
        replace(r, inputs=copy.deepcopy(r.inputs), secret_paths=list(r.secret_paths))
        for r in planned(stack).resources
    ]


def broken(stack: str, kind: str, mutate: Mutate, name: str | None = None) -> list[Recorded]:
    out = resources(stack)
    targets = [r for r in out if r.type.endswith(kind) and (name is None or r.name == name)]
    assert targets, f"no {kind} {name or ''} in {stack}"
    for r in targets:
        mutate(r.inputs)
    return out


def without(stack: str, kind: str, name: str | None = None) -> list[Recorded]:
    return [
        r
        for r in resources(stack)
        if not (r.type.endswith(kind) and (name is None or r.name == name))
    ]


def vllm(inputs: dict[str, Any]) -> dict[str, Any]:
    c: dict[str, Any] = inputs["spec"]["template"]["spec"]["containers"][0]
    return c


def pod(inputs: dict[str, Any]) -> dict[str, Any]:
    p: dict[str, Any] = inputs["spec"]["template"]["spec"]
    return p


def set_arg(flag: str, value: str) -> Mutate:
    def mutate(inputs: dict[str, Any]) -> None:
        args = vllm(inputs)["args"]
        args[args.index(flag) + 1] = value

    return mutate


DEPLOYMENT = "apps/v1:Deployment"
# (rule, stack, resources that break it, settings)
CASES: list[tuple[str, str, Callable[[], list[Recorded]], dict[str, Any]]] = [
    (
        "gpu-requests-equal-limits",
        "single-4090d",
        lambda: broken(
            "single-4090d",
            DEPLOYMENT,
            lambda i: vllm(i)["resources"]["limits"].update({"nvidia.com/gpu": "1"}),
        ),
        {},
    ),
    (
        "gpu-toleration-requires-gpu",
        "single-4090d",
        lambda: broken(
            "single-4090d",
            DEPLOYMENT,
            lambda i: [r.pop("nvidia.com/gpu") for r in vllm(i)["resources"].values()],
        ),
        {},
    ),
    (
        "vllm-parallelism-matches-gpus",
        "single-4090d",
        lambda: broken("single-4090d", DEPLOYMENT, set_arg("--tensor-parallel-size", "4")),
        {},
    ),
    (
        "vllm-tp-needs-shm",
        "single-4090d",
        lambda: broken(
            "single-4090d",
            DEPLOYMENT,
            lambda i: vllm(i).update(
                volumeMounts=[m for m in vllm(i)["volumeMounts"] if m["mountPath"] != "/dev/shm"]
            ),
        ),
        {},
    ),
    (
        "vllm-probes",
        "single-4090d",
        lambda: broken("single-4090d", DEPLOYMENT, lambda i: vllm(i).pop("livenessProbe")),
        {},
    ),
    (
        "vllm-probes",
        "single-4090d",
        lambda: broken(  # startup budget under the estimate
            "single-4090d", DEPLOYMENT, lambda i: vllm(i)["startupProbe"].update(failureThreshold=2)
        ),
        {},
    ),
    (
        "termination-grace-covers-drain",
        "single-4090d",
        lambda: broken(
            "single-4090d", DEPLOYMENT, lambda i: pod(i).update(terminationGracePeriodSeconds=30)
        ),
        {},
    ),
    (
        "images-pinned",
        "dev",
        lambda: broken(
            "dev", DEPLOYMENT, lambda i: vllm(i).update(image="vllm/vllm-openai:latest")
        ),
        {},
    ),
    ("images-pinned", "dev", lambda: resources("dev"), {"requireDigest": True}),
    (
        "container-resources",
        "single-4090d",
        lambda: broken(
            "single-4090d",
            DEPLOYMENT,
            lambda i: pod(i)["initContainers"][0]["resources"].pop("limits"),
        ),
        {},
    ),
    (
        "no-privileged-workloads",
        "single-4090d",
        lambda: broken("single-4090d", DEPLOYMENT, lambda i: pod(i).update(hostNetwork=True)),
        {},
    ),
    (
        "no-privileged-workloads",
        "single-4090d",
        lambda: broken(
            "single-4090d",
            DEPLOYMENT,
            lambda i: pod(i)["volumes"].append({"name": "host", "hostPath": {"path": "/"}}),
        ),
        {},
    ),
    (
        "no-plaintext-secrets",
        "single-4090d",
        lambda: broken(
            "single-4090d",
            DEPLOYMENT,
            lambda i: vllm(i)["env"].append({"name": "HF_TOKEN", "value": "hf_plaintext"}),
        ),
        {},
    ),
    (
        "model-revision-pinned",
        "dev",
        lambda: broken(
            "dev",
            DEPLOYMENT,
            lambda i: [
                e.update(value="main")
                for e in pod(i)["initContainers"][0]["env"]
                if e["name"] == "MODEL_REVISION"
            ],
        ),
        {},
    ),
    (
        "serving-namespace-default-deny",
        "dev",
        lambda: without("dev", "NetworkPolicy", "llm-serving/default-deny"),
        {},
    ),
    (
        "multi-replica-pdb",
        "single-4090d",
        lambda: without("single-4090d", "PodDisruptionBudget"),
        {},
    ),
    ("gateway-auth-and-tls", "single-4090d", lambda: without("single-4090d", "SecurityPolicy"), {}),
    ("gateway-auth-and-tls", "dev", lambda: resources("dev"), {"requireTls": True}),
    (
        "zone-resilience",
        "dr-primary",
        lambda: broken(
            "dr-primary",
            DEPLOYMENT,
            lambda i: i["metadata"]["annotations"].update({"llm-platform.io/active-replicas": "2"}),
        ),
        {},
    ),
    (
        "zone-resilience",
        "dr-primary",
        lambda: broken("dr-primary", DEPLOYMENT, lambda i: pod(i).pop("topologySpreadConstraints")),
        {},
    ),
    (
        "helm-chart-pinned",
        "dev",
        lambda: broken(
            "dev", "helm.sh/v3:Release", lambda i: i.update(version="^2.0"), "keda/keda"
        ),
        {},
    ),
    (
        "alerts-reach-a-person",
        "single-4090d",
        lambda: broken(
            "single-4090d",
            "helm.sh/v3:Release",
            lambda i: i["values"]["alertmanager"]["config"]["route"].update(routes=[]),
            "monitoring/kube-prometheus-stack",
        ),
        {"requireReceivers": True},
    ),
    (
        "keda-vllm-metrics",
        "dev",
        lambda: broken(
            "dev",
            "ScaledObject",
            lambda i: i["spec"]["triggers"][0]["metadata"].update(
                query="sum(vllm:gpu_cache_usage_perc)"
            ),
        ),
        {},
    ),
    (
        "keda-vllm-metrics",
        "dev",
        lambda: broken(
            "dev",
            "ScaledObject",
            lambda i: i["spec"]["triggers"][0]["metadata"].update(
                query="sum(vllm:num_requests_waiting)"
            ),
        ),
        {},
    ),
]


def run(name: str, fixture: list[Recorded], **settings: Any) -> list[Violation]:
    return review(fixture, only(name, **settings))


@pytest.mark.parametrize(
    ("name", "stack", "fixture", "settings"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_a_violating_fixture_is_reported(
    name: str, stack: str, fixture: Callable[[], list[Recorded]], settings: dict[str, Any]
) -> None:
    assert run(name, resources(stack), **{k: False for k in settings}) == [], (
        "the unbroken stack must pass"
    )
    found = run(name, fixture(), **settings)
    assert found and {v.policy for v in found} == {name}
    assert all(v.level == "mandatory" and ". Fix: " in v.message for v in found)


def test_every_rule_has_a_violating_fixture() -> None:
    assert {c[0] for c in CASES} == {r.name for r in RULES}


def test_secret_values_must_be_pulumi_secrets_where_the_review_can_tell() -> None:
    fixture = resources("single-4090d")
    for r in fixture:
        if r.name == "llm-gateway/llm-api-keys":
            r.secret_paths.clear()  # as if the keys had been written in plain text
    [found] = run("no-plaintext-secrets", fixture)
    assert "stringData holds values that are not Pulumi secrets" in found.message


@pytest.mark.parametrize("stack", ["dev", "single-4090d", "dr-primary", "dr-secondary"])
def test_shipped_stacks_pass_every_rule_at_production_strictness(stack: str) -> None:
    production = {
        "all": "mandatory",
        "images-pinned": {"requireDigest": stack != "dev"},
        "gateway-auth-and-tls": {"requireTls": stack != "dev"},
        "alerts-reach-a-person": {"requireReceivers": stack != "dev"},
    }
    assert review(resources(stack), production) == []
