"""Model geometry, taken from each model's config.json on the Hugging Face Hub.

The parameter count is derived from the geometry (and checked against the published
count in tests), so a user-described model needs no separate size field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class CheckpointQuantization(BaseModel):
    """A pre-quantized checkpoint (config.json `quantization_config`): vLLM reads the
    method from the repository, and the weights on disk are already this small."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    method: Literal["awq", "gptq"] = Field(description="quant_method in config.json")
    bits: Literal[4, 8] = Field(description="bits per quantized weight")
    group_size: int = Field(default=128, gt=0, description="weights sharing one scale")

    @property
    def bytes_per_weight(self) -> float:
        """A packed weight plus its share of the group's fp16 scale and packed zero point."""
        return (self.bits + (16 + self.bits) / self.group_size) / 8


class ModelGeometry(BaseModel):
    """The config.json facts the capacity planner needs. camelCase in stack files."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    layers: int = Field(gt=0, description="num_hidden_layers")
    attention_heads: int = Field(gt=0, description="num_attention_heads")
    kv_heads: int = Field(gt=0, description="num_key_value_heads")
    hidden_size: int = Field(gt=0, description="hidden_size")
    intermediate_size: int = Field(gt=0, description="MLP width (intermediate_size)")
    vocab_size: int = Field(gt=0, description="vocab_size")
    max_position_embeddings: int = Field(gt=0, description="native context length")
    head_dim: int | None = Field(default=None, gt=0, description="defaults to hidden/heads")
    tied_embeddings: bool = Field(default=False, description="tie_word_embeddings")
    qkv_bias: bool = Field(default=False, description="attention q/k/v projections have bias")
    rope_theta: float = Field(default=10000.0, gt=0, description="rope_theta")
    yarn_max_factor: float | None = Field(
        default=None, description="largest YaRN factor the model card supports; None = none"
    )
    dtype_bytes: int = Field(
        default=2, ge=1, le=4, description="bytes per weight as published (bf16 = 2)"
    )
    quantization: CheckpointQuantization | None = Field(
        default=None, description="set for a pre-quantized repository (AWQ, GPTQ)"
    )

    @model_validator(mode="after")
    def _shape(self) -> ModelGeometry:
        """What a transformer's config.json cannot say (each would break the arithmetic)."""
        if self.head_dim is None and self.hidden_size < self.attention_heads:
            raise ValueError(
                f"hiddenSize {self.hidden_size} is below attentionHeads "
                f"{self.attention_heads}: no head dimension; set headDim"
            )
        if self.kv_heads > self.attention_heads or self.attention_heads % self.kv_heads:
            raise ValueError(
                f"kvHeads {self.kv_heads} must divide attentionHeads {self.attention_heads}"
            )
        return self

    @property
    def head_size(self) -> int:
        return (
            self.head_dim if self.head_dim is not None else self.hidden_size // self.attention_heads
        )

    @property
    def embedding_params(self) -> int:
        """Input embedding plus the LM head when it is not tied to it."""
        return self.vocab_size * self.hidden_size * (1 if self.tied_embeddings else 2)

    @property
    def linear_params_per_layer(self) -> int:
        q = self.hidden_size * self.attention_heads * self.head_size
        kv = 2 * self.hidden_size * self.kv_heads * self.head_size
        o = self.attention_heads * self.head_size * self.hidden_size
        mlp = 3 * self.hidden_size * self.intermediate_size  # gate, up, down
        return q + kv + o + mlp

    @property
    def linear_params(self) -> int:
        """Parameters in the transformer's linear layers: what weight quantization shrinks."""
        return self.layers * self.linear_params_per_layer

    @property
    def other_params(self) -> int:
        """Norms and biases: small, kept in the published dtype."""
        bias = (self.attention_heads + 2 * self.kv_heads) * self.head_size if self.qkv_bias else 0
        return self.layers * (2 * self.hidden_size + bias) + self.hidden_size

    @property
    def params(self) -> int:
        return self.embedding_params + self.linear_params + self.other_params

    @property
    def weight_bytes(self) -> int:
        """Weights as stored on disk (safetensors): what is downloaded and read at start.
        A pre-quantized checkpoint stores its linear layers packed; the rest stays in the
        published dtype."""
        if self.quantization is None:
            return self.params * self.dtype_bytes
        linear = self.linear_params * self.quantization.bytes_per_weight
        return int(linear + (self.embedding_params + self.other_params) * self.dtype_bytes)


_QWEN25_SMALL = {
    "vocab_size": 151936,
    "tied_embeddings": True,
    "qkv_bias": True,
    "rope_theta": 1_000_000.0,
    "max_position_embeddings": 32768,
}
_QWEN25_LARGE = {
    "vocab_size": 152064,
    "tied_embeddings": False,
    "qkv_bias": True,
    "rope_theta": 1_000_000.0,
    "max_position_embeddings": 32768,
    "yarn_max_factor": 4.0,
}  # model cards: YaRN x4 up to 131,072 tokens
_LLAMA31 = {
    "vocab_size": 128256,
    "tied_embeddings": False,
    "qkv_bias": False,
    "rope_theta": 500_000.0,
    "max_position_embeddings": 131072,
}


def _prequantized(base: ModelGeometry, method: Literal["awq", "gptq"]) -> ModelGeometry:
    """The same architecture, published with 4-bit weights in groups of 128."""
    return base.model_copy(update={"quantization": CheckpointQuantization(method=method, bits=4)})


# Hub repository id -> geometry. Published parameter counts are in tests/unit/test_catalog.py.
MODELS: dict[str, ModelGeometry] = {
    "Qwen/Qwen2.5-0.5B-Instruct": ModelGeometry(
        layers=24,
        attention_heads=14,
        kv_heads=2,
        hidden_size=896,
        intermediate_size=4864,
        **_QWEN25_SMALL,
    ),
    "Qwen/Qwen2.5-1.5B-Instruct": ModelGeometry(
        layers=28,
        attention_heads=12,
        kv_heads=2,
        hidden_size=1536,
        intermediate_size=8960,
        **_QWEN25_SMALL,
    ),
    "Qwen/Qwen2.5-3B-Instruct": ModelGeometry(
        layers=36,
        attention_heads=16,
        kv_heads=2,
        hidden_size=2048,
        intermediate_size=11008,
        **_QWEN25_SMALL,
    ),
    "Qwen/Qwen2.5-7B-Instruct": ModelGeometry(
        layers=28,
        attention_heads=28,
        kv_heads=4,
        hidden_size=3584,
        intermediate_size=18944,
        **_QWEN25_LARGE,
    ),
    "Qwen/Qwen2.5-14B-Instruct": ModelGeometry(
        layers=48,
        attention_heads=40,
        kv_heads=8,
        hidden_size=5120,
        intermediate_size=13824,
        **_QWEN25_LARGE,
    ),
    "Qwen/Qwen2.5-32B-Instruct": ModelGeometry(
        layers=64,
        attention_heads=40,
        kv_heads=8,
        hidden_size=5120,
        intermediate_size=27648,
        **_QWEN25_LARGE,
    ),
    "Qwen/Qwen2.5-72B-Instruct": ModelGeometry(
        layers=80,
        attention_heads=64,
        kv_heads=8,
        hidden_size=8192,
        intermediate_size=29568,
        **_QWEN25_LARGE,
    ),
    "meta-llama/Llama-3.1-8B-Instruct": ModelGeometry(
        layers=32,
        attention_heads=32,
        kv_heads=8,
        hidden_size=4096,
        intermediate_size=14336,
        **_LLAMA31,
    ),
    "meta-llama/Llama-3.1-70B-Instruct": ModelGeometry(
        layers=80,
        attention_heads=64,
        kv_heads=8,
        hidden_size=8192,
        intermediate_size=28672,
        **_LLAMA31,
    ),
}
# Pre-quantized repositories of catalog models: the way to serve AWQ/GPTQ (vLLM reads the
# method from their config.json; `quantization: awq` on a bf16 repository is refused).
MODELS["Qwen/Qwen2.5-7B-Instruct-AWQ"] = _prequantized(MODELS["Qwen/Qwen2.5-7B-Instruct"], "awq")
MODELS["Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4"] = _prequantized(
    MODELS["Qwen/Qwen2.5-7B-Instruct"], "gptq"
)
MODELS["hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4"] = _prequantized(
    MODELS["meta-llama/Llama-3.1-70B-Instruct"], "awq"
)
