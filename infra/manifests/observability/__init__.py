"""Metrics, dashboards, alert rules and logs: Helm values and objects, built from the plan.

values: kube-prometheus-stack and DCGM exporter values; logs: Loki, Alloy and the vLLM
PodMonitor; dashboards: Grafana dashboards; alerts: PrometheusRules.
"""
