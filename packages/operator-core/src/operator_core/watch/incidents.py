"""Turn the engine's container events into incidents a person or a healer acts on, once each.

The rules (deaths, loops and OOM kills judged on the engine's own event times):

* a ``die`` the engine preceded with a ``kill`` (``docker stop``, ``kill``, ``rm -f``,
  ``restart``, the healer's restart, a daemon shutdown) is held up to ``hold_s`` for what
  follows: the operator's audit record (``restarted_by_operator`` / ``stopped``), a
  ``destroy`` (``removed``), a ``start`` or ``restart`` (``restarted``), a ``stop``
  (``stopped``; it extends the hold once, since ``docker restart``'s ``start`` comes after
  it), the host's stream ending (``engine_stopped``); otherwise ``stopped`` (a kill
  request). These are ``info``: somebody (or the engine's shutdown) asked for them;
* any other non-zero ``die`` is ``died``, unless an ``oom`` just before explains it;
* ``oom`` events of one container less than 60 s apart are one ``oom_killed`` incident:
  its firing is held ``hold_s`` to count the burst, then an ``update`` at most every 5 min;
* more than ``loop_restarts`` unrequested deaths within ``loop_window_s`` is one
  ``restart_loop``: later deaths fold into its count (no ``died`` line), an ``update`` at
  most every 5 min, ``resolved`` after 10 min without a death or when it is removed;
* ``health_status: unhealthy`` fires ``unhealthy`` once; ``healthy`` or removal resolves it;
* ``current`` takes a host's container list (at start and each reconnect): a container
  already unhealthy or restarting in a loop is an incident then, and an unhealthy one that
  recovered or went away meanwhile is resolved.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from operator_core.errors import InvalidInput
from operator_core.results import ContainerSummary, Event
from operator_core.watch._incident_types import (
    Incident,
    IncidentKind,
    IncidentStatus,
    Key,
    Seen,
    Timer,
    held_verdict,
    looping,
)
from operator_core.watch._incident_types import iso_of as _iso
from operator_core.watch._incident_types import unix_of as _unix
from operator_core.watch.intents import IntentSource

__all__ = [
    "DEFAULT_LOOP_RESTARTS",
    "DEFAULT_LOOP_WINDOW_S",
    "HOLD_S",
    "LOOP_QUIET_S",
    "OOM_FOLD_S",
    "SUMMARY_EVERY_S",
    "WATCHED_ACTIONS",
    "Incident",
    "IncidentDetector",
    "IncidentKind",
    "IncidentStatus",
]

#: The container event actions the watch follows (the last five classify a death).
WATCHED_ACTIONS = ["die", "oom", "health_status", "kill", "stop", "destroy", "start", "restart"]
#: More dies than this within the window is a restart loop.
DEFAULT_LOOP_RESTARTS = 3
#: The window of the restart-loop rule, in seconds.
DEFAULT_LOOP_WINDOW_S = 300.0
#: The longest a death (or an OOM burst) is held to classify (count) it.
HOLD_S = 2.0
#: ``oom`` events of one container less than this apart are one incident.
OOM_FOLD_S = 60.0
#: The least time between two reports (firing, updates) of one folding incident.
SUMMARY_EVERY_S = 300.0
#: A restart loop resolves after this long without a death.
LOOP_QUIET_S = 600.0
#: A ``kill`` this close before a ``die`` means somebody asked for the death.
KILL_EXPLAINS_S = 60.0
#: An ``oom`` this close before a ``die`` explains it.
_OOM_EXPLAINS_S = 10.0
#: A container that stopped this long before its host's stream ended may be the shutdown's.
_SHUTDOWN_S = 60.0
#: Slack between the engine's clock and ours.
_SLACK_S = 5.0
#: Every this many events, containers no rule can still use are forgotten.
_SWEEP_EVERY = 1000


class IncidentDetector:
    """Feed it events (per host) in the order the engine sent them; it returns incidents.

    ``clock`` (unix seconds) times the holds and the quiet period of a loop; ``due()``
    returns what a passing clock releases and must be called every so often. ``intents``
    says whether an operator call explains a death (``AuditIntents``).
    """

    def __init__(
        self,
        *,
        loop_restarts: int = DEFAULT_LOOP_RESTARTS,
        loop_window_s: float = DEFAULT_LOOP_WINDOW_S,
        hold_s: float = HOLD_S,
        intents: IntentSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(loop_restarts, bool) or not isinstance(loop_restarts, int):
            raise InvalidInput("loop_restarts must be a whole number")
        if not 1 <= loop_restarts <= 1000:
            raise InvalidInput(f"loop_restarts must be from 1 to 1000, got {loop_restarts}")
        if not isinstance(loop_window_s, int | float) or not 1 <= loop_window_s <= 86400:
            raise InvalidInput(f"loop_window_s must be from 1 to 86400 s, got {loop_window_s!r}")
        if not isinstance(hold_s, int | float) or not 0 <= hold_s <= 10:
            raise InvalidInput(f"hold_s must be from 0 to 10 s, got {hold_s!r}")
        self.loop_restarts = loop_restarts
        self.loop_window_s = float(loop_window_s)
        self.hold_s = float(hold_s)
        self.intents, self.clock = intents, clock
        self._seen: dict[Key, Seen] = {}
        self._ended: dict[str | None, float] = {}
        self._fed = 0

    # --- input ---------------------------------------------------------------------------

    def feed(
        self, event: Event, host: str | None = None, engine_id: str | None = None
    ) -> list[Incident]:
        """Return the incidents ``event`` (from ``host``) reveals or releases, if any."""
        if event["type"] != "container" or not event["actor_id"]:
            return []
        at, action = _unix(event["time"]), event["action"]
        self._fed += 1
        if self._fed % _SWEEP_EVERY == 0:
            self._sweep(at)
        seen = self._seen_for(event, host, engine_id)
        if action in ("start", "die"):
            seen.running = action == "start"
        if action == "die" and seen.explained_until is not None and at <= seen.explained_until:
            return []  # a replay of a death the listing already said
        if action == "kill":
            seen.last_kill, seen.kill_signal = at, event["attributes"].get("signal")
            return []
        if action == "die":
            return self._die(seen, event, at)
        if action == "oom":
            return self._oom(seen, at)
        if action == "health_status":
            return self._health(seen, event["detail"], event["time"])
        return self._follow_up(seen, action, event["time"])

    def due(self) -> list[Incident]:
        """Return what the clock releases: held deaths and OOM bursts, quiet loops."""
        now = self.clock()
        return [found for seen in list(self._seen.values()) for found in self._due(seen, now)]

    def _due(self, seen: Seen, now: float) -> list[Incident]:
        found = []
        if seen.held is not None and now >= seen.held.until:
            found += self._release(seen, held_verdict(seen, self._intent(seen)))
        oom = seen.oom
        if oom is not None and oom.held_until is not None and now >= oom.held_until:
            oom.held_until = None
            found.append(self._oom_report(seen, oom, "firing", _iso(now)))
        loop = seen.loop
        if loop is not None and now - loop.last >= LOOP_QUIET_S:
            seen.loop = None
            seen.dies.clear()
            what = f"has not died for {LOOP_QUIET_S:g}s: the restart loop is over"
            found.append(self._report(seen, "restart_loop", "resolved", loop, what, now))
        return found

    def ended(self, host: str | None) -> list[Incident]:
        """The host's event stream ended: the deaths it was holding were its engine stopping."""
        self._ended[host] = self.clock()
        found = []
        for seen in list(self._seen.values()):
            if seen.host == host and seen.held is not None:
                found += self._release(seen, ("engine_stopped", "stopped: its engine shut down"))
        return found

    def current(
        self,
        host: str | None,
        engine_id: str | None,
        containers: list[ContainerSummary],
    ) -> list[Incident]:
        """Return the incidents a host's container list shows (read at start or reconnect)."""
        now, found, listed = self.clock(), [], set()
        ended = self._ended.pop(host, None)
        for entry in containers:
            key = (host, entry["id"])
            listed.add(key)
            seen = self._seen.setdefault(key, Seen(host, engine_id, entry["id"]))
            seen.name, seen.labels = entry["name"], dict(entry["labels"])
            found += self._stopped_unseen(seen, entry, ended)
            sick = entry["health"] == "unhealthy" and entry["status"] == "running"
            if sick and seen.unhealthy is None:
                seen.unhealthy = Timer(since=now, reported=now, last=now)
                found.append(
                    self._report(seen, "unhealthy", "firing", seen.unhealthy, "is unhealthy", now)
                )
            elif entry["health"] != "unhealthy" and seen.unhealthy is not None:
                found += self._resolve_unhealthy(seen, "is no longer unhealthy", _iso(now))
            if seen.loop is None and looping(entry, now, self.loop_restarts, self.loop_window_s):
                count = entry["restart_count"]
                seen.loop = Timer(since=now, reported=now, last=now, count=count)
                what = f"is restarting in a loop ({count} restarts so far)"
                found.append(self._report(seen, "restart_loop", "firing", seen.loop, what, now))
        for key, seen in list(self._seen.items()):
            if seen.host == host and key not in listed and seen.unhealthy is not None:
                found += self._resolve_unhealthy(seen, "is gone", _iso(now))
        return found

    # --- rules ---------------------------------------------------------------------------

    def _die(self, seen: Seen, event: Event, at: float) -> list[Incident]:
        found = []
        if seen.held is not None:  # a second death: the first gets what it has
            found += self._release(seen, held_verdict(seen, self._intent(seen)))
        kill = seen.last_kill
        if kill is None or not 0 <= at - kill <= KILL_EXPLAINS_S:
            return found + self._unrequested(seen, event, at)
        seen.last_kill = None
        seen.hold(event, at, self.clock() + self.hold_s)
        intent = self._intent(seen)
        if intent is not None:
            found += self._release(seen, held_verdict(seen, intent))
        return found

    def _follow_up(self, seen: Seen, action: str, moment: str) -> list[Incident]:
        found: list[Incident] = []
        held = seen.held
        if held is not None and action == "stop" and not held.stopped:
            held.stopped, held.until = True, max(held.until, self.clock() + self.hold_s)
        elif held is not None and action in ("start", "restart"):
            found += self._release(seen, ("restarted", "was restarted"))
        if action != "destroy":
            return found
        if held is not None:  # docker rm -f (after docker stop + rm, the death was the stop)
            verdict: tuple[IncidentKind, str] = ("removed", "was removed")
            found += self._release(seen, ("stopped", "was stopped") if held.stopped else verdict)
        found += self._resolve_unhealthy(seen, "was removed", moment)
        if seen.loop is not None:
            loop, seen.loop = seen.loop, None
            found.append(
                self._report(seen, "restart_loop", "resolved", loop, "was removed", moment)
            )
        if seen.oom is None or seen.oom.held_until is None:
            del self._seen[(seen.host, seen.container_id)]
        return found

    def _unrequested(self, seen: Seen, event: Event, at: float) -> list[Incident]:
        """A death nobody asked for: died, part of an OOM kill, or of a restart loop."""
        code = event["exit_code"]
        seen.dies.append(at)
        while at - seen.dies[0] > self.loop_window_s:
            seen.dies.popleft()
        loop = seen.loop
        if loop is not None:
            loop.count, loop.last = loop.count + 1, at
            if at - loop.reported < SUMMARY_EVERY_S:
                return []
            loop.reported = at
            what = f"is still restarting in a loop: {loop.count} deaths since it began"
            return [self._report(seen, "restart_loop", "update", loop, what, event["time"], code)]
        if len(seen.dies) > self.loop_restarts:
            seen.loop = Timer(since=seen.dies[0], reported=at, last=at, count=len(seen.dies))
            what = f"died {len(seen.dies)} times within {self.loop_window_s:g}s: a restart loop"
            return [
                self._report(seen, "restart_loop", "firing", seen.loop, what, event["time"], code)
            ]
        oom = seen.last_oom is not None and at - seen.last_oom < _OOM_EXPLAINS_S
        if code in (0, None) or oom:
            return []
        timer = Timer(since=at, reported=at, last=at)
        what = f"died with exit code {code}"
        return [self._report(seen, "died", "firing", timer, what, event["time"], code)]

    def _oom(self, seen: Seen, at: float) -> list[Incident]:
        seen.last_oom = at
        oom = seen.oom
        if oom is None or at - oom.last >= OOM_FOLD_S:
            seen.oom = Timer(since=at, reported=at, last=at, count=1)
            seen.oom.held_until = self.clock() + self.hold_s
            return []
        oom.count, oom.last = oom.count + 1, at
        if oom.held_until is not None or at - oom.reported < SUMMARY_EVERY_S:
            return []
        oom.reported = at
        return [self._oom_report(seen, oom, "update", _iso(at))]

    def _health(self, seen: Seen, detail: str | None, moment: str) -> list[Incident]:
        if detail == "unhealthy" and seen.unhealthy is None:
            at = _unix(moment)
            seen.unhealthy = Timer(since=at, reported=at, last=at)
            return [
                self._report(
                    seen, "unhealthy", "firing", seen.unhealthy, "turned unhealthy", moment
                )
            ]
        if detail == "healthy":
            return self._resolve_unhealthy(seen, "is healthy again", moment)
        return []

    def _resolve_unhealthy(self, seen: Seen, what: str, moment: str) -> list[Incident]:
        timer, seen.unhealthy = seen.unhealthy, None
        if timer is None:
            return []
        return [self._report(seen, "unhealthy", "resolved", timer, what, moment)]

    def _stopped_unseen(
        self, seen: Seen, entry: ContainerSummary, ended: float | None
    ) -> list[Incident]:
        """A container that ran when the stream ended and stopped as it did, unseen.

        A daemon shutting down may end the stream before the deaths it caused reach it (and
        a restarted engine remembers no events): the listing after the reconnect says them.
        """
        was_running, seen.running = seen.running, entry["status"] in ("running", "restarting")
        finished = entry["finished_at"]
        if ended is None or not was_running or seen.running or finished is None:
            return []
        at = _unix(finished)
        if not ended - _SHUTDOWN_S <= at <= ended + _SLACK_S:
            return []
        seen.explained_until = at + _SLACK_S
        code = entry["exit_code"]
        what = "stopped: its engine shut down" + ("" if code is None else f" (exit code {code})")
        timer = Timer(since=at, reported=at, last=at)
        return [self._report(seen, "engine_stopped", "info", timer, what, finished, code)]

    # --- reports -------------------------------------------------------------------------

    def _intent(self, seen: Seen) -> tuple[IncidentKind, str] | None:
        if self.intents is None or seen.held is None:
            return None
        found = self.intents.intent(seen.host, seen.container_id, seen.held.at)
        if found is None:
            return None
        verb = "restarted" if found["kind"] == "restarted_by_operator" else "stopped"
        return found["kind"], f"was {verb} by {found['actor'] or 'the operator'} ({found['tool']})"

    def _release(self, seen: Seen, verdict: tuple[IncidentKind, str]) -> list[Incident]:
        held, seen.held = seen.held, None
        if held is None:
            return []
        kind, what = verdict
        code = held.event["exit_code"]
        if code is not None:
            what += f" (exit code {code})"
        timer = Timer(since=held.at, reported=held.at, last=held.at)
        return [self._report(seen, kind, "info", timer, what, held.event["time"], code)]

    def _oom_report(self, seen: Seen, oom: Timer, status: IncidentStatus, moment: str) -> Incident:
        span = oom.last - oom.since
        what = "was OOM-killed by the kernel"
        if oom.count > 1:
            what += f": {oom.count} OOM kills in {span:.0f}s"
        return self._report(seen, "oom_killed", status, oom, what, moment)

    def _report(
        self,
        seen: Seen,
        kind: IncidentKind,
        status: IncidentStatus,
        timer: Timer,
        what: str,
        moment: str | float,
        exit_code: int | None = None,
    ) -> Incident:
        """Return one report of an incident; its firing, updates and resolve share an id."""
        engine = seen.engine_id or seen.host or ""
        key = f"{kind}|{engine}|{seen.container_id}|{timer.since:.6f}"
        who = seen.name or seen.container_id[:12]
        folds = kind in ("oom_killed", "restart_loop")
        return Incident(
            kind=kind,
            status=status,
            incident_id=hashlib.sha256(key.encode()).hexdigest()[:20],
            host=seen.host,
            engine_id=seen.engine_id,
            container_id=seen.container_id,
            name=seen.name,
            time=moment if isinstance(moment, str) else _iso(moment),
            since=_iso(timer.since),
            exit_code=exit_code,
            count=timer.count if folds else None,
            message=f"{seen.host}: {who} {what}" if seen.host else f"{who} {what}",
            labels=seen.safe_labels(),
        )

    def _seen_for(self, event: Event, host: str | None, engine_id: str | None) -> Seen:
        key = (host, event["actor_id"])
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = Seen(host, engine_id, event["actor_id"])
        seen.engine_id = engine_id or seen.engine_id
        seen.name = event["actor_name"] or seen.name
        if event["action"] in ("die", "oom", "health_status", "start", "destroy"):
            seen.labels = dict(event["attributes"])
        return seen

    def _sweep(self, now: float) -> None:
        """Forget the containers no rule can still use at event time ``now`` (bounded memory)."""
        for key, seen in list(self._seen.items()):
            if not seen.idle(now, self.loop_window_s, OOM_FOLD_S, KILL_EXPLAINS_S):
                continue
            del self._seen[key]
