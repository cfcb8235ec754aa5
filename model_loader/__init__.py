"""model-loader: fill the model cache volume with one pinned model revision.

Runs as the init container of every vLLM pod (and as the snapshot job of DR stacks).
Standard library only, so its image stays small and its tests need no network.
"""
