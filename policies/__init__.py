"""llm-platform's policy pack: rules (pure validators), the CrossGuard pack built from them,
and the offline review that runs the same pack's validators on a planned stack."""
