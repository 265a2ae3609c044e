"""The base every group of executor actions builds on: the client and bounded calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from operator_core import deadline as shared_deadline
from operator_core.docker._engine import cli as _engine
from operator_core.errors import OperationTimeout

__all__ = ["ExecutorCore"]

T = TypeVar("T")


class ExecutorCore:
    """Holds the docker client and runs blocking work off the event loop, bounded in time.

    Attributes are set by ``DockerActionExecutor.__init__``.
    """

    _docker: Any
    _call_deadline: float
    _clock: Callable[[], float]

    async def _run(
        self,
        what: str,
        work: Callable[[Any], T],
        *,
        deadline: float | None = None,
        container: str | None = None,
        network: str | None = None,
        service: str | None = None,
        node: str | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> T:
        """Run ``work(client)`` in a worker thread within ``deadline`` s (default: the call's).

        ``on_cancel`` tells ``work`` to stop early when the call is cancelled (see
        ``_engine.run_bounded``, which then waits for ``work`` to end). Under a shared
        deadline (``operator_core.deadline``) it ends by then too, and does not start
        once that has passed.
        """
        limit = self._call_deadline if deadline is None else deadline
        left = shared_deadline.remaining()
        if left is not None:
            if left <= 0:
                raise OperationTimeout(f"{what}: the call's deadline had passed; nothing was run")
            limit = min(limit, left)
        client = _engine.bounded_client(self._docker, limit)
        return await _engine.run_bounded(
            lambda: work(client),
            deadline=limit,
            what=what,
            container=container,
            network=network,
            service=service,
            node=node,
            on_cancel=on_cancel,
        )
