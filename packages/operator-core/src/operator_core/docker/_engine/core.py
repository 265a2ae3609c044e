"""The base every group of executor actions builds on: the engine client and bounded calls.

``_call`` runs an action's engine work (requests through ``self._api``, an
``EngineClient``) on the event loop, bounded by the call's deadline and the shared one
(``operator_core.deadline``): past it the work is cancelled, which closes its open
request or stream, and the call raises ``OperationTimeout``. ``_run`` is the former
python-on-whales path, kept for the actions not yet ported to the API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Self, TypeVar

from operator_core import deadline as shared_deadline
from operator_core.docker._engine.api import EngineClient
from operator_core.errors import (
    ContainerNotFound,
    NetworkNotFound,
    NodeNotFound,
    OperationTimeout,
    OperatorError,
    ServiceNotFound,
)

__all__ = ["ExecutorCore", "renamed"]

T = TypeVar("T")


def renamed(
    error: OperatorError,
    *,
    container: str | None = None,
    network: str | None = None,
    service: str | None = None,
    node: str | None = None,
) -> OperatorError:
    """Return ``error`` naming what the caller asked for (``web``), not the id it used.

    An action reads ``web`` and then acts on its full id; when the container is gone by
    then, the error still names ``web``, as the caller wrote it.
    """
    if isinstance(error, ContainerNotFound) and container is not None:
        return ContainerNotFound(container)
    if isinstance(error, NetworkNotFound) and network is not None:
        return NetworkNotFound(network)
    if isinstance(error, ServiceNotFound) and service is not None:
        return ServiceNotFound(service)
    if isinstance(error, NodeNotFound) and node is not None:
        return NodeNotFound(node)
    return error


class ExecutorCore:
    """Holds the engine client and runs each call's work bounded in time.

    Attributes are set by ``DockerActionExecutor.__init__``.
    """

    _api: EngineClient
    _call_deadline: float
    _clock: Callable[[], float]

    def _limit(self, what: str, deadline: float | None) -> float:
        """Return the seconds ``what`` may take: its deadline within the shared one."""
        limit = self._call_deadline if deadline is None else deadline
        left = shared_deadline.remaining()
        if left is not None:
            if left <= 0:
                raise OperationTimeout(f"{what}: the call's deadline had passed; nothing was run")
            limit = min(limit, left)
        return limit

    async def _call(
        self,
        what: str,
        work: Callable[[], Awaitable[T]],
        *,
        deadline: float | None = None,
        container: str | None = None,
        network: str | None = None,
        service: str | None = None,
        node: str | None = None,
    ) -> T:
        """Await ``work()`` within ``deadline`` s (default: the call's) and the shared deadline.

        Past it, ``work`` is cancelled (closing its request or stream) and the call raises
        OperationTimeout; a not-found error names the reference given here. Anything that
        is not an ``operator_core`` error propagates as it is.
        """
        limit = self._limit(what, deadline)
        bound = asyncio.timeout(limit)
        try:
            async with bound:
                return await work()
        except OperationTimeout:
            raise
        except TimeoutError as exc:
            if not bound.expired():
                raise
            raise OperationTimeout(
                f"{what} did not finish within its deadline of {limit:g}s; "
                "the engine may still complete it"
            ) from exc
        except OperatorError as exc:
            error = renamed(exc, container=container, network=network, service=service, node=node)
            if error is exc:
                raise
            raise error from exc

    async def aclose(self) -> None:
        """Close the engine client's connection pool (a later call opens a new one)."""
        await self._api.close()

    async def __aenter__(self) -> Self:
        """``async with DockerActionExecutor(...) as executor:`` closes the pool on leaving."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
