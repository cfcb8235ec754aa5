"""What pulumi-kubernetes does with an object on `pulumi up`, as its source says (read at
pulumi/pulumi-kubernetes 94977969 (2026-07, after v4.32.0; the SDK pinned here is 4.34.2),
and Helm v3.20.2, the Helm the provider vendors (provider/go.mod)). The mock engine does none
of this; the assembly tests judge the recorded graph by it.

- provider/pkg/await/await.go `Creation`: a create that fails with NotFound (a namespace
  missing) or NoMatch (a CRD missing) is retried by retry.SleepingRetry with 5 retries and a
  back-off factor of 2 from 1 s (provider/pkg/retry/retry.go): 1+2+4+8+16+32 s of sleeps,
  then the resource fails. Pulumi starts no new operation after a failure, so the rest of
  the graph waits for the next `pulumi up`.
- await.go: every awaited kind gets a 10-minute timeout unless the resource sets
  `customTimeouts` (the engine passes `create`/`update` as the request's timeout) or the
  `pulumi.com/timeoutSeconds` annotation (provider/pkg/metadata/overrides.go
  `TimeoutDuration`); `pulumi.com/skipAwait: "true"` replaces the await with an immediate
  success (`ReadyCondition`).
- provider/pkg/await/awaiters.go: the awaited kinds. A PersistentVolumeClaim waits for Bound,
  or only for Pending when its StorageClass (looked up by `spec.storageClassName`, none
  means an error and so a wait for Bound) binds WaitForFirstConsumer, at most 5 minutes
  (`untilCoreV1PersistentVolumeClaimReady`).
- provider/pkg/await/deployment.go: a Deployment is complete when its new ReplicaSet is
  available and every PVC its pods mount is Bound (`isEveryPVCReady`).
- provider/pkg/await/service.go: a Service with a selector (not headless, not ExternalName)
  waits until no endpoint is pending (its pods are ready); a LoadBalancer Service waits for
  `status.loadBalancer.ingress`.
- provider/pkg/await/job.go: a Job waits for its Complete condition.
- provider/pkg/provider/helm_release.go: a `helm.v3.Release` installs with Helm's wait unless
  `skipAwait` (`client.Wait = !SkipAwait`), with `timeout` seconds (default 300,
  `defaultTimeoutSeconds`) for each phase Helm waits in; `atomic` uninstalls the release when
  the wait fails. Helm's wait (pkg/kube/ready.go at v3.20.2) needs every Deployment,
  StatefulSet and DaemonSet ready, every PVC Bound (`volumeReady`), and every LoadBalancer
  Service to have an ingress address (`serviceReady`).
"""

from __future__ import annotations

from typing import Any

from infra.catalog.provider import (
    DEFAULT_AWAIT_SECONDS,  # await.go: `timeout := 10 * time.Minute`
    SKIP_AWAIT_ANNOTATION,
    TIMEOUT_ANNOTATION,
)

PVC_AWAIT_SECONDS = 300  # awaiters.go: `WatchUntil(pvcReady, 5*time.Minute)`
# retry.go: SleepingRetry(…).WithMaxRetries(5).WithBackoffFactor(2), from 1 s.
CREATE_RETRY_SLEEPS = (1, 2, 4, 8, 16, 32)
# Kinds whose create pulumi-kubernetes awaits (awaiters.go, the entries with an `await`).
AWAITED_KINDS = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "Service",
        "Ingress",
        "Pod",
        "PersistentVolumeClaim",
        "ReplicationController",
    }
)


def _annotations(manifest: dict[str, Any]) -> dict[str, str]:
    return dict((manifest.get("metadata") or {}).get("annotations") or {})


def skips_await(manifest: dict[str, Any]) -> bool:
    return _annotations(manifest).get(SKIP_AWAIT_ANNOTATION) == "true"


def _seconds(duration: str) -> int:
    """A Go duration as the engine parses customTimeouts ("1h2m3s", "90s", "10m")."""
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1}
    for ch in duration:
        if ch.isdigit() or ch == ".":
            number += ch
        else:
            total += float(number) * units[ch]
            number = ""
    return int(total)


def await_seconds(manifest: dict[str, Any], custom_timeouts: dict[str, str], op: str) -> int:
    """How long the provider waits for `op` (create/update) of this object to finish."""
    if custom_timeouts.get(op):
        return _seconds(custom_timeouts[op])
    annotated = _annotations(manifest).get(TIMEOUT_ANNOTATION)
    if annotated and annotated.isdigit():
        return int(annotated)
    return DEFAULT_AWAIT_SECONDS


def is_awaited(manifest: dict[str, Any]) -> bool:
    """The provider waits for this object to become ready (not only to exist)."""
    if manifest["kind"] not in AWAITED_KINDS or skips_await(manifest):
        return False
    if manifest["kind"] == "Service":
        spec = manifest.get("spec") or {}
        waits_for_pods = bool(spec.get("selector")) and spec.get("clusterIP") != "None"
        return waits_for_pods or spec.get("type") == "LoadBalancer"
    return True
