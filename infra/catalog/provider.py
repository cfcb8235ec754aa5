"""What the pinned pulumi-kubernetes provider does by default when it creates an object
(its source: provider/pkg/await/await.go, provider/pkg/metadata/annotations.go,
provider/pkg/provider/helm_release.go). tests/assembly/provider.py cites the details."""

from __future__ import annotations

from typing import Final

# Every awaited kind (Deployment, StatefulSet, DaemonSet, Job, Service, …) waits this long
# unless customTimeouts or the timeout annotation says otherwise.
DEFAULT_AWAIT_SECONDS: Final = 600
# A helm.v3.Release's `timeout` when unset: Helm waits this long in each phase.
HELM_DEFAULT_TIMEOUT_SECONDS: Final = 300
# The Pulumi type token of a Helm release (helm.v3.Release).
HELM_RELEASE_TYPE: Final = "kubernetes:helm.sh/v3:Release"
# Annotations the provider reads on an object.
SKIP_AWAIT_ANNOTATION: Final = "pulumi.com/skipAwait"
TIMEOUT_ANNOTATION: Final = "pulumi.com/timeoutSeconds"
