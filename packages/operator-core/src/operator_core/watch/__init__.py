"""Watch the engines and report incidents as they happen; optionally heal them under the policy.

``watch(executor_or_fleet)`` is an async iterator of ``Incident`` (a container died, was
OOM-killed, turned unhealthy or restarts in a loop, each said once and resolved when it
clears; a death somebody asked for is ``info`` of its kind) and ``Notice`` (a host's event
stream connected, ended, reconnected; its engine unresponsive, responsive). ``Healer`` acts
on incidents through a ``ToolRunner``.
"""

from operator_core.watch.heal.healer import Healer, HealReport
from operator_core.watch.heal.state import HealStore
from operator_core.watch.heal.watching import heal_approver, heal_watch
from operator_core.watch.incidents import (
    DEFAULT_LOOP_RESTARTS,
    DEFAULT_LOOP_WINDOW_S,
    Incident,
    IncidentDetector,
    IncidentKind,
    IncidentStatus,
)
from operator_core.watch.intents import AuditIntents
from operator_core.watch.stream import Notice, NoticeKind, watch

__all__ = [
    "DEFAULT_LOOP_RESTARTS",
    "DEFAULT_LOOP_WINDOW_S",
    "AuditIntents",
    "HealReport",
    "HealStore",
    "Healer",
    "Incident",
    "IncidentDetector",
    "IncidentKind",
    "IncidentStatus",
    "Notice",
    "NoticeKind",
    "heal_approver",
    "heal_watch",
    "watch",
]
