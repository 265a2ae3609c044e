"""Ask the engine which container owns the operator's root filesystem layer.

``policy.self_container`` reads the ``upperdir`` of the overlay mounted on ``/`` (the
container's own writable layer); files alone cannot say whose it is, and under a private
cgroup namespace plus a shared network namespace they name only the other container.
The engine can: ``executor.containers_with_upper_dirs`` (``DockerActionExecutor``) maps
the layer to a container id. An executor without that method (a fleet, a test double)
is not asked. The answer is only ever added to the protected ids: a failed or empty
lookup leaves the other candidates protected and is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Set
from typing import Any

from operator_core.deadline import Deadline, within
from operator_core.errors import OperatorError

__all__ = ["OWN_LAYER_LOOKUP_S", "containers_of_own_layer"]

log = logging.getLogger("operator_core.runner")

#: Seconds the engine is given to name the container of the root filesystem layer.
OWN_LAYER_LOOKUP_S = 10.0


async def containers_of_own_layer(executor: Any, upper_dirs: Set[str]) -> frozenset[str]:
    """Return the ids of the containers whose writable layer is one of ``upper_dirs``.

    Empty when there is nothing to look up, the executor cannot, or the engine did not
    answer within ``OWN_LAYER_LOOKUP_S`` (logged as a warning: start-up goes on).
    """
    lookup = getattr(executor, "containers_with_upper_dirs", None)
    if not upper_dirs or not callable(lookup):
        return frozenset()
    try:
        with within(Deadline(OWN_LAYER_LOOKUP_S)):
            found = frozenset(await lookup(sorted(upper_dirs)))
    except OperatorError as exc:
        log.warning(
            "the engine could not say which container owns this root filesystem (%s); "
            "only the ids found in /proc are protected as the operator's own: %s",
            ", ".join(sorted(upper_dirs)),
            exc,
        )
        return frozenset()
    if not found:
        log.info(
            "no running container on the engine has the root filesystem layer %s",
            ", ".join(sorted(upper_dirs)),
        )
    return found
