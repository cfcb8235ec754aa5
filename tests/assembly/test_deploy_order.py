"""A first `pulumi up` on an empty cluster, judged on the recorded graph by the provider's
semantics (tests/assembly/provider.py cites the pulumi-kubernetes and Helm source): every
custom resource after what installs its CRD, every object after its namespace, every pod
after what it names, webhooks served before what they admit, nothing awaited that cannot
complete. Over every shipped stack and every example."""

from __future__ import annotations

import pytest

from tests.assembly import order, runtime
from tests.assembly.cases import NAMES, assembly, config
from tests.assembly.graph import plurals


@pytest.mark.parametrize("name", NAMES)
def test_custom_resources_wait_for_their_crd(name: str) -> None:
    assert order.crd_installers(assembly(name)) == []


@pytest.mark.parametrize("name", NAMES)
def test_objects_wait_for_their_namespace(name: str) -> None:
    a = assembly(name)
    assert order.namespaces(a) + order.scopes(a) == []


@pytest.mark.parametrize("name", NAMES)
def test_pods_wait_for_what_they_name(name: str) -> None:
    a = assembly(name)
    provided = runtime.Provided(a, config(name).cluster.runtime_class_name)
    assert order.pod_references(a, provided) == []


@pytest.mark.parametrize("name", NAMES)
def test_webhooks_are_served_before_what_they_admit(name: str) -> None:
    a = assembly(name)
    assert order.webhooks(a, plurals(a)) == []


@pytest.mark.parametrize("name", NAMES)
def test_nothing_awaited_can_hang(name: str) -> None:
    assert order.hangs(assembly(name)) == []


@pytest.mark.parametrize("name", NAMES)
def test_pods_start_after_the_cloud_grants_they_use(name: str) -> None:
    assert order.cloud_grants(assembly(name)) == []


@pytest.mark.parametrize("name", NAMES)
def test_load_balancers_only_where_addresses_are_assigned(name: str) -> None:
    cluster = config(name).cluster
    assert order.load_balancers(assembly(name), cluster.assigns_addresses) == []


@pytest.mark.parametrize("name", NAMES)
def test_pods_start_under_the_policies_that_let_them_out(name: str) -> None:
    assert order.policies_first(assembly(name)) == []
