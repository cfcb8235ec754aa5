"""vLLM 0.33 as a judge: does it accept a `vllm serve` command line for a model directory?

Runs inside .venv-engines (see vllm-requirements.txt), not the project's venv. Reads one
JSON object from stdin: {"models": {name: config.json contents}, "cases": [{"id", "model",
"argv"}]}; `argv` is what follows `vllm serve`, with "{model}" standing for the model's
directory. Writes one JSON object to the file named by its only argument (vLLM logs to
stdout): {id: {"ok": bool, "stage": ..., "error": ...}}.

For each case it does what `vllm serve` does before any GPU work: vLLM's own argument
parser, its validation, EngineArgs, create_engine_config (model, cache, parallel,
scheduler, quantization configs). Then, because vLLM checks the KV-head and MLP split only
when a worker builds the model, it builds the tensor-parallel linear layers of one decoder
layer (QKV, attention output, gate/up, down) on the meta device, with vLLM's own layer
classes and the engine's quantization config, standing in a TP group of the configured size
for rank 0 (the layers only ask the group for its size and their rank).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from vllm.config import CacheConfig, set_current_vllm_config
from vllm.distributed import parallel_state
from vllm.engine import arg_utils
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.entrypoints.cli.serve import ServeSubcommand
from vllm.model_executor.layers import linear
from vllm.usage.usage_lib import UsageContext
from vllm.utils.argparse_utils import FlexibleArgumentParser
from vllm.v1.metrics.buckets import TIME_TO_FIRST_TOKEN_BUCKETS


def engine_config(argv: list[str]) -> Any:
    """`vllm serve ARGV` up to the engine config, as the CLI does it."""
    parser = FlexibleArgumentParser()
    subparsers = parser.add_subparsers(dest="subparser")
    serve = ServeSubcommand()
    serve.subparser_init(subparsers)
    args = parser.parse_args(["serve", *argv])
    if getattr(args, "model_tag", None) is not None:
        args.model = args.model_tag
    serve.validate(args)
    engine_args = AsyncEngineArgs.from_cli_args(args)
    return engine_args.create_engine_config(usage_context=UsageContext.OPENAI_API_SERVER)


def build_layers(config: Any) -> None:
    """One decoder layer's tensor-parallel linears, as rank 0 of the configured TP group."""
    text = config.model_config.hf_text_config
    tp = config.parallel_config.tensor_parallel_size
    heads, kv_heads = text.num_attention_heads, text.num_key_value_heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    hidden, inter = text.hidden_size, text.intermediate_size
    quant = config.quant_config
    group = SimpleNamespace(world_size=tp, rank_in_group=0)
    with (
        mock.patch.object(parallel_state, "_TP", group),
        set_current_vllm_config(config),
        torch.device("meta"),
    ):
        prefix = "model.layers.0"
        linear.QKVParallelLinear(
            hidden, head_dim, heads, kv_heads, quant_config=quant, prefix=f"{prefix}.qkv_proj"
        )
        linear.RowParallelLinear(
            heads * head_dim, hidden, bias=False, quant_config=quant, prefix=f"{prefix}.o_proj"
        )
        linear.MergedColumnParallelLinear(
            hidden, [inter, inter], bias=False, quant_config=quant, prefix=f"{prefix}.gate_up"
        )
        linear.RowParallelLinear(
            inter, hidden, bias=False, quant_config=quant, prefix=f"{prefix}.down_proj"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [line for line in text.splitlines() if line.strip()]
    # pydantic ValidationErrors put the reason on the line after the title.
    return " ".join(lines[:3])[:400]


def judge(case: dict[str, Any], dirs: dict[str, str]) -> dict[str, Any]:
    argv = [a.replace("{model}", dirs[case["model"]]) for a in case["argv"]]
    try:
        config = engine_config(argv)
    except (Exception, SystemExit) as exc:  # argparse exits on a bad flag value
        return {"ok": False, "stage": "config", "error": _first_line(exc)}
    if config.parallel_config.tensor_parallel_size and case.get("layers", True):
        try:
            build_layers(config)
        except Exception as exc:
            return {"ok": False, "stage": "layers", "error": _first_line(exc)}
    return {"ok": True, "stage": "layers", "error": ""}


FACTS = "__facts__"  # not a case: defaults the platform's catalog copies from vLLM


def batch_defaults(name: str, memory_bytes: int) -> list[int]:
    """The OpenAI server's (max_num_batched_tokens, max_num_seqs) on a CUDA GPU of this name
    and total memory, as EngineArgs chooses them (the platform answers for the GPU)."""
    platform = arg_utils.current_platform
    with (
        mock.patch.object(platform, "get_device_total_memory", return_value=memory_bytes),
        mock.patch.object(platform, "get_device_name", return_value=name),
        mock.patch.object(platform, "is_device_capability", return_value=False),
        mock.patch.object(platform, "is_cpu", return_value=False),
        mock.patch.object(platform, "is_tpu", return_value=False),
    ):
        tokens, seqs = AsyncEngineArgs.get_batch_defaults(world_size=1)
    server = UsageContext.OPENAI_API_SERVER
    return [tokens[server], seqs[server]]


def facts(gpus: dict[str, Any]) -> dict[str, Any]:
    return {
        "gpu_memory_utilization": CacheConfig().gpu_memory_utilization,
        "ttft_buckets": list(TIME_TO_FIRST_TOKEN_BUCKETS),
        "batch_defaults": {
            key: batch_defaults(gpu["name"], gpu["memoryBytes"]) for key, gpu in gpus.items()
        },
    }


def main() -> int:
    request = json.load(sys.stdin)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vllm-judge-") as tmp:
        dirs: dict[str, str] = {}
        for name, config_json in request["models"].items():
            folder = Path(tmp) / name.replace("/", "--")
            folder.mkdir()
            (folder / "config.json").write_text(json.dumps(config_json))
            dirs[name] = str(folder)
        for case in request["cases"]:
            try:
                out[case["id"]] = judge(case, dirs)
            except BaseException:  # a judge bug, not a verdict: say so loudly
                out[case["id"]] = {"ok": None, "stage": "judge", "error": traceback.format_exc()}
    out[FACTS] = facts(request.get("gpus", {}))
    Path(sys.argv[1]).write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
