"""``Healer``: act on ``unhealthy`` incidents under the policy, safe to leave running.

Every step is a tool call through a ``ToolRunner`` (so mode, protection, scope, approval,
rate limits and the audit trail apply): a read to see the container is still unhealthy
after the grace period, a restart, then a wait until it is healthy. What outlives one
watch is kept in a ``HealStore`` (the watch's SQLite store, shared by every watch that
names the same file), keyed by the engine's own ID and the container's ID:

* **a lease per container**, taken before the first step and renewed while the heal runs:
  a second watch on the same store reports ``heal_skipped`` naming who holds it and since
  when, and never restarts the container too;
* **failed heals, restarts, backoff**: a heal that does not bring the container back, or
  whose container is unhealthy again within ``flap_window_s`` of being healed (flapping),
  is a failure; the next try waits a backoff that doubles. After ``max_attempts`` failures
  within ``window_s``, or when ``max_restarts`` restarts within ``restart_window_s`` are
  spent, the healer **escalates**: an audit record (rule ``heal.escalated``), a report,
  and no watch acts on it again until a person runs ``operator heal clear``.

A policy denial ends the heal at once, never retried. A Swarm task is never restarted in
place (``heal_swarm``). Every report's message starts with the container's name.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol, TypedDict, cast

from operator_core._time import now_iso
from operator_core.audit import AuditRecord
from operator_core.errors import AuditError, OperatorError
from operator_core.policy import HealRules, has_label
from operator_core.watch.heal.state import Escalation, HealStore, watch_id
from operator_core.watch.heal.swarm import SwarmChurn, is_swarm_task
from operator_core.watch.incidents import Incident

if TYPE_CHECKING:  # types only: the heal runs a runner it is given
    from operator_core.results import EngineIdentity
    from operator_core.runner import ToolRunner
    from operator_core.runner.envelope import Envelope

__all__ = ["HEAL_ACTOR", "HealReport", "HealReportKind", "Healer"]

HealReportKind = Literal[
    "heal_skipped", "heal_started", "healed", "heal_failed", "heal_denied", "escalated"
]
#: Who the audit trail says acted.
HEAL_ACTOR = "operator:watch-heal"
#: The envelope types that mean the policy (or the call's shape) refused: never retried.
_REFUSED = ("denied", "invalid_arguments")
Key = tuple[str, str]
#: The incident kinds that count as a Swarm task failing (not "stopped", "removed"...).
_FAILING = ("unhealthy", "died", "oom_killed", "restart_loop")


class HealReport(TypedDict):
    """What the healer did (or chose not to do) about an incident."""

    kind: HealReportKind
    host: str | None
    container_id: str
    name: str | None
    time: str
    message: str
    attempt: int | None
    audit_id: str | None


class _Identified(Protocol):
    """An executor's ``engine_identity`` as a fleet's takes it too (``host=``)."""

    async def engine_identity(self, **host: str) -> EngineIdentity:
        """Return the identity of the engine (at ``host``, in a fleet)."""
        ...


def _result_field(envelope: Envelope, key: str) -> object:
    """Return ``key`` of an envelope's result, if its result is an object (else None)."""
    result = envelope.get("result")
    return result.get(key) if isinstance(result, dict) else None


def _readable(check: Envelope) -> bool:
    """Whether an inspect envelope says the container's health (or that it is gone)."""
    error = check.get("error")
    return bool(check.get("ok")) or (error is not None and error["type"] == "container_not_found")


def _health(check: Envelope) -> str | None:
    """Return the health an inspect envelope read (None: gone, or no health check)."""
    state = _result_field(check, "state")
    health = state.get("health") if check.get("ok") and isinstance(state, dict) else None
    return health if isinstance(health, str) else None


def _label(incident: Incident) -> str:
    return incident["name"] or incident["container_id"][:12]


def _clear_command(incident: Incident, name: str | None = None) -> str:
    """Return the command that clears the escalation of ``incident``'s container."""
    where = f"{incident['host']}/" if incident["host"] else ""
    return f"operator heal clear {where}{name or _label(incident)}"


class _LostLease(Exception):
    """Another watch took the lease while this heal ran (it stalled past the expiry)."""


class Healer:
    """Heals unhealthy containers through ``runner``, by the ``rules`` of a ``[heal]`` section.

    ``store`` holds leases, failures, backoff and escalations (default: in memory, this
    watch alone). ``watch`` names this watch in leases (default ``watch_id()``). ``sleep``
    and ``clock`` (wall-clock unix seconds) are injectable for tests. Reports are put on
    ``reports`` as they happen.
    """

    def __init__(
        self,
        runner: ToolRunner,
        rules: HealRules,
        *,
        store: HealStore | None = None,
        watch: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runner, self.rules, self.sleep, self.clock = runner, rules, sleep, clock
        self.store = store or HealStore(":memory:")
        self.watch = watch or watch_id()
        self.reports: asyncio.Queue[HealReport] = asyncio.Queue()
        self.swarm = SwarmChurn(self)
        self._busy: dict[tuple[str | None, str], asyncio.Task[None]] = {}

    def consider(self, incident: Incident) -> None:
        """Start healing ``incident``'s container if the rules say so (returns at once)."""
        if not self.rules.restart_unhealthy or incident.get("status", "firing") != "firing":
            return  # a summary, a resolve or an info (someone asked for it): nothing to heal
        swarm = is_swarm_task(incident["labels"])
        if incident["kind"] not in (_FAILING if swarm else ("unhealthy",)):
            return
        key = (incident["host"], incident["container_id"])
        if key in self._busy and not self._busy[key].done():
            return
        missing = [w for w in self.rules.require_labels if not has_label(incident["labels"], w)]
        if missing:
            if incident["kind"] == "unhealthy":
                self.report("heal_skipped", incident, f"not opted in (needs {', '.join(missing)})")
            return
        work = self.swarm.consider(incident) if swarm else self._heal(incident)
        self._busy = {k: task for k, task in self._busy.items() if not task.done()}
        self._busy[key] = asyncio.create_task(work)

    async def close(self) -> None:
        """Cancel the heals under way (each waits for its action as the runner does)."""
        for task in self._busy.values():
            task.cancel()
        await asyncio.gather(*self._busy.values(), return_exceptions=True)

    async def engine_id(self, incident: Incident) -> str | None:
        """Return the incident's engine ID (asked of the engine when the incident has none)."""
        known = incident.get("engine_id")
        if isinstance(known, str) and known:
            return known
        identity = await self.identity(incident["host"])
        return None if identity is None else identity["engine_id"]

    async def identity(self, host: str | None) -> EngineIdentity | None:
        """Return the engine identity of ``host`` (None, after a heal_failed, if unreadable)."""
        where = {"host": host} if host is not None else {}
        try:
            return await cast("_Identified", self.runner.executor).engine_identity(**where)
        except OperatorError:
            return None

    async def _heal(self, incident: Incident) -> None:
        """Take the lease, then heal; always give the lease back."""
        engine = await self.engine_id(incident)
        if engine is None:
            self.report("heal_failed", incident, "not healed: could not read its engine's ID")
            return
        key = (engine, incident["container_id"])
        store = self.store
        escalated = await store.run(store.escalation, *key)
        if escalated is not None:
            self._skip_escalated(incident, escalated)
            return
        holder = await store.run(
            store.take_lease, *key, self.watch, self.clock(), self.rules.lease_s
        )
        if holder is not None:
            said = f"being healed by another watch ({holder['holder']}) since {holder['since']}"
            self.report("heal_skipped", incident, said)
            return
        try:
            await self._leased(incident, key)
        except _LostLease as exc:
            self.report("heal_skipped", incident, f"stopped: {exc}")
        finally:
            await store.run(store.release_lease, *key, self.watch)

    async def _leased(self, incident: Incident, key: Key) -> None:
        """Run the heal while a renewer keeps the lease; stop if the lease is lost."""
        body = asyncio.create_task(self._steps(incident, key))
        renewer = asyncio.create_task(self._renew(key))
        try:
            await asyncio.wait({body, renewer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            renewer.cancel()
            if not body.done():
                body.cancel()
            await asyncio.gather(body, renewer, return_exceptions=True)
        if body.cancelled():
            lost = renewer.result() if renewer.done() and not renewer.cancelled() else None
            raise _LostLease(f"another watch took the lease ({lost})")
        body.result()

    async def _renew(self, key: Key) -> str:
        """Renew the lease every third of its term (real time); return who took it, if lost."""
        while True:
            await asyncio.sleep(self.rules.lease_s / 3)
            store = self.store
            held = await store.run(
                store.take_lease, *key, self.watch, self.clock(), self.rules.lease_s
            )
            if held is not None:
                return f"{held['holder']} since {held['since']}"

    async def _steps(self, incident: Incident, key: Key) -> None:
        """Flap check, backoff, grace; then check, restart and confirm until healthy or done."""
        if await self._flapped(incident, key):
            return
        until = await self.store.run(self.store.backoff_until, *key)
        if until is not None and until > self.clock():
            await self.sleep(until - self.clock())
        await self.sleep(self.rules.grace_s)
        attempt = 0
        while True:
            check = await self._call("docker_inspect_container", incident, "watch --heal: check")
            if _readable(check):
                health = _health(check)
                if health != "unhealthy":
                    said = "recovered by itself" if attempt == 0 else "is no longer unhealthy"
                    self.report("heal_skipped", incident, f"{said} ({health or 'gone'})", attempt)
                    return
                if await self._restart_bound(incident, key):
                    return
                attempt += 1
                outcome = await self._attempt(incident, key, attempt)
            else:
                outcome = self._unreadable(incident, check, attempt)
            if outcome != "failed" or await self._failed(incident, key):
                return

    async def _flapped(self, incident: Incident, key: Key) -> bool:
        """Count a heal whose container is unhealthy again this soon as failed; True: escalated."""
        healed = await self.store.run(self.store.healed_at, *key)
        if healed is None or self.clock() - healed > self.rules.flap_window_s:
            return False
        await self.store.run(self.store.set_healed, *key, None)
        return await self._failed(incident, key, "unhealthy again soon after its heal (flapping)")

    async def _failed(self, incident: Incident, key: Key, why: str | None = None) -> bool:
        """Count a failed heal; escalate at the bound (True), else back off (persisted)."""
        now, store = self.clock(), self.store
        await store.run(store.mark, *key, "failure", now)
        failures = await store.run(store.count, *key, "failure", now - self.rules.window_s)
        if failures >= self.rules.max_attempts:
            said = f"{failures} failed heals within {self.rules.window_s:g}s"
            await self.escalate(incident, key, f"{why}; {said}" if why else said, failures)
            return True
        delay = min(self.rules.backoff_s * 2 ** (failures - 1), self.rules.backoff_max_s)
        await store.run(store.set_backoff, *key, now + delay)
        if why is not None:
            self.report("heal_failed", incident, f"{why}; next try in {delay:g}s", failures)
        await self.sleep(delay)
        return False

    async def _restart_bound(self, incident: Incident, key: Key) -> bool:
        """Escalate (True) when ``max_restarts`` restarts within ``restart_window_s`` are spent."""
        window = self.rules.restart_window_s
        made = await self.store.run(self.store.count, *key, "restart", self.clock() - window)
        if made < self.rules.max_restarts:
            return False
        said = f"{made} restarts within {window:g}s (max_restarts) did not keep it healthy"
        await self.escalate(incident, key, said, made)
        return True

    async def _attempt(self, incident: Incident, key: Key, attempt: int) -> str:
        """Restart, then wait for healthy; return ``healed``, ``denied`` or ``failed``."""
        self.report("heal_started", incident, f"restarting (attempt {attempt})", attempt)
        reason = f"watch --heal: {_label(incident)} unhealthy for more than {self.rules.grace_s:g}s"
        if self.rules.preapproved:
            reason += " (restart pre-approved by [heal] preapproved)"
        restart = await self._call(
            "docker_restart_container", incident, reason, timeout=self.rules.stop_grace_s
        )
        if not restart.get("ok"):
            error: Mapping[str, object] = restart.get("error") or {}
            if error.get("type") in _REFUSED:
                why = f"the policy refused the restart ({error.get('rule') or error.get('type')})"
                self.report("heal_denied", incident, why, attempt, restart.get("audit_id"))
                return "denied"
            message = f"restart failed: {error.get('message') or error.get('type')}"
            self.report("heal_failed", incident, message, attempt, restart.get("audit_id"))
            return "failed"
        await self.store.run(self.store.mark, *key, "restart", self.clock())
        wait = await self._call(
            "docker_wait_for_container",
            incident,
            reason,
            condition="healthy",
            timeout=self.rules.confirm_timeout_s,
        )
        if wait.get("ok") and _result_field(wait, "met"):
            await self.store.run(self.store.set_healed, *key, self.clock())
            self.report("healed", incident, "is healthy again", attempt, wait.get("audit_id"))
            return "healed"
        message = f"was restarted but not healthy within {self.rules.confirm_timeout_s:g}s"
        self.report("heal_failed", incident, message, attempt, wait.get("audit_id"))
        return "failed"

    def _unreadable(self, incident: Incident, check: Envelope, attempt: int) -> str:
        """Report a health read that failed; return ``denied`` or ``failed`` as a restart would."""
        error: Mapping[str, object] = check.get("error") or {}
        if error.get("type") in _REFUSED:
            why = f"the policy refused reading its health ({error.get('rule') or error['type']})"
            self.report("heal_denied", incident, why, attempt or None, check.get("audit_id"))
            return "denied"
        why = f"could not read its health: {error.get('message') or error.get('type')}"
        self.report("heal_failed", incident, why, attempt or None, check.get("audit_id"))
        return "failed"

    async def _call(
        self, tool: str, incident: Incident, reason: str, **arguments: object
    ) -> Envelope:
        """Run ``tool`` on the incident's container through the runner; return the envelope."""
        arguments.setdefault("container_id", incident["container_id"])
        if incident["host"] is not None:
            arguments["host"] = incident["host"]
        return await self.runner.execute_tool(tool, arguments, actor=HEAL_ACTOR, reason=reason)

    def _skip_escalated(self, incident: Incident, escalated: Escalation) -> None:
        said = f"escalated since {escalated['since']} ({escalated['why']}); not acted on"
        self.report("heal_skipped", incident, f"{said} until `{_clear_command(incident)}`")

    async def escalate(
        self, incident: Incident, key: Key, why: str, count: int, name: str | None = None
    ) -> None:
        """Stop acting on the container (kept in the store), record why, and report it.

        ``name`` is what the store calls it (default the container's name).
        """
        entry = Escalation(
            engine_id=key[0],
            container_id=key[1],
            host=incident["host"],
            name=name or incident["name"],
            since="",
            why=why,
        )
        await self.store.run(self.store.escalate, entry, self.clock())
        audit_id, failure = await self._audit_escalation(incident, why)
        clear = _clear_command(incident, name)
        said = f"{why}{failure}; no watch acts on it again until a person runs `{clear}`"
        self.report("escalated", incident, said, count, audit_id)

    async def _audit_escalation(self, incident: Incident, why: str) -> tuple[str | None, str]:
        """Write the ``heal.escalated`` record; return its id, or None and what failed."""
        now = datetime.now(UTC)
        record = AuditRecord(
            time=now.isoformat(),
            ts=now.timestamp(),
            actor=HEAL_ACTOR,
            reason=why,
            tool="heal",
            container=incident["container_id"],
            container_id=incident["container_id"],
            container_name=incident["name"],
            host=incident["host"],
            decision="denied",
            rule="heal.escalated",
            outcome="denied",
        )
        try:
            await self.runner.audit.write(record)
        except AuditError as exc:  # the escalation stands, and the report says what failed
            return None, f" (not in the audit trail: {exc})"
        return record.id, ""

    def report(
        self,
        kind: HealReportKind,
        incident: Incident,
        message: str,
        attempt: int | None = None,
        audit_id: str | None = None,
    ) -> None:
        """Put a report on ``reports``; its message starts with the container's name."""
        self.reports.put_nowait(
            HealReport(
                kind=kind,
                host=incident["host"],
                container_id=incident["container_id"],
                name=incident["name"],
                time=now_iso(),
                message=f"{_label(incident)}: {message}",
                attempt=attempt,
                audit_id=audit_id,
            )
        )
