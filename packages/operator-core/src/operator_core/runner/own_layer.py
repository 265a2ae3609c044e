"""Ask the engine which container owns the operator's root filesystem layer.

``policy.self_container`` reads the ``upperdir`` of the overlay mounted on ``/`` (the
container's own writable layer); files alone cannot say whose it is, and under a private
cgroup namespace plus a shared network namespace they name only the other container.
The engine can: ``executor.containers_with_upper_dirs`` (``DockerActionExecutor``) maps
the layer to a container id. An executor without that method (a fleet, a test double)
is not asked. The runner asks before its first protection judgement (not at start-up:
a read-only call, or invalid input, starts no docker process for it). The answer is only
ever added to the protected ids: a failed or empty lookup leaves the other candidates
protected and is logged, and a failed one is asked again by the next call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Set
from typing import Any

from operator_core.deadline import Deadline, remaining, within
from operator_core.errors import OperatorError
from operator_core.policy.guard import Guard

__all__ = ["OWN_LAYER_LOOKUP_S", "OwnLayer", "containers_of_own_layer"]

log = logging.getLogger("operator_core.runner")

#: Seconds the engine is given to name the container of the root filesystem layer.
OWN_LAYER_LOOKUP_S = 10.0


async def containers_of_own_layer(executor: Any, upper_dirs: Set[str]) -> frozenset[str] | None:
    """Return the ids of the containers whose writable layer is one of ``upper_dirs``.

    Empty when there is nothing to look up or the executor cannot; None when the engine
    did not answer within ``OWN_LAYER_LOOKUP_S`` (or the calling tool call's deadline,
    if sooner), logged as a warning.
    """
    lookup = getattr(executor, "containers_with_upper_dirs", None)
    if not upper_dirs or not callable(lookup):
        return frozenset()
    left = remaining()
    seconds = OWN_LAYER_LOOKUP_S if left is None else max(0.0, min(OWN_LAYER_LOOKUP_S, left))
    try:
        with within(Deadline(seconds)):
            found = frozenset(await lookup(sorted(upper_dirs)))
    except OperatorError as exc:
        log.warning(
            "the engine could not say which container owns this root filesystem (%s); "
            "only the ids found in /proc are protected as the operator's own: %s",
            ", ".join(sorted(upper_dirs)),
            exc,
        )
        return None
    if not found:
        log.info(
            "no running container on the engine has the root filesystem layer %s",
            ", ".join(sorted(upper_dirs)),
        )
    return found


class OwnLayer:
    """The one lookup of a runner's own layer: asked by the first mutating call, once."""

    def __init__(self) -> None:
        self._asked: asyncio.Future[frozenset[str] | None] | None = None

    async def protect(self, guard: Guard, executor: Any) -> None:
        """Have the engine name the container of our root filesystem layer; protect it.

        Asked once (concurrent calls wait for that answer, at most ``OWN_LAYER_LOOKUP_S``);
        an answer the engine did not give is asked again by the next call.
        """
        if self._asked is None:
            upper_dirs = guard.own_upper_dirs
            self._asked = asyncio.ensure_future(containers_of_own_layer(executor, upper_dirs))
        asked = self._asked
        found = await asyncio.shield(asked)
        if found is None:
            if self._asked is asked:
                self._asked = None
            return
        guard.protect_own(found)
