"""Facts only: model geometry, GPU specs, version pins and vLLM behaviour.

Every fact lives in exactly one module here; planning and components import them.
"""
