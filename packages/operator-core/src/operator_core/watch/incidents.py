"""Turn the engine's container events into incidents a person or a healer acts on.

The rules, all judged on the engine's own event times (so a replayed window gives the
same incidents as the live one):

* ``died``: a ``die`` with a non-zero exit code, unless the kernel OOM-killed it (then
  the ``oom`` event already said so);
* ``oom_killed``: an ``oom`` event;
* ``unhealthy``: a ``health_status: unhealthy`` event;
* ``restart_loop``: more than ``loop_restarts`` dies of one container within
  ``loop_window_s`` seconds; said once, then again only after a quiet window.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypedDict

from operator_core._time import utc_moment
from operator_core.errors import InvalidInput
from operator_core.results import Event

__all__ = [
    "DEFAULT_LOOP_RESTARTS",
    "DEFAULT_LOOP_WINDOW_S",
    "WATCHED_ACTIONS",
    "Incident",
    "IncidentDetector",
    "IncidentKind",
]

IncidentKind = Literal["died", "oom_killed", "unhealthy", "restart_loop"]
#: The container event actions the watch follows.
WATCHED_ACTIONS = ["die", "oom", "health_status"]
#: More dies than this within the window is a restart loop.
DEFAULT_LOOP_RESTARTS = 3
#: The window of the restart-loop rule, in seconds.
DEFAULT_LOOP_WINDOW_S = 300.0
#: An oom this close before a die explains it.
_OOM_EXPLAINS_S = 10.0
#: Every this many events, containers whose last die and oom are out of every window are
#: forgotten, so a watch over a host that creates containers all day keeps a bounded memory.
_SWEEP_EVERY = 1000


class Incident(TypedDict):
    """Something about a container that a person may need to know, and when it happened."""

    kind: IncidentKind
    host: str | None
    container_id: str
    name: str | None
    time: str
    exit_code: int | None
    #: How many dies the loop rule counted in its window (restart_loop only).
    count: int | None
    message: str
    labels: dict[str, str]


@dataclass
class _Seen:
    """What the detector remembers of one container."""

    dies: deque[datetime]
    last_oom: datetime | None = None
    looping: bool = False


class IncidentDetector:
    """Feed it events (per host) in the order the engine sent them; it returns incidents."""

    def __init__(
        self,
        *,
        loop_restarts: int = DEFAULT_LOOP_RESTARTS,
        loop_window_s: float = DEFAULT_LOOP_WINDOW_S,
    ) -> None:
        if isinstance(loop_restarts, bool) or not isinstance(loop_restarts, int):
            raise InvalidInput("loop_restarts must be a whole number")
        if not 1 <= loop_restarts <= 1000:
            raise InvalidInput(f"loop_restarts must be from 1 to 1000, got {loop_restarts}")
        if not isinstance(loop_window_s, int | float) or not 1 <= loop_window_s <= 86400:
            raise InvalidInput(f"loop_window_s must be from 1 to 86400 s, got {loop_window_s!r}")
        self.loop_restarts = loop_restarts
        self.loop_window_s = float(loop_window_s)
        self._seen: dict[tuple[str | None, str], _Seen] = defaultdict(lambda: _Seen(deque()))
        self._fed = 0

    def feed(self, event: Event, host: str | None = None) -> list[Incident]:
        """Return the incidents ``event`` (from ``host``) reveals, if any."""
        if event["type"] != "container":
            return []
        when = utc_moment(event["time"])
        self._fed += 1
        if self._fed % _SWEEP_EVERY == 0:
            self._forget_before(when)
        seen = self._seen[(host, event["actor_id"])]
        action = event["action"]
        if action == "oom":
            seen.last_oom = when
            return [self._incident("oom_killed", event, host, "was OOM-killed by the kernel")]
        if action == "health_status" and event["detail"] == "unhealthy":
            return [self._incident("unhealthy", event, host, "turned unhealthy")]
        if action != "die":
            return []
        found = []
        code = event["exit_code"]
        oom = seen.last_oom is not None and (when - seen.last_oom).total_seconds() < _OOM_EXPLAINS_S
        if code not in (0, None) and not oom:
            found.append(self._incident("died", event, host, f"died with exit code {code}"))
        looped = self._count_die(seen, when)
        if looped is not None:
            message = f"died {looped} times within {self.loop_window_s:g}s: a restart loop"
            found.append(self._incident("restart_loop", event, host, message, count=looped))
        return found

    def _forget_before(self, now: datetime) -> None:
        """Drop the containers no rule can still use: every die and oom is out of its window."""
        for key, seen in list(self._seen.items()):
            dies_out = not seen.dies or (now - seen.dies[-1]).total_seconds() > self.loop_window_s
            oom_out = seen.last_oom is None or (now - seen.last_oom).total_seconds() > (
                _OOM_EXPLAINS_S
            )
            if dies_out and oom_out:
                del self._seen[key]

    def _count_die(self, seen: _Seen, when: datetime) -> int | None:
        """Count a die; return the count when it starts a restart loop, else None."""
        seen.dies.append(when)
        while (when - seen.dies[0]).total_seconds() > self.loop_window_s:
            seen.dies.popleft()
        if len(seen.dies) <= self.loop_restarts:
            seen.looping = False
            return None
        if seen.looping:
            return None
        seen.looping = True
        return len(seen.dies)

    @staticmethod
    def _incident(
        kind: IncidentKind, event: Event, host: str | None, what: str, count: int | None = None
    ) -> Incident:
        attributes = event["attributes"]
        name = event["actor_name"]
        labels = {k: v for k, v in attributes.items() if k not in ("name", "image", "exitCode")}
        return Incident(
            kind=kind,
            host=host,
            container_id=event["actor_id"],
            name=name,
            time=event["time"],
            exit_code=event["exit_code"],
            count=count,
            message=f"{name or event['actor_id'][:12]} {what}",
            labels=labels,
        )
