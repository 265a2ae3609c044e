"""What a fleet's calls return: ``TypedDict``s, plain JSON-able dicts at run time.

A fleet listing is a container listing whose entries name their ``host``, with the hosts
that did not answer in ``host_errors``; a fleet check has one entry per host.
"""

from __future__ import annotations

from typing import TypedDict

from operator_core.results import ContainerSummary

__all__ = [
    "FleetCheck",
    "FleetContainer",
    "FleetContainerList",
    "HostCheck",
    "HostError",
    "ListFilters",
    "ProbeError",
]


class HostError(TypedDict):
    """A host that did not answer: its name, the error's type and its message."""

    host: str
    type: str
    message: str


class FleetContainer(ContainerSummary):
    """One entry of a fleet listing: a container and the host it is on."""

    host: str


class FleetContainerList(TypedDict):
    """A fleet listing: every host's containers, how many, and the hosts that failed."""

    containers: list[FleetContainer]
    count: int
    host_errors: list[HostError]


class ProbeError(TypedDict):
    """Why a host's probe failed."""

    type: str
    message: str


class HostCheck(TypedDict):
    """One host's probe: reachable, engine version, containers, round trip (ms)."""

    host: str
    address: str
    reachable: bool
    engine_version: str | None
    containers_running: int | None
    containers_total: int | None
    latency_ms: float | None
    error: ProbeError | None


class FleetCheck(TypedDict):
    """``Fleet.check``: each host's probe, in inventory order, and how many answered."""

    hosts: list[HostCheck]
    reachable: int


class ListFilters(TypedDict, total=False):
    """The filters of a container listing, as ``list_containers`` takes them."""

    all: bool
    name: str | None
    label: list[str] | None
    status: str | None
    health: str | None
    compose_project: str | None
    compose_service: str | None
