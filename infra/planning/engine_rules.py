"""What vLLM 0.33 refuses whatever the memory: tensor-parallel shapes, quantization that
does not match the checkpoint, batch limits. Pure; each rule names the vLLM code that
enforces it, and tests/engines/ checks every rule against vLLM itself."""

from __future__ import annotations

from infra.catalog.models import ModelGeometry
from infra.catalog.vllm import ON_THE_FLY_QUANTIZATION, PREQUANTIZED_KERNELS


def tensor_parallel_problem(geometry: ModelGeometry, tp: int) -> str | None:
    """Why vLLM refuses this TP size for the model, or None.

    config/model.py: TP divides the attention heads. model_executor/layers/linear.py, at
    model load: QKVParallelLinear splits the KV heads (TP divides them) or replicates them
    (TP a multiple of them); the MLP's MergedColumnParallelLinear splits intermediate_size;
    a quantized RowParallelLinear needs whole quantization groups on every rank."""
    g = geometry
    if g.attention_heads % tp:
        return f"does not divide the {g.attention_heads} attention heads"
    if g.kv_heads % tp and tp % g.kv_heads:
        return f"neither divides the {g.kv_heads} KV heads nor is a multiple of them"
    if g.intermediate_size % tp:
        return f"does not divide the MLP's intermediate size {g.intermediate_size}"
    q = g.quantization
    if q is not None:
        for what, width in (
            ("MLP's intermediate size", g.intermediate_size),
            ("attention output", g.attention_heads * g.head_size),
        ):
            if (width // tp) % q.group_size:
                return (
                    f"splits the {what} ({width}) into {width // tp}-wide shards, not whole "
                    f"{q.group_size}-weight quantization groups"
                )
    return None


def valid_tensor_parallel(geometry: ModelGeometry, limit: int) -> list[int]:
    """TP sizes vLLM accepts for this model, up to limit (GPUs on one node)."""
    return [tp for tp in range(1, limit + 1) if tensor_parallel_problem(geometry, tp) is None]


def quantization_problem(
    repo: str, geometry: ModelGeometry, quantization: str | None
) -> str | None:
    """Why vLLM refuses `--quantization` on this checkpoint, or None."""
    if quantization is None:
        return None
    q = geometry.quantization
    if q is None and quantization not in ON_THE_FLY_QUANTIZATION:
        on_the_fly = ", ".join(ON_THE_FLY_QUANTIZATION)
        return (
            f"{quantization} needs a checkpoint quantized with it, and {repo} is not "
            f"(vLLM: no quantization_config); use a pre-quantized repository (e.g. "
            f"{repo}-AWQ, described under geometry.quantization if not in the catalog) or "
            f"quantize while loading with one of: {on_the_fly}"
        )
    if q is not None and quantization not in PREQUANTIZED_KERNELS[q.method]:
        kernels = ", ".join(PREQUANTIZED_KERNELS[q.method])
        return (
            f"{repo} is already quantized with {q.method}; vLLM refuses another method: "
            f"use {kernels}, or remove quantization"
        )
    return None


def downloaded_bytes(geometry: ModelGeometry) -> int:
    """What the loader downloads and vLLM reads at start: the checkpoint as published
    (on-the-fly quantization shrinks memory, not the download)."""
    return geometry.weight_bytes


def batching_problem(max_num_batched_tokens: int, max_num_seqs: int) -> str | None:
    """config/scheduler.py: a step must have room for one token of every sequence."""
    if max_num_batched_tokens < max_num_seqs:
        return (
            f"maxNumBatchedTokens {max_num_batched_tokens} is below maxNumSeqs {max_num_seqs} "
            "(vLLM refuses it): raise maxNumBatchedTokens or lower maxNumSeqs"
        )
    return None
