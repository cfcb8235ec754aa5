"""Pure builders of Kubernetes objects and Helm values, as plain dicts.

Components declare what these return; tests validate them against the Kubernetes schema.
"""
