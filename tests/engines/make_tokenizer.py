"""Run in .venv-engines: write a small Hugging Face tokenizer (word-level, 512 tokens) to
the directory given, so vLLM's benchmark client can make prompts without a download."""

from __future__ import annotations

import sys

from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

VOCAB = 512


def main() -> int:
    vocab = {"[UNK]": 0, **{f"w{i}": i for i in range(1, VOCAB)}}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]")
    fast.save_pretrained(sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
