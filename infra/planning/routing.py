"""Which public model names the gateway serves, and the weighted deployments behind each."""

from __future__ import annotations

from dataclasses import dataclass

from infra.config import GatewayConfig
from infra.planning.capacity import ServingPlan


@dataclass(frozen=True)
class WeightedBackend:
    plan: ServingPlan
    weight: int


@dataclass(frozen=True)
class PublicRoute:
    model: str  # what clients send as `model`
    backends: list[WeightedBackend]


def public_routes(gateway: GatewayConfig, plans: list[ServingPlan]) -> list[PublicRoute]:
    """Configured splits first; every deployment no split names gets its own route, under
    its served model name. Validated by config: weights sum to 100, names exist."""
    by_name = {p.model.name: p for p in plans}
    routes = [
        PublicRoute(r.model, [WeightedBackend(by_name[b.deployment], b.weight) for b in r.backends])
        for r in gateway.routes
    ]
    split = {b.deployment for r in gateway.routes for b in r.backends}
    routes += [
        PublicRoute(p.model.served_name, [WeightedBackend(p, 100)])
        for p in plans
        if p.model.name not in split
    ]
    return routes
