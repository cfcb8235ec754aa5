"""The catalog's derived numbers agree with the published facts (config.json, model cards)."""

import pytest

from infra.catalog.gpus import GPUS
from infra.catalog.models import MODELS
from infra.planning.engine_rules import valid_tensor_parallel
from infra.planning.memory import kv_bytes_per_token

# Parameter counts published on each model card.
PUBLISHED_PARAMS = {
    "Qwen/Qwen2.5-0.5B-Instruct": 0.494e9,
    "Qwen/Qwen2.5-1.5B-Instruct": 1.54e9,
    "Qwen/Qwen2.5-3B-Instruct": 3.09e9,
    "Qwen/Qwen2.5-7B-Instruct": 7.616e9,
    "Qwen/Qwen2.5-14B-Instruct": 14.7e9,
    "Qwen/Qwen2.5-32B-Instruct": 32.5e9,
    "Qwen/Qwen2.5-72B-Instruct": 72.7e9,
    "meta-llama/Llama-3.1-8B-Instruct": 8.03e9,
    "meta-llama/Llama-3.1-70B-Instruct": 70.6e9,
}


def test_catalog_covers_the_required_models() -> None:
    assert set(PUBLISHED_PARAMS) == {k for k, g in MODELS.items() if g.quantization is None}


def test_prequantized_entries_share_their_base_architecture() -> None:
    for repo, base in (
        ("Qwen/Qwen2.5-7B-Instruct-AWQ", "Qwen/Qwen2.5-7B-Instruct"),
        ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4", "Qwen/Qwen2.5-7B-Instruct"),
        (
            "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4",
            "meta-llama/Llama-3.1-70B-Instruct",
        ),
    ):
        quantized = MODELS[repo]
        assert quantized.quantization is not None and quantized.quantization.bits == 4
        assert quantized.params == MODELS[base].params
        assert quantized.weight_bytes < MODELS[base].weight_bytes / 2


@pytest.mark.parametrize("model", sorted(PUBLISHED_PARAMS))
def test_parameter_count_derived_from_geometry_matches_the_model_card(model: str) -> None:
    assert MODELS[model].params == pytest.approx(PUBLISHED_PARAMS[model], rel=0.01)


def test_kv_bytes_per_token_match_facts() -> None:
    assert kv_bytes_per_token(MODELS["Qwen/Qwen2.5-7B-Instruct"]) == 57_344
    assert kv_bytes_per_token(MODELS["Qwen/Qwen2.5-0.5B-Instruct"]) == 12_288


def test_valid_tensor_parallel_sizes_match_facts() -> None:
    # vLLM's sharded layers (model_executor/layers/linear.py) need heads, KV heads and MLP
    # to divide together. 7B: 7 and 14 fail on the
    # 4 KV heads, 28 on the MLP (18944); 0.5B: 7 and 14 fail on its 2 KV heads.
    assert valid_tensor_parallel(MODELS["Qwen/Qwen2.5-7B-Instruct"], 28) == [1, 2, 4]
    assert valid_tensor_parallel(MODELS["Qwen/Qwen2.5-0.5B-Instruct"], 14) == [1, 2]


def test_qwen_7b_geometry_is_the_config_json() -> None:
    g = MODELS["Qwen/Qwen2.5-7B-Instruct"]
    assert (g.layers, g.attention_heads, g.kv_heads, g.hidden_size, g.head_size) == (
        28,
        28,
        4,
        3584,
        128,
    )
    assert (g.vocab_size, g.max_position_embeddings, g.tied_embeddings) == (152064, 32768, False)


def test_required_gpus_are_catalogued_and_consumer_cards_have_no_p2p() -> None:
    required = {
        "rtx-4090d",
        "rtx-4090",
        "l4",
        "l40s",
        "a10g",
        "a100-40gb",
        "a100-80gb",
        "h100-80gb",
        "h200",
    }
    assert required <= set(GPUS)
    assert not GPUS["rtx-4090d"].p2p and not GPUS["rtx-4090"].p2p
    assert not GPUS["rtx-4090d"].dcgm_profiling
    assert GPUS["h200"].nvlink_gbps == 900
