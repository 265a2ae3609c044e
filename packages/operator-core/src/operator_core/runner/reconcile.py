"""Close the records of actions whose operator process died while they ran.

A mutating action's record is written ``pending`` before the action starts and replaced
when it ends. If the process dies in between (kill -9, a crash, a power cut), the record
stays ``pending`` for ever, with no state after it. ``reconcile_interrupted`` runs when a
runner with a durable trail starts: every record still ``pending`` once its call's whole
bound (``executor.call_bound``) and ``STALE_MARGIN_S`` have passed since it was admitted
cannot belong to a live call any more, so it is marked ``interrupted``, with the
container's state read now as ``after`` and an error saying what is and is not known.

Reading those states shares one bound, ``RECONCILE_BUDGET_S``: on a hung engine the
records are still marked, their ``after`` saying it could not be read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from operator_core.audit.base import AuditQuery, AuditSink
from operator_core.audit.record import AuditRecord, json_state
from operator_core.audit.redact import redact_text
from operator_core.deadline import Deadline, within
from operator_core.errors import AuditError, OperatorError
from operator_core.tools.registry import REGISTRY
from operator_core.words import JSONObject

__all__ = ["RECONCILE_BUDGET_S", "STALE_MARGIN_S", "reconcile_interrupted", "record_bound"]

log = logging.getLogger("operator_core.runner")

#: Seconds past a call's bound before its pending record is taken for an orphan (room
#: for writing the final record, and for clocks of processes sharing the trail).
STALE_MARGIN_S = 30.0
#: Seconds all the state reads of one reconciliation may take together.
RECONCILE_BUDGET_S = 10.0
#: The most pending records looked at in one start.
_MAX_RECORDS = 1000
#: The bound assumed for a record whose tool the executor states none for.
_FALLBACK_BOUND_S = 3600.0

Inspect = Callable[[AuditRecord], Awaitable[dict[str, object]]]
Bound = Callable[[AuditRecord], float | None]


async def reconcile_interrupted(
    audit: AuditSink, *, now: float, bound: Bound, inspect: Inspect
) -> list[AuditRecord]:
    """Mark the stale ``pending`` records of ``audit`` ``interrupted``; return them.

    ``now`` is the wall-clock time; ``bound(record)`` the most seconds its call could
    take (None: unknown, an hour is assumed); ``inspect(record)`` reads its container's
    state for ``after``.
    """
    try:
        pending = audit.query(AuditQuery(outcome="pending", limit=_MAX_RECORDS))
    except AuditError as exc:
        log.warning("pending audit records not reconciled: the trail could not be read: %s", exc)
        return []
    stale = [r for r in pending if now - r.ts > (bound(r) or _FALLBACK_BOUND_S) + STALE_MARGIN_S]
    closed: list[AuditRecord] = []
    with within(Deadline(RECONCILE_BUDGET_S)):
        for record in sorted(stale, key=lambda r: r.ts):
            final = _interrupted(record, await _state_now(record, inspect), now)
            try:
                await audit.write(final)
            except AuditError as exc:
                log.error("pending audit record %s not reconciled: %s", record.id, exc)
                continue
            log.warning(
                "audit record %s (%s on %s) was left pending by an operator process that "
                "ended; marked interrupted",
                record.id,
                record.tool,
                record.target_name or record.target_id,
            )
            closed.append(final)
    return closed


async def _state_now(record: AuditRecord, inspect: Inspect) -> dict[str, object]:
    """Return the container's state now, or a note of why it could not be read."""
    if not record.target_id:
        return {"unavailable": "the record names no target"}
    try:
        return await inspect(record)
    except OperatorError as exc:
        return {"unavailable": redact_text(str(exc))}


def _interrupted(record: AuditRecord, after: dict[str, object], now: float) -> AuditRecord:
    """Return ``record`` closed as ``interrupted`` with ``after`` read at ``now``."""
    when = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
    return record.model_copy(
        update={
            "outcome": "interrupted",
            # model_copy does not validate: the state is read as JSON holds it here.
            "after": json_state(after),
            "error": {
                "type": "interrupted",
                "message": f"the operator process ended while {record.tool} was under way "
                "(its record was still pending), so whether the action completed is "
                f"unknown; 'after' is the container's state read at {when}, when a new "
                "runner started.",
            },
        }
    )


def record_bound(call_bound: Callable[[str, JSONObject], float | None]) -> Bound:
    """Return ``bound`` for ``reconcile_interrupted`` from an executor's ``call_bound``."""

    def bound(record: AuditRecord) -> float | None:
        spec = REGISTRY.get(record.tool)
        arguments = record.arguments if isinstance(record.arguments, dict) else {}
        try:
            return call_bound(spec.method, arguments) if spec is not None else None
        except OperatorError:  # e.g. a fleet host no longer in the inventory
            return None

    return bound
