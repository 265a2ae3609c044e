"""Whether a container's death was asked for by an operator call, read from the audit trail.

The runner writes a ``pending`` audit record before a mutating action runs (and replaces it
when the action ends), so by the time the engine says ``die`` for a container the healer
(or a person through ``operator``) is restarting or stopping, the trail already holds the
intent. ``AuditIntents`` finds it: a record of a restart, stop or kill of that container
(by its full id, on that host, any actor) that the policy let through and whose call was
under way when the container died.
"""

from __future__ import annotations

import logging
from typing import Literal, Protocol, TypedDict

from operator_core.audit import AuditQuery, AuditSink
from operator_core.errors import AuditError

__all__ = ["INTENT_TOOLS", "AuditIntents", "Intent", "IntentKind", "IntentSource"]

log = logging.getLogger(__name__)

IntentKind = Literal["restarted_by_operator", "stopped"]
#: The tools whose call explains a death, and what the death then was.
INTENT_TOOLS: dict[str, IntentKind] = {
    "docker_restart_container": "restarted_by_operator",
    "docker_stop_container": "stopped",
    "docker_kill_container": "stopped",
}
#: The longest a restart or stop call may run before the death it causes (its stop
#: timeout and the engine's latency); records older than this are not looked at.
LOOKBACK_S = 600.0
#: Slack between the audit trail's clock and the engine's event times.
_SLACK_S = 2.0


class Intent(TypedDict):
    """An operator call that explains a death."""

    kind: IntentKind
    tool: str
    actor: str | None
    audit_id: str


class IntentSource(Protocol):
    """Where the watch asks whether a death was requested."""

    def intent(self, host: str | None, container_id: str, at: float) -> Intent | None:
        """Return the call under way on ``container_id`` (of ``host``) at unix time ``at``."""
        ...


class AuditIntents:
    """Answers from an audit sink: the call of a restart/stop/kill under way at the death."""

    def __init__(self, audit: AuditSink) -> None:
        self.audit = audit

    def intent(self, host: str | None, container_id: str, at: float) -> Intent | None:
        """Return the newest allowed restart/stop/kill of the container under way at ``at``.

        A trail that cannot be read answers None (the death is then judged by its events
        alone) and is logged, never raised into the watch.
        """
        query = AuditQuery(
            container=container_id,
            tools=tuple(INTENT_TOOLS),
            since=at - LOOKBACK_S,
            until=at + _SLACK_S,
            limit=20,
        )
        try:
            records = self.audit.query(query)
        except AuditError as exc:
            log.warning("the audit trail could not be read to classify a death: %s", exc)
            return None
        for record in records:
            if record.decision != "allowed" or record.host != host:
                continue
            if record.container_id != container_id:
                continue
            ended = None if record.duration_ms is None else record.ts + record.duration_ms / 1000
            if record.outcome == "pending" or ended is None or ended + _SLACK_S >= at:
                return Intent(
                    kind=INTENT_TOOLS[record.tool],
                    tool=record.tool,
                    actor=record.actor,
                    audit_id=record.id,
                )
        return None
