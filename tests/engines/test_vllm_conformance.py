"""The capacity planner against vLLM 0.33 itself (tests/engines/vllm_judge.py, run in
.venv-engines): every config the planner accepts builds in vLLM, and every config vLLM
refuses the planner refuses first, in one line naming the key.

Generated configs: every catalog model (bf16 and pre-quantized) x tensor parallel 1-8 x
quantization, each with a seeded draw of KV dtype, context length and batch limits, on an
8-GPU node with memory to spare (so the engine rules, not memory, decide), plus the shipped
stacks' own command lines. Where the planner is stricter than vLLM can be here, on purpose,
the case must match STRICTER_ON_PURPOSE below, with its reason.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from infra.catalog.gpus import GPUS
from infra.catalog.models import MODELS, ModelGeometry
from infra.catalog.vllm import DEFAULT_GPU_MEMORY_UTILIZATION, GIB, TTFT_DEFAULT_BUCKETS
from infra.config import ConfigError
from infra.planning.capacity import ServingPlan
from infra.planning.memory import batch_defaults
from infra.planning.vllm_args import CACHE_MOUNT, VLLM_COMMAND, model_path, vllm_args
from infra.root import PROJECT_ROOT
from tests.builders import gpu_box
from tests.helpers import STACKS, by_type, container, plan_of, planned

ENGINES_PYTHON = PROJECT_ROOT / ".venv-engines" / "bin" / "python"
JUDGE = Path(__file__).with_name("vllm_judge.py")
SEED = 20261121
DRAWS_PER_SHAPE = 2
TP_SIZES = range(1, 9)
SHUTDOWN_SECONDS = 60  # any value: vLLM only parses it

# Planner refusals vLLM cannot make on a CPU (it never sees the node or GPU memory), and
# refusals of things vLLM would run but the model card does not support: (key, words in
# the message) -> why the planner refuses anyway.
STRICTER_ON_PURPOSE: dict[tuple[str, str], str] = {
    ("tensorParallel", "nodes have"): "a replica must fit on one node's GPUs",
    ("tensorParallel", "weights do not fit"): "GPU memory, which vLLM on CPU cannot see",
    ("maxModelLen", "KV cache too small"): "GPU memory, which vLLM on CPU cannot see",
    ("gpuMemoryUtilization", ""): "GPU memory, which vLLM on CPU cannot see",
    ("ropeScaling", "does not support YaRN"): "the model card offers no YaRN for it",
    ("ropeScaling", "fits the native"): "static YaRN degrades prompts that fit natively",
}


def _family(repo: str, g: ModelGeometry) -> dict[str, Any]:
    if "llama" in repo.lower():
        return {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "rope_scaling": {
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192,
            },
        }
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "use_sliding_window": False,
        "sliding_window": g.max_position_embeddings,
        "max_window_layers": g.layers,
    }


def config_json(repo: str, g: ModelGeometry) -> dict[str, Any]:
    """The model's config.json as published, from the catalog's geometry."""
    out: dict[str, Any] = {
        **_family(repo, g),
        "hidden_size": g.hidden_size,
        "intermediate_size": g.intermediate_size,
        "num_attention_heads": g.attention_heads,
        "num_hidden_layers": g.layers,
        "num_key_value_heads": g.kv_heads,
        "vocab_size": g.vocab_size,
        "max_position_embeddings": g.max_position_embeddings,
        "rope_theta": g.rope_theta,
        "tie_word_embeddings": g.tied_embeddings,
        "rms_norm_eps": 1e-6,
        "hidden_act": "silu",
        "torch_dtype": "bfloat16" if g.quantization is None else "float16",
    }
    if g.head_dim is not None:
        out["head_dim"] = g.head_dim
    if g.quantization is not None:
        q = g.quantization
        out["quantization_config"] = {
            "quant_method": q.method,
            "bits": q.bits,
            "group_size": q.group_size,
            **({"zero_point": True, "version": "gemm"} if q.method == "awq" else {}),
            **({"desc_act": False, "sym": True} if q.method == "gptq" else {}),
        }
    return out


@dataclass
class Case:
    id: str
    repo: str
    model: dict[str, Any]  # the models[0] entry of the stack
    argv: list[str] = field(default_factory=list)  # what the user asked, as vLLM flags
    accepted: bool = False
    lines: list[str] = field(default_factory=list)  # planner's refusal, one line each


def _user_argv(m: dict[str, Any]) -> list[str]:
    """The command line a user would write for this model entry (no planner involved)."""
    argv = ["{model}", "--tensor-parallel-size", str(m["tensorParallel"])]
    for key, flag in (
        ("quantization", "--quantization"),
        ("kvCacheDtype", "--kv-cache-dtype"),
        ("maxModelLen", "--max-model-len"),
        ("maxNumSeqs", "--max-num-seqs"),
        ("maxNumBatchedTokens", "--max-num-batched-tokens"),
    ):
        if m.get(key) is not None:
            argv += [flag, str(m[key])]
    return argv


def _quantizations(g: ModelGeometry) -> list[str | None]:
    if g.quantization is None:
        return [None, "fp8", "awq"]
    other = "gptq" if g.quantization.method == "awq" else "awq"
    return [None, f"{g.quantization.method}_marlin", other]


def generated_models() -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(SEED)
    out = []
    for repo, g in sorted(MODELS.items()):
        for tp in TP_SIZES:
            for quant in _quantizations(g):
                for _ in range(DRAWS_PER_SHAPE):
                    tokens, seqs = rng.choice([(None, None), (512, 256), (128, 256), (8192, 64)])
                    length = rng.choice([None, 4096, g.max_position_embeddings])
                    entry = {
                        "name": "m",
                        "model": repo,
                        "pool": "big",
                        "tensorParallel": tp,
                        "quantization": quant,
                        "kvCacheDtype": rng.choice(["auto", "fp8"]),
                        "maxModelLen": length,
                        "maxNumBatchedTokens": tokens,
                        "maxNumSeqs": seqs,
                    }
                    out.append((repo, {k: v for k, v in entry.items() if v is not None}))
    return out


def _stack_for(model: dict[str, Any]) -> dict[str, Any]:
    raw = gpu_box()
    raw["nodePools"] = [{"name": "big", "gpu": "h200", "gpusPerNode": 8, "nodes": ["n1"]}]
    raw["models"] = [model]
    raw["autoscaling"] = {"enabled": False}
    return raw


def _emitted(plan: ServingPlan) -> list[str]:
    """The planner's own command line, with the model directory left to the judge."""
    return [a.replace(model_path(plan), "{model}") for a in vllm_args(plan, SHUTDOWN_SECONDS)]


def planner_cases() -> list[Case]:
    cases = []
    for i, (repo, model) in enumerate(generated_models()):
        case = Case(f"gen-{i}", repo, model)
        try:
            [plan] = plan_of(_stack_for(model)).models
        except ConfigError as refused:
            case.lines = refused.lines()
            case.argv = _user_argv(model)
        else:
            case.accepted = True
            case.argv = _emitted(plan)
        cases.append(case)
    for stack in STACKS:
        for j, (repo, argv) in enumerate(deployed_command_lines(stack)):
            cases.append(Case(f"{stack}-{j}", repo, {}, argv, accepted=True))
    return cases


def deployed_command_lines(stack: str) -> list[tuple[str, list[str]]]:
    """(repo, args after `vllm serve`) of every vLLM container the stack deploys."""
    out = []
    for deployment in by_type(planned(stack), "apps/v1:Deployment"):
        c = container(deployment)
        if c.get("command") != VLLM_COMMAND:
            continue
        path, *rest = c["args"]
        repo = path.removeprefix(f"{CACHE_MOUNT}/").rsplit("/", 1)[0]
        out.append((repo, ["{model}", *rest]))
    return out


@cache
def verdicts() -> tuple[list[Case], dict[str, dict[str, Any]]]:
    assert ENGINES_PYTHON.exists(), (
        f"{ENGINES_PYTHON} is missing: `make engines` installs vLLM 0.33 (CPU) for this "
        "suite; `make test` does it for you"
    )
    cases = planner_cases()
    request = {
        "models": {repo: config_json(repo, MODELS[repo]) for repo in {c.repo for c in cases}},
        "cases": [{"id": c.id, "model": c.repo, "argv": c.argv} for c in cases],
        "gpus": {
            key: {"name": gpu.name, "memoryBytes": int(gpu.memory_gib * GIB)}
            for key, gpu in GPUS.items()
        },
    }
    out = PROJECT_ROOT / ".venv-engines" / "verdicts.json"
    done = subprocess.run(
        [str(ENGINES_PYTHON), str(JUDGE), str(out)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return cases, json.loads(out.read_text())


def _stricter_reason(case: Case) -> str | None:
    for line in case.lines:
        key = line.split("llm-platform:models[0].", 1)[-1].split(":", 1)[0]
        for (want, words), reason in STRICTER_ON_PURPOSE.items():
            if key == want and words in line:
                return reason
    return None


def test_the_judge_ran_no_broken_case() -> None:
    cases, results = verdicts()
    broken = {c.id: results[c.id]["error"] for c in cases if results[c.id]["ok"] is None}
    assert not broken, broken
    assert len(cases) >= 500, f"only {len(cases)} configs generated (seed {SEED})"


def test_every_config_the_planner_accepts_builds_in_vllm() -> None:
    cases, results = verdicts()
    bad = [
        f"{c.id} {c.repo} {c.model}: vLLM refused {c.argv} at {results[c.id]['stage']}: "
        f"{results[c.id]['error']}"
        for c in cases
        if c.accepted and not results[c.id]["ok"]
    ]
    assert not bad, f"seed {SEED}:\n" + "\n".join(bad)


def test_every_config_vllm_refuses_the_planner_refuses_in_one_line_naming_a_key() -> None:
    cases, results = verdicts()
    for c in cases:
        if results[c.id]["ok"] or c.accepted:
            continue
        assert c.lines and all("\n" not in line for line in c.lines), (c.id, c.lines)
        assert all(": llm-platform:models[0]." in line for line in c.lines), (c.id, c.lines)


def test_the_planner_is_stricter_than_vllm_only_where_listed() -> None:
    cases, results = verdicts()
    unexplained = [
        f"{c.id} {c.repo} {c.model}: planner refused, vLLM accepts: {c.lines}"
        for c in cases
        if not c.accepted and results[c.id]["ok"] and _stricter_reason(c) is None
    ]
    assert not unexplained, f"seed {SEED}:\n" + "\n".join(unexplained)


def test_vllm_refuses_what_the_planner_refuses_for_the_engine_rules() -> None:
    """The judge is not a rubber stamp: configs refused for engine rules fail in vLLM too."""
    cases, results = verdicts()
    engine_keys = ("tensorParallel: ", "quantization: ", "maxNumBatchedTokens: ", "maxNumSeqs: ")
    refused = [
        c
        for c in cases
        if not c.accepted
        and _stricter_reason(c) is None
        and any(k in line for line in c.lines for k in engine_keys)
    ]
    assert len(refused) > 50
    assert all(not results[c.id]["ok"] for c in refused)


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_command_lines_build_in_vllm(stack: str) -> None:
    cases, results = verdicts()
    mine = [c for c in cases if c.id.startswith(f"{stack}-")]
    assert mine
    assert all(results[c.id]["ok"] for c in mine), {c.id: results[c.id] for c in mine}


def test_the_vllm_defaults_the_catalog_copies_are_vllms() -> None:
    """The catalog's copies of vLLM 0.33 defaults, read back from vLLM itself."""
    _, results = verdicts()
    facts = results["__facts__"]
    assert facts["gpu_memory_utilization"] == DEFAULT_GPU_MEMORY_UTILIZATION
    assert tuple(facts["ttft_buckets"]) == TTFT_DEFAULT_BUCKETS
    mine = {key: list(batch_defaults(gpu)) for key, gpu in GPUS.items()}
    assert facts["batch_defaults"] == mine
