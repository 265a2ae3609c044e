"""What ``watch`` follows: one engine's executor, or every host of a fleet.

``Followed`` is what the watch reads of an executor (a ``DockerActionExecutor`` does it
all); ``Hosts`` what it reads of a fleet (``operator_core.fleet.Fleet``).
``followed_hosts`` tells them apart and checks, before anything is followed, that each
executor can follow events: anything else is ``InvalidInput``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from operator_core.errors import InvalidInput

if TYPE_CHECKING:
    from operator_core.results import ContainerList, EngineIdentity, Event, EventsResult

__all__ = ["Followed", "Hosts", "WatchSource", "followed_hosts"]


@runtime_checkable
class Followed(Protocol):  # pragma: no mutate block (a default here is no behaviour)
    """One engine as the watch reads it: who it is, its events, its containers."""

    async def engine_identity(self, *, refresh: bool = False) -> EngineIdentity:
        """Return who the engine says it is (its ID keys every notice and incident)."""
        ...

    async def get_events(self, since: str | datetime, *, limit: int) -> EventsResult:
        """Read the engine's events from ``since`` (the probe reads one)."""
        ...

    async def list_containers(self, all: bool = False) -> ContainerList:
        """List the containers (their state when a host is followed again)."""
        ...

    def follow_events(
        self,
        since: str | None = None,
        *,
        types: list[str] | None = None,
        actions: list[str] | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Yield the engine's events as they happen, from ``since`` on."""
        ...


@runtime_checkable
class Hosts(Protocol):  # pragma: no mutate block
    """A fleet as the watch reads it: its host names, and each host's executor."""

    @property
    def names(self) -> tuple[str, ...]:
        """The host names, in inventory order."""
        ...

    def executor(self, host: str | None = None) -> object:
        """Return the executor of ``host`` (a ``Followed`` one, checked before use)."""
        ...


#: What ``watch`` takes: one engine's executor, or a fleet (every host followed at once).
WatchSource = Followed | Hosts


def followed_hosts(source: WatchSource) -> list[tuple[str | None, Followed]]:
    """Return (host name, executor) pairs: every host of a fleet, or the one executor.

    Raises InvalidInput for a source that is neither, or a host whose executor cannot
    follow events.
    """
    if isinstance(source, Hosts):
        pairs = [(name, source.executor(name)) for name in source.names]
    elif isinstance(source, Followed):
        return [(None, source)]
    else:
        raise InvalidInput("watch takes a DockerActionExecutor or a Fleet")
    found: list[tuple[str | None, Followed]] = []
    for name, executor in pairs:
        if not isinstance(executor, Followed):
            raise InvalidInput(f"host {name!r}'s executor cannot follow events")
        found.append((name, executor))
    return found
