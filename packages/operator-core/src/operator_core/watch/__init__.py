"""Watch the engines and report incidents as they happen; optionally heal them under the policy.

``watch(executor_or_fleet)`` is an async iterator of ``Incident`` (a container died, was
OOM-killed, turned unhealthy or restarts in a loop) and ``Notice`` (a host's event stream
connected, ended, reconnected). ``Healer`` acts on incidents through a ``ToolRunner``.
"""

from operator_core.watch.heal import Healer, HealReport
from operator_core.watch.heal_state import HealStore
from operator_core.watch.healing import heal_approver, heal_watch
from operator_core.watch.incidents import (
    DEFAULT_LOOP_RESTARTS,
    DEFAULT_LOOP_WINDOW_S,
    Incident,
    IncidentDetector,
    IncidentKind,
)
from operator_core.watch.stream import Notice, NoticeKind, watch

__all__ = [
    "DEFAULT_LOOP_RESTARTS",
    "DEFAULT_LOOP_WINDOW_S",
    "HealReport",
    "HealStore",
    "Healer",
    "Incident",
    "IncidentDetector",
    "IncidentKind",
    "Notice",
    "NoticeKind",
    "heal_approver",
    "heal_watch",
    "watch",
]
