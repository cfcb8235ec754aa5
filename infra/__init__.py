"""llm-platform: a Pulumi program that declares a vLLM serving platform on Kubernetes."""
