"""Accepted exceptions for what third-party charts install, each with its reason.

The offline review feeds every object a Helm release renders to the pack's rules
(policies/helm.py). What a chart does that a rule refuses, and that no values key of the
pinned chart can change, is accepted here, narrowly: the release, the rule, the object and
a fragment of the message. A test keeps every entry matching something (no stale entries).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartException:
    release: str  # "*": every chart release
    rule: str
    object: str  # "<Kind>/<name>" of the rendered object; "*" for every object of the release
    message: str  # a fragment of the violation message
    reason: str

    def matches(self, rule: str, name: str, message: str) -> bool:
        release, _, rest = name.partition("/")
        return (
            rule == self.rule
            and self.release in ("*", release)
            and self.object in ("*", rest)
            and self.message in message
        )


_MPS = "DaemonSet/nvidia-device-plugin-mps-control-daemon"
_MPS_WHY = (
    "the chart renders its MPS control daemon whenever a device-plugin config is set; it is "
    "scheduled only on nodes labelled nvidia.com/mps.capable=true, which this platform never "
    "labels (GPU sharing is time-slicing), so it never runs"
)
_CONFIG_MANAGER_WHY = (
    "the chart renders its config-manager containers without resources and has no values "
    "key for them (nvidia-device-plugin 0.20.0)"
)
_NO_DIGEST_WHY = (
    "chart images are pinned by the chart version's tag; their digests are not recorded "
    "yet: reading them needs the registries, which were unreachable where this was built"
)

EXCEPTIONS: tuple[ChartException, ...] = (
    ChartException("nvidia-device-plugin", "no-privileged-workloads", _MPS, "", _MPS_WHY),
    ChartException("nvidia-device-plugin", "container-resources", _MPS, "", _MPS_WHY),
    ChartException("nvidia-device-plugin", "gpu-toleration-requires-gpu", _MPS, "", _MPS_WHY),
    ChartException(
        "nvidia-device-plugin",
        "container-resources",
        "DaemonSet/nvidia-device-plugin",
        "-init' has no",
        _CONFIG_MANAGER_WHY,
    ),
    ChartException(
        "nvidia-device-plugin",
        "container-resources",
        "DaemonSet/nvidia-device-plugin",
        "-sidecar' has no",
        _CONFIG_MANAGER_WHY,
    ),
    # Every chart release (the chat UI's too, which no shipped production stack enables).
    ChartException("*", "images-pinned", "*", "has a tag but no digest", _NO_DIGEST_WHY),
)


def accepted(rule: str, name: str, message: str) -> ChartException | None:
    return next((e for e in EXCEPTIONS if e.matches(rule, name, message)), None)
