"""``FleetExecutor``: the executor's methods over a fleet, each taking an optional ``host``.

``ToolRunner`` runs agents' calls against it as against one ``DockerActionExecutor``:
every method takes the executor's arguments plus ``host`` (an inventory name; None: the
default host) and returns the host's result with ``host`` added, so an agent always sees
where it acted. ``list_containers`` without a host lists every host at once (see
``Fleet.list_containers``); when no host answers at all it raises the first host's error.

The runner recognises it by ``routes_hosts`` and gives each tool a ``host`` argument
(``operator_core.tools.hosts``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Unpack

from operator_core.docker import DockerActionExecutor
from operator_core.errors import EngineUnreachable
from operator_core.fleet.fleet import Fleet
from operator_core.fleet.results import FleetContainer, FleetContainerList, ListFilters

__all__ = ["FleetExecutor"]


class FleetExecutor:
    """Routes each executor method to the host named by its ``host`` argument."""

    #: Tells ``ToolRunner`` that calls name a host (see ``operator_core.tools.hosts``).
    routes_hosts = True

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    @property
    def names(self) -> tuple[str, ...]:
        """The inventory's host names."""
        return self.fleet.names

    @property
    def default(self) -> str:
        """The host a call that names none goes to."""
        return self.fleet.default

    async def aclose(self) -> None:
        """Close every host's connection pool (``Fleet.aclose``)."""
        await self.fleet.aclose()

    def host_labels(self) -> dict[str, dict[str, str]]:
        """Return each host's labels (for the policy's ``scope.require_host_labels``)."""
        return {name: dict(host.labels) for name, host in self.fleet.inventory.hosts.items()}

    async def list_containers(
        self, host: str | None = None, **filters: Unpack[ListFilters]
    ) -> FleetContainerList:
        """List one host's containers, or every host's when ``host`` is None.

        Every entry has its ``host``; ``host_errors`` lists the hosts that did not answer.
        No host answering at all is an error (the first host's, with the others named).
        """
        if host is not None:
            name = self.fleet.resolve(host)
            one = await self.fleet.executor(name).list_containers(**filters)
            entries: list[FleetContainer] = [{**entry, "host": name} for entry in one["containers"]]
            return {"containers": entries, "count": len(entries), "host_errors": []}
        result = await self.fleet.list_containers(**filters)
        errors = result["host_errors"]
        if errors and len(errors) == len(self.names):
            said = "; ".join(f"{e['host']}: {e['type']}: {e['message']}" for e in errors)
            raise EngineUnreachable(f"no host of the fleet answered: {said}"[:1000])
        return result

    def call_bound(self, method: str, arguments: Mapping[str, object]) -> float | None:
        """Return the bound of ``method`` on the host ``arguments["host"]`` names (or the default).

        See ``DockerActionExecutor.call_bound``; the tool layer runs a call within it.
        None when that host's executor states no bound.
        """
        named = arguments.get("host")
        host = self.fleet.executor(self.fleet.resolve(None if named is None else str(named)))
        bound = getattr(host, "call_bound", None)
        return float(bound(method, arguments)) if callable(bound) else None

    def __getattr__(self, method: str) -> Callable[..., Awaitable[object]]:
        """Return executor method ``method`` bound to the host its ``host`` argument names."""
        if method.startswith("_") or not callable(getattr(DockerActionExecutor, method, None)):
            raise AttributeError(method)

        async def on_host(*args: object, host: str | None = None, **kwargs: object) -> object:
            name = self.fleet.resolve(host)
            call: Callable[..., Awaitable[object]] = getattr(self.fleet.executor(name), method)
            result = await call(*args, **kwargs)
            return {"host": name, **result} if isinstance(result, dict) else result

        on_host.__name__ = method
        return on_host
