"""``ToolRunner``: the one door through which an agent's tool call reaches the executor.

``execute_tool`` validates the call, applies the policy, runs the executor method,
records the call in the audit trail and only then returns a JSON-able envelope. Nothing
the agent can cause is raised: every failure comes back as ``{"ok": false, "error": ...}``.

A mutating call goes: mode → resolve the container (inspect: id, name, labels, state)
→ protection and scope → rate limits (look) → dry run? → approval → per-container lock
and overall slot → resolve the same id again and judge it again (a rename or new label
meanwhile is denied as ``changed.*``) → rate limits (count) and ``pending`` audit record
(one transaction on a SQLite trail) → action → inspect again → final audit record → envelope.

Once the action has started it is waited for even if the call is cancelled: the engine
carries on regardless, so the lock and the slot stay held until it has ended, ``after``
is read then, and the record says ``cancelled`` with what became of the action.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, cast

from operator_core.audit.base import AdmittingSink, AuditQuery, AuditSink, MemoryAuditSink
from operator_core.audit.labels import redact_labels
from operator_core.audit.quoted import redact_quoted
from operator_core.audit.record import AuditRecord, Outcome
from operator_core.audit.redact import (
    REDACTED,
    redact_arguments,
    redact_text,
    redact_value,
    redacted_traceback,
)
from operator_core.deadline import Deadline, remaining, within
from operator_core.errors import (
    AuditError,
    OperationTimeout,
    OperatorError,
    PolicyDenied,
    PolicyError,
)
from operator_core.policy.guard import AUTO, ApprovalRequest, Approver, AutoDetect, Guard
from operator_core.policy.matching import Verdict
from operator_core.policy.model import Policy
from operator_core.policy.target import TargetFacts, target_key
from operator_core.results import ContainerDetails
from operator_core.runner import targets
from operator_core.runner.call import Call
from operator_core.runner.envelope import (
    error_envelope,
    error_type,
    internal_envelope,
    ok_envelope,
    result_excerpt,
)
from operator_core.runner.executor import ContainerExecutor, HostRouting
from operator_core.runner.own_layer import containers_of_own_layer
from operator_core.runner.reconcile import reconcile_interrupted, record_bound
from operator_core.tools.bounds import finite, loads, shape_problem
from operator_core.tools.formats import Shape, tool_list
from operator_core.tools.hosts import host_of, routes_hosts, tools_with_host
from operator_core.tools.registry import REGISTRY, TOOLS
from operator_core.tools.spec import ToolSpec
from operator_core.tools.validation import lookup_tool, validate_arguments

__all__ = ["AFTER_TIMEOUT_READ_S", "ToolRunner"]

#: How long the state after an action that timed out may take to read (the engine is then
#: likely not answering; the rest of the call's deadline is not spent waiting for it).
AFTER_TIMEOUT_READ_S = 5.0

log = logging.getLogger("operator_core.runner")

#: The outcome recorded for each envelope error type that is not a plain failure.
_OUTCOMES: dict[str, Outcome] = {
    "denied": "denied",
    "unknown_tool": "invalid",
    "invalid_arguments": "invalid",
}


class ToolRunner:
    """Runs agents' tool calls against ``executor`` under ``policy``, recording to ``audit``.

    ``executor`` is a ``DockerActionExecutor``, or anything that conforms to
    ``ContainerExecutor`` (its async methods, with their result types).
    ``policy`` defaults to ``Policy()``: observe mode. ``audit`` defaults to an in-memory
    sink; give ``SQLiteAuditSink(path)`` (or ``open_audit(path)``) for a durable trail.
    ``approver`` answers approval requests. ``own_container_id`` is detected by default.
    Building a runner does no I/O; ``start`` (called by the first ``execute_tool``) reads
    the audit trail and detects the own container, in a worker thread; the first
    mutating call asks the engine which container owns its root filesystem layer.

    With a ``FleetExecutor`` every tool takes ``host`` (an enum of the inventory's names;
    the default host when left out, every host for ``docker_list_containers``); the
    policy's ``[hosts.NAME]`` sections and ``scope.require_host_labels`` apply per host
    (without a fleet they refuse every mutating call) and each record names its host.
    Locks and rate limits count by the engine's own ID and the container id (a service or
    node: the swarm's cluster ID and its id), never by how the engine was named.
    """

    def __init__(
        self,
        executor: ContainerExecutor,
        *,
        policy: Policy | None = None,
        audit: AuditSink | None = None,
        approver: Approver | None = None,
        own_container_id: str | Iterable[str] | AutoDetect | None = AUTO,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.executor = executor
        self.policy = policy if policy is not None else Policy()
        self._fleet = cast(HostRouting, executor) if routes_hosts(executor) else None
        self._specs = (
            REGISTRY
            if self._fleet is None
            else tools_with_host(self._fleet.names, self._fleet.default)
        )
        _check_policy_hosts(self.policy, self._fleet)
        self.audit: AuditSink = audit if audit is not None else MemoryAuditSink()
        self.guard = Guard(
            self.policy,
            approver=approver,
            own_container_id=own_container_id,
            clock=clock,
            host_labels=None if self._fleet is None else self._fleet.host_labels(),
        )
        self._clock = clock
        self._wall = wall_clock
        self._started: asyncio.Future[None] | None = None
        self._own_layer: asyncio.Future[frozenset[str] | None] | None = None
        #: The records a dead process left pending that ``start`` marked interrupted.
        self.interrupted: list[AuditRecord] = []

    async def start(self) -> None:
        """Do the runner's start-up I/O once, in a worker thread; later calls just wait for it.

        ``execute_tool`` calls it first, so calling it is optional; a server may call it
        before it serves, to pay for it up front. Building a ``ToolRunner`` does no I/O:
        everything that reads files (the audit trail, ``/proc``) belongs here.
        """
        if self._started is None:
            self._started = asyncio.ensure_future(self._start_all())
        # Shielded: a cancelled caller leaves the start-up running for the next one, so
        # it runs exactly once (the rate-limit counts it loads must not double).
        await asyncio.shield(self._started)

    async def _start_all(self) -> None:
        """Run the blocking start-up steps in a worker thread, then close orphaned records."""
        await asyncio.to_thread(self._start_up)
        self.interrupted = await self._reconcile()

    async def _reconcile(self) -> list[AuditRecord]:
        """Mark ``interrupted`` the records a dead process left pending (a durable trail only).

        See ``runner.reconcile``: a record still pending once its call's whole bound has
        passed gets the container's state now as ``after``. An executor that states no
        bounds (a test double) has its records judged stale after an hour.
        """
        if isinstance(self.audit, MemoryAuditSink):
            return []
        call_bound = getattr(self.executor, "call_bound", None)

        async def inspect(record: AuditRecord) -> dict[str, Any]:
            host = {"host": record.host} if self._fleet is not None and record.host else {}
            target_id = str(record.target_id)
            if record.target_kind in ("service", "node"):
                return await targets.read_state(self.executor, record.target_kind, target_id, host)
            return _state(await self.executor.inspect_container(target_id, **host))

        return await reconcile_interrupted(
            self.audit,
            now=self._wall(),
            bound=record_bound(call_bound) if callable(call_bound) else lambda record: None,
            inspect=inspect,
        )

    def _start_up(self) -> None:
        """The blocking start-up steps (run in a worker thread by ``start``)."""
        _ = self.guard.own_container_ids  # detects them now, off the event loop
        self._recall_rate_limited_actions()

    def _recall_rate_limited_actions(self) -> None:
        """Count the actions the audit trail holds within the rate-limit windows.

        So limits hold across processes sharing one trail run one after another (each
        ``operator`` command is its own process) and across restarts of a long-lived one
        (the MCP server). Processes running at the same time are kept within the limits
        only by a SQLite trail, which decides and records each action in one transaction
        (see ``_admit``); with a JSONL trail each counts only what it saw at its start.
        """
        if not self.guard.limiter.longest_window_s:
            return
        now = self._wall()
        try:
            past = self.audit.query(self._recent_actions(now))
        except AuditError as exc:
            log.warning("rate limits start empty: the audit trail could not be read: %s", exc)
            return
        for record in sorted(past, key=lambda r: r.ts):
            spec = REGISTRY.get(record.tool)
            if spec is not None and spec.mutating and record.target_id:
                key = record.target_key or target_key(record.target_id, record.host)
                self.guard.limiter.remember(record.tool, key, now - record.ts)

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        """The tools this runner runs (in a fleet, each with its ``host`` argument)."""
        return tuple(self._specs.values())

    def tools(
        self, shape: Shape = "anthropic", *, runnable_only: bool = False
    ) -> list[dict[str, Any]]:
        """Return the tool list in ``shape``; ``runnable_only`` drops tools observe mode refuses."""
        specs = [
            s for s in self._specs.values() if not runnable_only or self.guard.check_mode(s) is None
        ]
        return tool_list(shape, specs)

    async def execute_tool(
        self,
        name: str,
        arguments: Any = None,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Run tool ``name`` with ``arguments``; return the envelope once the call is audited."""
        await self.start()
        who = str(actor)[:200] if actor is not None else None
        call = Call(tool=str(name)[:200], raw=arguments, actor=who, reason=reason)
        call.started, call.wall = self._clock(), self._wall()
        try:
            envelope = await self._execute(call)
        except OperatorError as exc:
            envelope = self._refused(call, exc)
        except asyncio.CancelledError:
            if not call.final_recorded:  # cancelled before any action was under way
                call.outcome = "cancelled"
                call.error = {
                    "type": "cancelled",
                    "message": "the call was cancelled before it changed anything",
                }
                await self._write_after_cancel(call)
            raise
        except Exception as exc:
            log.error(
                "tool %s failed inside operator-core: %s: %s\n%s",
                call.tool,
                type(exc).__name__,
                redact_value(str(exc)),
                redacted_traceback(exc),
            )
            call.outcome = "failed"
            envelope = internal_envelope(exc)
        return await self._finish(call, envelope)

    async def _execute(self, call: Call) -> dict[str, Any]:
        """Validate, check the policy and run; return the success envelope."""
        spec = self._specs[lookup_tool(call.tool).name]
        call.spec = spec
        call.args = validate_arguments(spec, call.raw).model_dump()
        if self._fleet is not None:
            call.host = host_of(spec, call.args, self._fleet.default)
            call.args["host"] = call.host
        call.decision = "undecided"
        _deny(self.guard.check_mode(spec, call.host))
        _deny(self.guard.check_host_rules(spec, self._fleet is not None))
        if spec.read_only:
            return await self._read(spec, call)
        return await self._act(spec, call)

    async def _read(self, spec: ToolSpec, call: Call) -> dict[str, Any]:
        """Run a read-only tool (after approval, in the rare policy that wants one)."""
        if self.guard.needs_approval(spec):
            await self._approve(spec, call)
        call.decision = "allowed"
        result = await self._invoke(spec, call)
        call.note_result(result)
        call.outcome = "ok"
        return ok_envelope(result)

    async def _act(self, spec: ToolSpec, call: Call) -> dict[str, Any]:
        """Run a mutating tool on its resolved container, under every rule of the policy.

        Every engine call it makes (resolve, judge again, the action, the state after)
        ends within the action's one documented bound (``executor.call_bound``), time
        spent waiting for a person's approval or for the container's lock left out.
        """
        with within(self._deadline(spec, call)) as deadline:
            return await self._act_within(spec, call, deadline)

    def _deadline(self, spec: ToolSpec, call: Call) -> Deadline | None:
        """Return the shared deadline of a mutating call, if the executor states its bound."""
        bound = getattr(self.executor, "call_bound", None)
        seconds = (
            bound(spec.method, {**(call.args or {}), **self._on_host(call)})
            if callable(bound)
            else None
        )
        return Deadline(seconds) if seconds is not None else None

    async def _act_within(
        self, spec: ToolSpec, call: Call, deadline: Deadline | None
    ) -> dict[str, Any]:
        """Run a mutating tool under ``deadline`` (see ``_act``)."""
        await self._protect_own_layer()
        facts = await self._resolve(call)
        _deny(self.guard.check_target(facts) or self.guard.check_rate(spec, facts))
        _deny(self.guard.check_swarm_call(spec, call.args or {}, facts))
        await self._check_alias(call, facts)
        if self.policy.dry_runs(spec):
            return self._dry_run(spec, call, facts)
        if self.guard.call_needs_approval(spec, call.args or {}, facts):
            with _paused(deadline):
                await self._approve(spec, call)
        async with contextlib.AsyncExitStack() as held:
            with _paused(deadline):
                await held.enter_async_context(self.guard.gate.hold(facts.key))
            # Approval and the lock can take minutes: judge the same id again, as it is now.
            judged, facts = facts, await self._resolve(call, facts.id)
            _deny(self.guard.check_unchanged(judged, facts))
            _deny(self.guard.check_swarm_call(spec, call.args or {}, facts))
            await self._check_alias(call, facts)
            await self._admit(spec, call, facts)
            # Once started, the action runs to its end even if this call is cancelled (the
            # engine cannot stop a stop halfway), except that an interruptible tool (exec)
            # gets the cancel and kills its work; either way the lock and the slot are
            # held until the action has ended, and run_bounded waits for its worker.
            action = asyncio.create_task(self._run_action(spec, call, facts.id))
            if await _outlast(action, relay=spec.interruptible):
                await self._record_cancelled(spec, call, action)
                raise asyncio.CancelledError
            result = action.result()
        call.outcome = "ok"
        return ok_envelope(result)

    async def _protect_own_layer(self) -> None:
        """Have the engine name the container of our root filesystem layer (``own_layer``).

        Asked once, by the first mutating call (concurrent ones wait for that answer, at
        most ``OWN_LAYER_LOOKUP_S``); an answer the engine did not give is asked again.
        """
        if self._own_layer is None:
            upper_dirs = self.guard.own_upper_dirs
            self._own_layer = asyncio.ensure_future(
                containers_of_own_layer(self.executor, upper_dirs)
            )
        asked = self._own_layer
        found = await asyncio.shield(asked)
        if found is None:
            if self._own_layer is asked:
                self._own_layer = None
            return
        self.guard.protect_own(found)

    async def _check_alias(self, call: Call, facts: TargetFacts) -> None:
        """Refuse a network alias that another container on that network answers to."""
        args = call.args or {}
        alias, network = args.get("alias"), args.get("network")
        if not alias or not network:
            return
        found = await self.executor.network_members(network, **self._on_host(call))
        _deny(self.guard.check_alias(alias, facts, found["network"], found["containers"]))

    async def _admit(self, spec: ToolSpec, call: Call, facts: TargetFacts) -> None:
        """Count the action against the rate limits and write its ``pending`` record.

        With a sink that can (SQLite), both happen in one transaction that first reads the
        recent actions in the trail, so runners in other processes sharing the file are
        counted too and cannot slip in between. Otherwise the limits are this process's
        counts (seeded from the trail when the runner started).

        The record is stamped with the time of admission, not of the call's start: an
        approval can take minutes, and the windows must count from when the action ran.
        """
        call.decision, call.outcome = "allowed", "pending"
        now = self._wall()
        limiter = self.guard.limiter
        if not (isinstance(self.audit, AdmittingSink) and limiter.counts(spec.name)):
            _deny(self.guard.take_rate(spec, facts))
            call.admitted = now
            await self._record(call, {"ok": False})
            return
        recent = self._recent_actions(now)
        call.admitted = now
        verdict = await self.audit.admit(
            self._record_of(call, {"ok": False}),
            recent,
            lambda past: self.guard.judge_rate(spec, facts, past, now),
        )
        if verdict is not None:
            call.admitted = None  # denied: its record keeps the call's start
        _deny(verdict)
        limiter.remember(spec.name, facts.key, 0.0)  # for this process's own early checks

    def _recent_actions(self, now: float) -> AuditQuery:
        """Return the query for the actions the rate limits count, within their windows."""
        return AuditQuery(
            since=now - self.guard.limiter.longest_window_s,
            decision="allowed",
            tools=tuple(s.name for s in TOOLS if s.mutating and self.guard.limiter.counts(s.name)),
            limit=None,
        )

    async def _run_action(self, spec: ToolSpec, call: Call, target_id: str) -> Any:
        """Run the action, then read the container's state after it (even if it failed).

        After a timeout the engine is likely not answering: the read then gets at most
        ``AFTER_TIMEOUT_READ_S`` of what is left of the call's deadline, not all of it.
        """
        silent = False
        try:
            return await self._invoke(spec, call, target_id)
        except OperationTimeout:
            silent = True
            raise
        finally:
            left = remaining()
            quick = AFTER_TIMEOUT_READ_S if left is None else min(left, AFTER_TIMEOUT_READ_S)
            with within(Deadline(quick)) if silent else contextlib.nullcontext():
                call.after = await self._state_after(call, target_id)

    async def _record_cancelled(
        self, spec: ToolSpec, call: Call, action: asyncio.Task[Any]
    ) -> None:
        """Write the final record of a call cancelled while its action was under way.

        By now the action has ended (its outcome is noted) and ``after`` was read after it.
        That holds even when the action's own task was cancelled too (an interruptible
        tool, or the event loop closing after a second Ctrl-C): the executor's call stops
        what can stop early (an exec) and waits for the rest within its deadline before it
        gives up, so only the result is lost, and ``after`` is still read once the action
        had ended (or its deadline had passed).
        """
        after = "'after' is the container's state once it had ended."
        if action.cancelled():  # an interruptible tool, or the event loop is closing
            ending = (
                "the action's own task was cancelled too, so it stopped what could stop "
                "early (an exec's processes) and the engine call was waited for until it "
                "ended (at most until its deadline); its result was not kept, the "
                "container's state after it shows what it did"
            )
            after = "'after' was read once it had ended or its deadline had passed."
        elif (exc := action.exception()) is not None:
            if isinstance(exc, OperatorError):
                ending = f"it failed ({error_type(exc)}: {redact_text(str(exc))[:300]})"
            else:
                log.error(
                    "tool %s failed inside operator-core: %s\n%s",
                    call.tool,
                    type(exc).__name__,
                    redacted_traceback(exc),
                )
                ending = f"it failed inside operator-core ({type(exc).__name__})"
        else:
            ending = "it completed"
            call.result = result_excerpt(action.result())
        call.outcome = "cancelled"
        call.error = {
            "type": "cancelled",
            "message": f"the call was cancelled while {spec.name} was already under way in "
            f"the engine, so it may have completed; it was waited for: {ending}. {after}",
        }
        await self._write_after_cancel(call)
        call.final_recorded = True

    async def _write_after_cancel(self, call: Call) -> None:
        """Write the record of a cancelled call, through further cancels; log a failure."""
        write = asyncio.ensure_future(self._record(call, {"ok": False}))
        await _outlast(write)
        if not write.cancelled() and (failure := write.exception()) is not None:
            log.error("audit record %s for %s not written: %s", call.id, call.tool, failure)

    async def _invoke(self, spec: ToolSpec, call: Call, target_id: str | None = None) -> Any:
        """Call the executor method of ``spec`` with the validated arguments.

        A mutating tool is aimed at ``target_id``, the id the policy judged, never at the
        name again: a container renamed or replaced meanwhile cannot be hit instead.
        """
        method = getattr(self.executor, spec.method, None)
        if method is None:
            raise OperatorError(f"{spec.name} is not available: the executor has no {spec.method}")
        arguments = dict(call.args or {})
        if target_id is not None and spec.target is not None:
            arguments[spec.target] = target_id
        return await method(**arguments)

    async def _resolve(self, call: Call, reference: str | None = None) -> TargetFacts:
        """Inspect the call's container: facts for the policy, state for the audit trail."""
        ref = reference or call.target_reference() or ""
        facts: TargetFacts
        swarm = call.spec is not None and call.spec.target_kind != "container"
        if call.spec is not None and swarm:
            facts, call.before = await targets.resolve(
                self.executor,
                call.spec,
                ref,
                call.host,
                self._on_host(call),
                arguments=call.args,
                hosts=self._fleet.names if self._fleet is not None else (),
            )
        else:
            data = await self.executor.inspect_container(ref, **self._on_host(call))
            facts, call.before = TargetFacts.from_inspect(data, host=call.host), _state(data)
        holder = await targets.holder(self.executor, swarm, self._on_host(call))
        call.facts = facts = dataclasses.replace(facts, engine=holder)
        return facts

    def _on_host(self, call: Call) -> dict[str, Any]:
        """Return the ``host`` argument of the call's own host for a fleet, else nothing."""
        return {} if self._fleet is None else {"host": call.host}

    async def _state_after(self, call: Call, container_id: str) -> dict[str, Any]:
        """Inspect the container after an action; a failure is noted, not raised."""
        try:
            if call.spec is not None and call.spec.target_kind != "container":
                return await targets.read_state(
                    self.executor, call.spec.target_kind, container_id, self._on_host(call)
                )
            data = await self.executor.inspect_container(container_id, **self._on_host(call))
            return _state(data)
        except OperatorError as exc:
            return {"unavailable": redact_text(str(exc))}

    async def _approve(self, spec: ToolSpec, call: Call) -> None:
        """Ask the approver; raise PolicyDenied unless it said yes."""
        request = ApprovalRequest(
            tool=spec.name,
            risk=spec.risk.value,
            arguments=redact_arguments(call.args),
            summary=call.facts.summary() if call.facts else None,
            actor=call.actor,
            reason=redact_value(str(call.reason)) if call.reason else None,
        )
        _deny(await self.guard.approve(spec, request))
        call.rule = "approval.granted"

    def _dry_run(self, spec: ToolSpec, call: Call, facts: TargetFacts) -> dict[str, Any]:
        """Return what ``spec`` would do to ``facts``'s container, having done nothing."""
        call.decision = call.outcome = "dry_run"
        call.rule = "dry_run"
        state = (facts.status or "unknown") + (f", {facts.health}" if facts.health else "")
        would = f"{spec.title.lower()}: {facts.name!r} ({facts.id[:12]}), currently {state}."
        if facts.kind != "container":
            would = targets.describe(spec, call.args or {}, facts, call.before or {})
        return ok_envelope(
            {
                "dry_run": True,
                "changed": False,
                "would": f"{would} Nothing was done (dry run).",
                "tool": spec.name,
                "arguments": redact_arguments(call.args),
                "target": facts.summary(),
                "approval_required": self.guard.call_needs_approval(spec, call.args or {}, facts),
            }
        )

    def _refused(self, call: Call, exc: OperatorError) -> dict[str, Any]:
        """Return the envelope of a refused or failed call, noting decision and outcome."""
        envelope = error_envelope(exc)
        # The one place a refusal is returned and recorded: a value the stored arguments
        # hide is hidden wherever the message or details quote it (issue 18 item 5).
        raw, stored = _given_arguments(call), _stored_arguments(call)
        envelope["error"] = redact_quoted(envelope["error"], raw, stored)
        kind = error_type(exc)
        call.outcome = _OUTCOMES.get(kind, "failed")
        if isinstance(exc, PolicyDenied):
            call.decision, call.rule = "denied", exc.rule
        call.error = {"type": kind, "message": envelope["error"]["message"]}
        return envelope

    async def _finish(self, call: Call, envelope: dict[str, Any]) -> dict[str, Any]:
        """Write the final audit record, then return ``envelope`` with its audit id.

        A result's label values that look secret are hidden here, in what is returned and
        recorded alike; the policy judged the labels as the engine has them, before.
        """
        if envelope.get("ok"):
            envelope["result"] = redact_labels(envelope.get("result"))
        write = asyncio.ensure_future(self._record(call, envelope))
        cancelled = await _outlast(write)  # a cancel now must not lose the final record
        failure = None if write.cancelled() else write.exception()
        if isinstance(failure, AuditError):
            log.error("audit record %s for %s not written: %s", call.id, call.tool, failure)
            envelope["audit_error"] = str(failure)
        elif failure is not None:
            raise failure
        if cancelled:
            raise asyncio.CancelledError
        log.info(
            "tool=%s actor=%s decision=%s outcome=%s rule=%s",
            call.tool,
            redact_value(call.actor),
            call.decision,
            call.outcome,
            call.rule,
        )
        envelope["audit_id"] = call.id
        return envelope

    async def _record(self, call: Call, envelope: dict[str, Any]) -> None:
        """Write the call's audit record as it stands (pending or final)."""
        await self.audit.write(self._record_of(call, envelope))

    def _record_of(self, call: Call, envelope: dict[str, Any]) -> AuditRecord:
        """Return the audit record of ``call`` as it stands."""
        spec, facts = call.spec, call.facts
        when = call.admitted if call.admitted is not None else call.wall
        seen = facts.target if facts is not None else call.read_target()
        return AuditRecord(
            id=call.id,
            time=datetime.fromtimestamp(when, UTC).isoformat(),
            ts=when,
            actor=call.actor,
            reason=redact_value(str(call.reason)) if call.reason else None,
            tool=call.tool,
            risk=spec.risk.value if spec else None,
            arguments=_stored_arguments(call),
            container=call.target_reference(),
            container_id=seen.id if seen and seen.kind == "container" else None,
            container_name=seen.name if seen and seen.kind == "container" else None,
            target_kind=seen.kind if seen else None,
            target_id=seen.id if seen else None,
            target_name=seen.name if seen else None,
            host=call.host,
            target_key=facts.key if facts is not None and facts.engine else None,
            decision=call.decision,
            rule=call.rule,
            outcome=call.outcome,
            error=call.error,
            duration_ms=round((self._clock() - call.started) * 1000, 3),
            before=call.before,
            after=call.after,
            result=result_excerpt(envelope.get("result")) if envelope.get("ok") else call.result,
        )


async def _outlast(task: asyncio.Future[Any], *, relay: bool = False) -> bool:
    """Wait until ``task`` is done, even through cancellations; return whether one came.

    The caller re-raises ``CancelledError`` once it has dealt with the outcome. With
    ``relay`` the first cancellation is passed on to ``task`` once (it must itself wait for
    what it started, as run_bounded does); otherwise ``task`` is never cancelled here.
    """
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            if relay and not cancelled:
                task.cancel()
            cancelled = True
    return cancelled


def _check_policy_hosts(policy: Policy, fleet: Any) -> None:
    """Refuse a policy whose ``[hosts.NAME]`` names a host the fleet does not have.

    Without a fleet the sections stay: every mutating call is then refused as
    ``hosts.no_inventory`` (``Guard.check_host_rules``), reads run.
    """
    if not policy.hosts or fleet is None:
        return
    names = fleet.names
    unknown = [name for name in policy.hosts if name not in names]
    if unknown:
        where = f"the inventory's hosts are {', '.join(names)}"
        raise PolicyError(
            f"the policy has [hosts.{unknown[0]}] but {where}; rename or remove the section"
            + (f" (and {', '.join(unknown[1:])})" if unknown[1:] else "")
        )


def _paused(deadline: Deadline | None) -> contextlib.AbstractContextManager[None]:
    """Return a block whose time ``deadline`` leaves out (nothing to leave out: no-op)."""
    return deadline.paused() if deadline is not None else contextlib.nullcontext()


def _deny(verdict: Verdict | None) -> None:
    """Raise PolicyDenied for a verdict; do nothing for None."""
    if verdict is not None:
        raise PolicyDenied(verdict.rule, verdict.message, verdict.details)


def _stored_arguments(call: Call) -> Any:
    """Return the call's arguments as the audit trail keeps them: redacted.

    Validated arguments are stored redacted. Arguments that failed validation (or went to
    an unknown tool) are first parsed as validation parses them, so a JSON string is read
    as the object it holds and its ``env`` values are hidden like any others; a string
    that is not a JSON object is never stored, only its length. Values under keys the tool
    does not have are not stored at all (nothing says what they hold); for an unknown tool
    that is every value, so only its keys are kept.
    """
    if call.args is not None:
        return redact_arguments(call.args)
    raw = call.raw
    problem = shape_problem(raw)
    if problem is not None:  # never walked: it could exhaust the recursion limit
        return f"[REDACTED: arguments that {problem}]"
    if isinstance(raw, str):
        parsed = _json_object(raw)
        if parsed is None:
            return f"[REDACTED: {len(raw)} chars]"
        raw = parsed
    if isinstance(raw, dict):
        known = call.spec.input_model.model_fields if call.spec is not None else {}
        raw = {
            str(key): _json_value(value) if key in known else REDACTED for key, value in raw.items()
        }
    return redact_arguments(finite(raw))


def _given_arguments(call: Call) -> Any:
    """Return the call's arguments as given, read as ``_stored_arguments`` reads them.

    Unknown keys' values are kept here (they are what an error may quote, and what the
    stored form hides whole); arguments too deep or too large to walk are left out.
    """
    if call.args is not None:
        return call.args
    raw = call.raw
    if shape_problem(raw) is not None:
        return None
    if isinstance(raw, str):
        raw = _json_object(raw)
    if isinstance(raw, dict):
        return {str(key): _json_value(value) for key, value in raw.items()}
    return raw


def _json_object(text: str) -> dict[str, Any] | None:
    """Return the object a JSON string holds ("" is {}), as validation reads it, or None."""
    if not text.strip():
        return {}
    try:
        parsed = loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _json_value(value: Any) -> Any:
    """Return a JSON list or object sent as a string (``command``, ``env``) parsed, else as is.

    So a command list sent as a string is redacted word by word, as a list is.
    """
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            parsed = loads(value)
        except ValueError:
            return value
        if isinstance(parsed, list | dict):
            return parsed
    return value


def _state(data: ContainerDetails) -> dict[str, Any]:
    """Return the part of an inspect result the audit trail keeps as before/after state."""
    return {
        **(data.get("state") or {}),
        "restart_count": data.get("restart_count"),
        "networks": data.get("networks"),
    }
