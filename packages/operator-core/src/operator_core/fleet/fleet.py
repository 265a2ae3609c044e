"""``Fleet``: many Docker hosts as one, each reached through its own executor.

A fleet holds one ``DockerActionExecutor`` per inventory host, built the first time it is
needed, each over the Engine API with one connection pool to its host's ``Endpoint``
(socket, ``tcp://`` with TLS, ``ssh://`` through one ssh connection, or a context).
Calls on several hosts run concurrently, each bounded by its host's ``deadline_s``: a dead
host answers at once with its error, a hung one costs at most its own deadline, and
neither delays or fails the others. A host that failed is reported in ``host_errors``
(``{host, type, message}``), never silently dropped.

Over SSH the executor keeps one ssh connection per host (``_engine.ssh.SSHBridge``);
``check`` and the actions still on the docker CLI start an ``ssh`` process per call, so
let them reuse one connection with ``ControlMaster auto``, ``ControlPath`` and
``ControlPersist`` for that host in your ssh configuration (``scripts/lab.sh`` writes such
an entry for its SSH host).
"""

from __future__ import annotations

import asyncio
import difflib
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Self, TypeVar, Unpack

from python_on_whales import DockerClient

from operator_core.docker import DockerActionExecutor, helper_reason, run_on_client
from operator_core.errors import InvalidInput, OperatorError
from operator_core.fleet.inventory import HostEntry, Inventory
from operator_core.fleet.results import (
    FleetCheck,
    FleetContainer,
    FleetContainerList,
    HostCheck,
    HostError,
    ListFilters,
)
from operator_core.runner.envelope import error_type
from operator_core.runner.executor import ContainerExecutor

__all__ = ["Fleet", "host_error", "readable"]

T = TypeVar("T")

#: The longest a host's error message is kept in a fleet result.
_MESSAGE_MAX = 300


def host_error(host: str, exc: OperatorError) -> HostError:
    """Return the ``host_errors`` entry of a host that failed with ``exc``."""
    return {"host": host, "type": error_type(exc), "message": readable(str(exc))}


def readable(message: str) -> str:
    """Return ``message`` cut to fit, with a connection helper's own words kept.

    When ssh (the docker CLI's connection helper) fails, docker says so in a long sentence
    that ends with what ssh said (``stderr=ssh: connect to host ... refused``); that end
    is the reason a person needs, so it is what is kept.
    """
    return (helper_reason(message) or message)[:_MESSAGE_MAX]


class Fleet:
    """The hosts of an ``Inventory``, each with its lazily built executor.

    ``client_factory`` makes a host's docker client (default: ``HostEntry.client``);
    ``executor_factory`` makes its executor from the entry and that client (default: a
    ``DockerActionExecutor`` whose call deadline is the host's ``deadline_s``). ``clock``
    times ``check``'s round trips.
    """

    def __init__(
        self,
        inventory: Inventory,
        *,
        client_factory: Callable[[HostEntry], DockerClient] | None = None,
        executor_factory: Callable[[HostEntry, DockerClient], ContainerExecutor] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inventory = inventory
        self._client_factory = client_factory or HostEntry.client
        self._executor_factory = executor_factory or _default_executor
        self._clock = clock
        self._clients: dict[str, DockerClient] = {}
        self._executors: dict[str, ContainerExecutor] = {}

    @property
    def names(self) -> tuple[str, ...]:
        """The host names, in inventory order."""
        return self.inventory.names

    @property
    def default(self) -> str:
        """The host a call that names none goes to."""
        return self.inventory.default

    def resolve(self, host: str | None) -> str:
        """Return the host name ``host`` stands for (None: the default); InvalidInput if none."""
        if host is None:
            return self.default
        if isinstance(host, str) and host in self.inventory.hosts:
            return host
        close = difflib.get_close_matches(str(host), self.names, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidInput(
            f"no host named {str(host)[:80]!r} in the inventory ({self.inventory.source}).{hint} "
            f"Hosts: {', '.join(self.names)}."
        )

    def executor(self, host: str | None = None) -> ContainerExecutor:
        """Return the executor of ``host`` (None: the default host), building it once."""
        name = self.resolve(host)
        if name not in self._executors:
            self._executors[name] = self._executor_factory(
                self.inventory.host(name), self._client(name)
            )
        return self._executors[name]

    async def aclose(self) -> None:
        """Close every host's connection pool (and ssh connection) built so far."""
        built, self._executors = list(self._executors.values()), {}
        for executor in built:
            close = getattr(executor, "aclose", None)
            if callable(close):
                await close()

    async def __aenter__(self) -> Self:
        """``async with Fleet(inventory) as fleet:`` closes every host's pool on leaving."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _client(self, name: str) -> DockerClient:
        """Return the docker client of host ``name``, building it once."""
        if name not in self._clients:
            self._clients[name] = self._client_factory(self.inventory.host(name))
        return self._clients[name]

    async def list_containers(self, **filters: Unpack[ListFilters]) -> FleetContainerList:
        """List containers on every host at once; ``filters`` as ``list_containers`` takes them.

        Returns ``containers`` (each entry with its ``host``, hosts in inventory order),
        ``count`` and ``host_errors``. Bad filters raise InvalidInput before any process
        starts; a host that fails or passes its deadline is one entry of ``host_errors``.
        """
        answers = await self._each(self.names, lambda ex: ex.list_containers(**filters))
        containers: list[FleetContainer] = []
        errors: list[HostError] = []
        for name, answer in answers:
            if isinstance(answer, OperatorError):
                errors.append(host_error(name, answer))
            else:
                containers += [{**entry, "host": name} for entry in answer["containers"]]
        return {"containers": containers, "count": len(containers), "host_errors": errors}

    async def check(self) -> FleetCheck:
        """Probe every host at once: reachable, engine version, containers, round trip.

        Returns ``hosts``: one entry per host, in inventory order, with ``host``,
        ``address``, ``reachable``, ``engine_version``, ``containers_running``,
        ``containers_total``, ``latency_ms`` (one ``docker info``, process start
        included) and ``error`` (``{type, message}`` or None); and ``reachable``, the
        number of hosts that answered.
        """
        entries = await asyncio.gather(*(self._probe(name) for name in self.names))
        return {"hosts": entries, "reachable": sum(1 for e in entries if e["reachable"])}

    async def _probe(self, name: str) -> HostCheck:
        """Return one host's ``check`` entry."""
        entry = self.inventory.host(name)
        started = self._clock()
        try:
            info = await run_on_client(
                self._client(name),
                lambda client: client.system.info(),
                deadline=entry.deadline_s,
                what=f"docker info on {name}",
            )
        except OperatorError as exc:
            problem = host_error(name, exc)
            return {
                "host": name,
                "address": entry.address,
                "reachable": False,
                "engine_version": None,
                "containers_running": None,
                "containers_total": None,
                "latency_ms": None,
                "error": {"type": problem["type"], "message": problem["message"]},
            }
        return {
            "host": name,
            "address": entry.address,
            "reachable": True,
            "engine_version": info.server_version,
            "containers_running": info.containers_running,
            "containers_total": info.containers,
            "latency_ms": round((self._clock() - started) * 1000, 1),
            "error": None,
        }

    async def _each(
        self, names: Iterable[str], call: Callable[[ContainerExecutor], Awaitable[T]]
    ) -> list[tuple[str, T | OperatorError]]:
        """Run ``call(executor)`` on each host at once; return each answer or OperatorError.

        Bad arguments are the caller's fault, not a host's: an executor checks them before
        its first docker process, so every host raises the same InvalidInput having run
        nothing, and it is raised here. Anything else that is not an OperatorError (a bug
        in operator-core) propagates too.
        """
        ordered = list(names)
        answers = await asyncio.gather(
            *(call(self.executor(name)) for name in ordered), return_exceptions=True
        )
        found: list[tuple[str, T | OperatorError]] = []
        for name, answer in zip(ordered, answers, strict=True):
            if isinstance(answer, OperatorError) and not isinstance(answer, InvalidInput):
                found.append((name, answer))
            elif isinstance(answer, BaseException):
                raise answer
            else:
                found.append((name, answer))
        return found


def _default_executor(entry: HostEntry, client: DockerClient) -> DockerActionExecutor:
    """Return the executor of a host: over the Engine API, bounded by its deadline.

    ``client`` (the docker CLI's) serves ``check`` only.
    """
    return DockerActionExecutor(endpoint=entry.endpoint(), call_deadline=entry.deadline_s)
