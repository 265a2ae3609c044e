"""``Healer``: act on ``unhealthy`` incidents under the policy, with backoff and escalation.

Every step is a tool call through a ``ToolRunner`` (so mode, protection, scope, approval,
rate limits and the audit trail apply): a read to see the container is still unhealthy
after the grace period, a restart, then a wait until it is healthy. A heal that does not
bring the container back is tried again after a backoff that doubles; after
``max_attempts`` failed heals within ``window_s`` the healer stops acting on it, writes
an audit record saying why (rule ``heal.escalated``) and reports it for a person. A
denial by the policy ends that heal at once and is reported, never retried in a loop.

The engine says ``health_status: unhealthy`` once, when the status changes, so the
healer keeps trying on its own until the container is healthy, the policy says no, or it
escalates; a new incident for a container already being healed is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

from operator_core.audit import AuditRecord
from operator_core.errors import AuditError
from operator_core.policy import HealRules, has_label
from operator_core.watch.incidents import Incident, IncidentDetector
from operator_core.watch.intents import AuditIntents
from operator_core.watch.stream import Notice, watch

__all__ = ["HEAL_ACTOR", "HealReport", "HealReportKind", "Healer", "heal_watch"]

HealReportKind = Literal[
    "heal_skipped", "heal_started", "healed", "heal_failed", "heal_denied", "escalated"
]
#: Who the audit trail says acted.
HEAL_ACTOR = "operator:watch-heal"


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


#: The envelope types that mean the policy (or the call's shape) refused: never retried.
_REFUSED = ("denied", "invalid_arguments")


def _readable(check: dict[str, Any]) -> bool:
    """Whether an inspect envelope says the container's health (or that it is gone)."""
    return bool(check.get("ok")) or (check.get("error") or {}).get("type") == "container_not_found"


def _health(check: dict[str, Any]) -> str | None:
    """Return the health an inspect envelope read (None: gone, or no health check)."""
    state = (check.get("result") or {}).get("state") or {}
    health = state.get("health") if check.get("ok") else None
    return health if isinstance(health, str) else None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Healer:
    """Heals unhealthy containers through ``runner``, by the ``rules`` of a ``[heal]`` section.

    ``sleep`` and ``clock`` (monotonic seconds) are injectable for tests. Reports are put
    on ``reports`` as they happen.
    """

    def __init__(
        self,
        runner: Any,
        rules: HealRules,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runner, self.rules, self.sleep, self.clock = runner, rules, sleep, clock
        self.reports: asyncio.Queue[HealReport] = asyncio.Queue()
        self._busy: dict[tuple[str | None, str], asyncio.Task[None]] = {}
        self._failures: dict[tuple[str | None, str], deque[float]] = {}
        self._escalated: dict[tuple[str | None, str], str] = {}

    def consider(self, incident: Incident) -> None:
        """Start healing ``incident``'s container if the rules say so (returns at once)."""
        if incident["kind"] != "unhealthy" or not self.rules.restart_unhealthy:
            return
        key = (incident["host"], incident["container_id"])
        if key in self._busy and not self._busy[key].done():
            return
        if key in self._escalated:
            self._report("heal_skipped", incident, f"escalated earlier: {self._escalated[key]}")
            return
        missing = [w for w in self.rules.require_labels if not has_label(incident["labels"], w)]
        if missing:
            self._report("heal_skipped", incident, f"not opted in (needs {', '.join(missing)})")
            return
        self._busy[key] = asyncio.create_task(self._heal(incident, key))

    async def close(self) -> None:
        """Cancel the heals under way (each waits for its action as the runner does)."""
        for task in self._busy.values():
            task.cancel()
        await asyncio.gather(*self._busy.values(), return_exceptions=True)

    async def _heal(self, incident: Incident, key: tuple[str | None, str]) -> None:
        """Wait out the grace period, then restart and confirm until healthy or escalated."""
        await self.sleep(self.rules.grace_s)
        attempt = 0
        while True:
            check = await self._call("docker_inspect_container", incident, "watch --heal: check")
            if _readable(check):
                health = _health(check)
                if health != "unhealthy":
                    said = "recovered by itself" if attempt == 0 else "is no longer unhealthy"
                    self._report("heal_skipped", incident, f"{said} ({health or 'gone'})", attempt)
                    return
                attempt += 1
                outcome = await self._attempt(incident, attempt)
            else:
                outcome = self._unreadable(incident, check, attempt)
            if outcome != "failed":
                return
            failures = self._count_failure(key)
            if failures >= self.rules.max_attempts:
                await self._escalate(incident, key, failures)
                return
            await self.sleep(
                min(self.rules.backoff_s * 2 ** (failures - 1), self.rules.backoff_max_s)
            )

    async def _attempt(self, incident: Incident, attempt: int) -> str:
        """Restart, then wait for healthy; return ``healed``, ``denied`` or ``failed``."""
        name = incident["name"] or incident["container_id"][:12]
        self._report("heal_started", incident, f"restarting {name} (attempt {attempt})", attempt)
        reason = f"watch --heal: {name} unhealthy for more than {self.rules.grace_s:g}s"
        restart = await self._call(
            "docker_restart_container", incident, reason, timeout=self.rules.stop_grace_s
        )
        if not restart.get("ok"):
            error = restart.get("error") or {}
            if error.get("type") in _REFUSED:
                why = f"the policy refused the restart ({error.get('rule') or error.get('type')})"
                self._report("heal_denied", incident, why, attempt, restart.get("audit_id"))
                return "denied"
            message = f"restart failed: {error.get('message') or error.get('type')}"
            self._report("heal_failed", incident, message, attempt, restart.get("audit_id"))
            return "failed"
        wait = await self._call(
            "docker_wait_for_container",
            incident,
            reason,
            condition="healthy",
            timeout=self.rules.confirm_timeout_s,
        )
        if wait.get("ok") and (wait.get("result") or {}).get("met"):
            self._report(
                "healed", incident, f"{name} is healthy again", attempt, wait.get("audit_id")
            )
            return "healed"
        message = f"{name} was restarted but not healthy within {self.rules.confirm_timeout_s:g}s"
        self._report("heal_failed", incident, message, attempt, wait.get("audit_id"))
        return "failed"

    def _unreadable(self, incident: Incident, check: dict[str, Any], attempt: int) -> str:
        """Report a health read that failed; return ``denied`` or ``failed`` as a restart would."""
        error = check.get("error") or {}
        if error.get("type") in _REFUSED:
            why = f"the policy refused reading its health ({error.get('rule') or error['type']})"
            self._report("heal_denied", incident, why, attempt or None, check.get("audit_id"))
            return "denied"
        why = f"could not read its health: {error.get('message') or error.get('type')}"
        self._report("heal_failed", incident, why, attempt or None, check.get("audit_id"))
        return "failed"

    async def _call(
        self, tool: str, incident: Incident, reason: str, **arguments: Any
    ) -> dict[str, Any]:
        """Run ``tool`` on the incident's container through the runner; return the envelope."""
        arguments["container_id"] = incident["container_id"]
        if incident["host"] is not None:
            arguments["host"] = incident["host"]
        envelope: dict[str, Any] = await self.runner.execute_tool(
            tool, arguments, actor=HEAL_ACTOR, reason=reason
        )
        return envelope

    def _count_failure(self, key: tuple[str | None, str]) -> int:
        """Record a failed heal now; return how many fell within the window."""
        now = self.clock()
        failures = self._failures.setdefault(key, deque())
        failures.append(now)
        while now - failures[0] > self.rules.window_s:
            failures.popleft()
        return len(failures)

    async def _escalate(self, incident: Incident, key: tuple[str | None, str], count: int) -> None:
        """Stop acting on the container, record why, and report it for a person."""
        why = (
            f"{count} heals within {self.rules.window_s:g}s did not make it healthy; "
            "not acting on it again until the watch restarts: a person should look"
        )
        self._escalated[key] = why
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
        audit_id: str | None = record.id
        try:
            await self.runner.audit.write(record)
        except AuditError as exc:  # the escalation stands, and the report says what failed
            why, audit_id = f"{why} (not in the audit trail: {exc})", None
        self._report("escalated", incident, why, count, audit_id)

    def _report(
        self,
        kind: HealReportKind,
        incident: Incident,
        message: str,
        attempt: int | None = None,
        audit_id: str | None = None,
    ) -> None:
        self.reports.put_nowait(
            HealReport(
                kind=kind,
                host=incident["host"],
                container_id=incident["container_id"],
                name=incident["name"],
                time=_now_iso(),
                message=message,
                attempt=attempt,
                audit_id=audit_id,
            )
        )


async def heal_watch(
    source: Any, healer: Healer, **options: Any
) -> AsyncGenerator[Incident | Notice | HealReport, None]:
    """Yield the watch's incidents and notices, and the healer's reports, as they happen.

    ``options`` go to ``watch``. Each incident is handed to ``healer`` as it arrives. The
    detector learns the healer's restarts from its runner's audit trail, so each shows as
    ``restarted_by_operator``, never as a death.
    """
    items: asyncio.Queue[Incident | Notice | HealReport] = asyncio.Queue()
    detector = options.setdefault("detector", IncidentDetector())
    if detector.intents is None:  # the healer's own restarts are said as such, not deaths
        detector.intents = AuditIntents(healer.runner.audit)

    async def follow() -> None:
        async with contextlib.aclosing(watch(source, **options)) as stream:
            async for item in stream:
                await items.put(item)
                if item["kind"] == "unhealthy" and item.get("status") == "firing":
                    healer.consider(item)

    async def relay() -> None:
        while True:
            await items.put(await healer.reports.get())

    tasks = [asyncio.create_task(follow()), asyncio.create_task(relay())]
    try:
        while True:
            getter = asyncio.ensure_future(items.get())
            done, _ = await asyncio.wait({getter, *tasks}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
                continue
            getter.cancel()
            for task in tasks:
                if task.done():
                    task.result()  # a watch that failed raises its error here
            return
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await healer.close()
