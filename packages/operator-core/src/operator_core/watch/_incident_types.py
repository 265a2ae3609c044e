"""The incident contract and what the detector remembers of each container.

``Incident`` is the shared shape every consumer of the watch reads (the CLI, the healer,
the alert sinks, the history): see ``watch.incidents`` for the rules that make them.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypedDict

from operator_core._time import utc_moment
from operator_core.audit.redact import redact_value
from operator_core.results import ContainerSummary, Event

__all__ = [
    "Held",
    "Incident",
    "IncidentKind",
    "IncidentStatus",
    "Key",
    "Seen",
    "Timer",
    "held_verdict",
    "iso_of",
    "looping",
    "unix_of",
]

IncidentKind = Literal[
    "died",
    "oom_killed",
    "unhealthy",
    "restart_loop",  # alerts (firing)
    "stopped",
    "removed",
    "restarted",
    "restarted_by_operator",  # info: somebody asked for it
    "engine_stopped",  # info: the engine shut down
]
#: firing: new; update: a summary (a loop's count); resolved: it cleared; info: classified,
#: nothing to alert.
IncidentStatus = Literal["firing", "update", "resolved", "info"]
#: A container as the detector keys it: (host, full container id).
Key = tuple[str | None, str]
#: Attributes an event carries that are not labels.
_NOT_LABELS = frozenset({"name", "image", "exitCode", "signal", "execDuration"})


class Incident(TypedDict):
    """Something about a container a person may need to know; one report of it."""

    kind: IncidentKind
    status: IncidentStatus
    #: Stable for one incident: its firing, updates and resolve share it.
    incident_id: str
    #: The inventory host name (None for a lone engine).
    host: str | None
    engine_id: str | None
    container_id: str
    name: str | None
    #: This report's time (ISO, UTC).
    time: str
    #: When the incident began.
    since: str
    exit_code: int | None
    #: Folded events (OOM kills, a loop's deaths), else None.
    count: int | None
    #: One human line, naming host and container.
    message: str
    #: The container's labels, secret-looking values redacted.
    labels: dict[str, str]


@dataclass
class Timer:
    """An incident under way: when it began, was last reported, last folded an event."""

    since: float
    reported: float
    last: float
    count: int = 1
    #: (OOM) the clock time until which its firing is held to count the burst.
    held_until: float | None = None


@dataclass
class Held:
    """A death held for the event that says what it was."""

    event: Event
    at: float
    until: float
    signal: str | None
    stopped: bool = False


@dataclass
class Seen:
    """What the detector remembers of one container."""

    host: str | None
    engine_id: str | None
    container_id: str
    name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    dies: deque[float] = field(default_factory=deque)
    last_kill: float | None = None
    kill_signal: str | None = None
    last_oom: float | None = None
    held: Held | None = None
    oom: Timer | None = None
    loop: Timer | None = None
    unhealthy: Timer | None = None
    #: Whether the container runs, as far as the events and listings said.
    running: bool | None = None
    #: A death at or before this event time was already said (from a listing).
    explained_until: float | None = None

    def hold(self, event: Event, at: float, until: float) -> None:
        """Hold the death ``event`` until the clock reaches ``until``."""
        self.held = Held(event=event, at=at, until=until, signal=self.kill_signal)

    def safe_labels(self) -> dict[str, str]:
        """Return the container's labels with secret-looking values redacted."""
        labels = {k: v for k, v in self.labels.items() if k not in _NOT_LABELS}
        return {str(k): str(v) for k, v in redact_value(labels).items()}

    def idle(self, now: float, loop_window_s: float, oom_fold_s: float, kill_s: float) -> bool:
        """Whether no rule can still use this container at event time ``now``."""
        if self.held or self.loop or self.unhealthy or (self.oom and self.oom.held_until):
            return False
        recent = [self.dies[-1] if self.dies else None, self.last_oom, self.last_kill]
        windows = (loop_window_s, oom_fold_s, kill_s)
        return all(t is None or now - t > w for t, w in zip(recent, windows, strict=True))


def held_verdict(seen: Seen, intent: tuple[IncidentKind, str] | None) -> tuple[IncidentKind, str]:
    """Return what a held death was, once nothing more will come: the intent, else its events."""
    if intent is not None:
        return intent
    held = seen.held
    if held is not None and held.stopped:
        return "stopped", "was stopped"
    signal = held.signal if held is not None else None
    return "stopped", f"was killed on request (signal {signal or '?'})"


_MOMENT = re.compile(r"(.+?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?", re.ASCII)


def unix_of(moment: str) -> float:
    """Return an engine time (RFC 3339, up to nanoseconds, ``Z`` or an offset) as unix time."""
    match = _MOMENT.fullmatch(moment.strip())
    if match is None:
        raise ValueError(f"not a time: {moment!r}")
    whole, fraction, zone = match.groups()
    offset = "+00:00" if zone in (None, "Z") else zone
    return utc_moment(whole + offset).timestamp() + float(f"0.{fraction or 0}")


def iso_of(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")


def looping(entry: ContainerSummary, now: float, restarts: int, window_s: float) -> bool:
    """Whether a listed container restarts in a loop: restarting, or often and lately."""
    if entry["status"] == "restarting":
        return True
    started = entry["started_at"]
    recent = started is not None and now - unix_of(started) <= window_s
    return entry["restart_count"] > restarts and recent
