"""Helm post-renderers: what a pinned chart renders, patched where it has no values key."""
