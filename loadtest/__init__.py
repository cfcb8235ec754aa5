"""The load-test runner: vLLM's own benchmark client, judged against the stack's SLO."""
