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
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import cast

from operator_core.audit.base import AuditSink, MemoryAuditSink
from operator_core.audit.labels import redact_labels
from operator_core.audit.quoted import redact_quoted
from operator_core.audit.record import AuditRecord, Outcome
from operator_core.audit.redact import redact_value, redacted_traceback
from operator_core.deadline import Deadline, within
from operator_core.errors import AuditError, OperatorError, PolicyDenied
from operator_core.policy.guard import AUTO, Approver, AutoDetect, Guard
from operator_core.policy.model import Policy
from operator_core.policy.target import Target
from operator_core.runner.envelope import (
    Envelope,
    error_envelope,
    error_type,
    internal_envelope,
    ok_envelope,
)
from operator_core.runner.executor import ContainerExecutor, HostRouting
from operator_core.runner.mutate import (
    AFTER_TIMEOUT_READ_S,
    Context,
    act,
    admit,
    approve,
    cancelled_end,
    check_alias,
    deny,
    dry_run,
    invoke,
    resolve_target,
    write_record,
)
from operator_core.runner.outlast import outlast, paused
from operator_core.runner.own_layer import OwnLayer
from operator_core.runner.record import (
    build_record,
    given_arguments,
    stored_arguments,
    target_reference,
)
from operator_core.runner.stages import (
    Begun,
    Ended,
    Found,
    Judged,
    Ledger,
    Read,
    Resolved,
    Validated,
)
from operator_core.runner.startup import check_policy_hosts, close_interrupted, recall_rate_limits
from operator_core.tools.formats import Shape, tool_list
from operator_core.tools.hosts import host_of, routes_hosts, tools_with_host
from operator_core.tools.offer import offer
from operator_core.tools.registry import REGISTRY
from operator_core.tools.spec import ToolSpec
from operator_core.tools.validation import lookup_tool, validate_arguments
from operator_core.words import JSONObject, ToolsetName

__all__ = ["AFTER_TIMEOUT_READ_S", "ToolRunner"]

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
        check_policy_hosts(self.policy, self._fleet)
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
        self._ctx = Context(
            executor, self.policy, self.guard, self.audit, self._fleet, clock, wall_clock
        )
        self._started: asyncio.Future[None] | None = None
        self._own_layer = OwnLayer()
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
        self.interrupted = await close_interrupted(self._ctx)

    def _start_up(self) -> None:
        """The blocking start-up steps (run in a worker thread by ``start``)."""
        _ = self.guard.own_container_ids  # detects them now, off the event loop
        recall_rate_limits(self._ctx)

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        """The tools this runner runs (in a fleet, each with its ``host`` argument)."""
        return tuple(self._specs.values())

    def tools(
        self,
        shape: Shape = "anthropic",
        *,
        everything: bool = False,
        toolsets: frozenset[ToolsetName] | None = None,
    ) -> list[JSONObject]:
        """Return the tools the policy in force lets run, in ``shape``, for a model.

        A tool no host's mode allows (observe mode) or outside the chosen ``toolsets``
        (and the policy's) is not offered; a call to it is still denied saying why.
        ``everything`` lists every tool, for inspection.
        """
        hosts = () if self._fleet is None else self._fleet.names
        offered = offer(
            self._specs.values(), self.policy, hosts=hosts, toolsets=toolsets, everything=everything
        )
        return tool_list(shape, offered.specs)

    async def execute_tool(
        self,
        name: str,
        arguments: object = None,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> Envelope:
        """Run tool ``name`` with ``arguments``; return the envelope once the call is audited."""
        await self.start()
        who = str(actor)[:200] if actor is not None else None
        begun = Begun(str(name)[:200], arguments, who, reason, self._clock(), self._wall())
        ledger = Ledger(begun)
        try:
            envelope = await self._execute(ledger)
        except OperatorError as exc:
            envelope = self._refused(ledger, exc)
        except asyncio.CancelledError:
            if ledger.last(Ended) is None:  # cancelled before any action was under way
                why = "the call was cancelled before it changed anything"
                ledger.note(Ended("cancelled", {"type": "cancelled", "message": why}))
                await self._write_after_cancel(ledger)
            raise
        except Exception as exc:
            log.error(
                "tool %s failed inside operator-core: %s: %s\n%s",
                begun.tool,
                type(exc).__name__,
                redact_value(str(exc)),
                redacted_traceback(exc),
            )
            ledger.note(Ended("failed"))
            envelope = internal_envelope(exc)
        return await self._finish(ledger, envelope)

    async def _execute(self, ledger: Ledger) -> Envelope:
        """Find the tool, validate, check the mode and run; return the success envelope."""
        spec = ledger.note(Found(self._specs[lookup_tool(ledger.begun.tool).name])).spec
        valid = ledger.note(self._validate(spec, ledger.begun.raw))
        ledger.note(Judged("undecided"))
        deny(self.guard.check_mode(spec, valid.host))
        deny(self.guard.check_host_rules(spec, self._fleet is not None))
        if spec.read_only:
            return await self._read(spec, valid, ledger)
        with within(self._deadline(spec, valid)) as deadline:
            return await self._act(spec, valid, ledger, deadline)

    def _validate(self, spec: ToolSpec, raw: object) -> Validated:
        """Return the validated arguments, and in a fleet the host (added to them)."""
        args = validate_arguments(spec, raw).model_dump()
        if self._fleet is None:
            return Validated(args, None)
        host = host_of(spec, args, self._fleet.default)
        return Validated({**args, "host": host}, host)

    async def _read(self, spec: ToolSpec, valid: Validated, ledger: Ledger) -> Envelope:
        """Run a read-only tool (after approval, in the rare policy that wants one)."""
        if self.guard.needs_approval(spec):
            ledger.note(await approve(self._ctx, spec, valid.args, ledger.begun, None))
        ledger.note(Judged("allowed"))
        result = await invoke(self._ctx, spec, valid.args)
        reported = _reported(spec, valid.host, result)
        if reported is not None:
            ledger.note(Read(reported))
        ledger.note(Ended("ok"))
        return ok_envelope(result)

    def _deadline(self, spec: ToolSpec, valid: Validated) -> Deadline | None:
        """Return the shared deadline of a mutating call, if the executor states its bound.

        Every engine call it makes (resolve, judge again, the action, the state after)
        ends within the action's one documented bound (``executor.call_bound``), time
        spent waiting for a person's approval or for the target's lock left out.
        """
        bound = getattr(self.executor, "call_bound", None)
        on_host = self._ctx.on_host(valid.host)
        seconds = bound(spec.method, {**valid.args, **on_host}) if callable(bound) else None
        return Deadline(seconds) if seconds is not None else None

    async def _act(
        self, spec: ToolSpec, valid: Validated, ledger: Ledger, deadline: Deadline | None
    ) -> Envelope:
        """Run a mutating tool on its resolved target, under every rule of the policy."""
        ctx, args, host = self._ctx, valid.args, valid.host
        await self._own_layer.protect(self.guard, self.executor)
        reference = target_reference(ledger.begun, spec, args) or ""
        resolved = ledger.note(await resolve_target(ctx, spec, args, host, reference))
        self._judge(spec, args, resolved)
        await check_alias(ctx, args, host, resolved.facts)
        if self.policy.dry_runs(spec):
            envelope = dry_run(ctx, spec, args, resolved)
            ledger.note(Judged("dry_run", "dry_run"))
            ledger.note(Ended("dry_run"))
            return envelope
        if self.guard.call_needs_approval(spec, args, resolved.facts):
            with paused(deadline):
                ledger.note(await approve(ctx, spec, args, ledger.begun, resolved.facts))
        async with contextlib.AsyncExitStack() as held:
            with paused(deadline):
                await held.enter_async_context(self.guard.gate.hold(resolved.facts.key))
            resolved = ledger.note(await self._judge_again(spec, valid, resolved))
            admitted = await admit(ctx, spec, resolved.facts, ledger)
            ledger.note(Judged("allowed"))
            ledger.note(admitted)
            # Once started, the action runs to its end even if this call is cancelled (the
            # engine cannot stop a stop halfway), except that an interruptible tool (exec)
            # gets the cancel and kills its work; either way the lock and the slot are
            # held until the action has ended, and run_bounded waits for its worker.
            action = asyncio.create_task(act(ctx, spec, args, resolved, ledger))
            if await outlast(action, relay=spec.interruptible):
                ledger.note(cancelled_end(spec, action))
                await self._write_after_cancel(ledger)
                raise asyncio.CancelledError
            result = action.result()
        ledger.note(Ended("ok"))
        return ok_envelope(result)

    def _judge(self, spec: ToolSpec, args: Mapping[str, object], resolved: Resolved) -> None:
        """Refuse a protected or out-of-scope target, no room in a rate limit, a swarm rule."""
        facts = resolved.facts
        deny(self.guard.check_target(facts) or self.guard.check_rate(spec, facts))
        deny(self.guard.check_swarm_call(spec, args, facts))

    async def _judge_again(self, spec: ToolSpec, valid: Validated, judged: Resolved) -> Resolved:
        """Resolve the judged id again and judge it as it is now (``changed.*``).

        Approval and the lock can take minutes: a rename or a new label meanwhile is
        denied, and every rule is applied again to the target as it is now.
        """
        args, host = valid.args, valid.host
        now = await resolve_target(self._ctx, spec, args, host, judged.facts.id)
        deny(self.guard.check_unchanged(judged.facts, now.facts))
        deny(self.guard.check_swarm_call(spec, args, now.facts))
        await check_alias(self._ctx, args, host, now.facts)
        return now

    async def _write_after_cancel(self, ledger: Ledger) -> None:
        """Write the record of a cancelled call, through further cancels; log a failure."""
        write = asyncio.ensure_future(write_record(self._ctx, ledger.entries, {"ok": False}))
        await outlast(write)
        if not write.cancelled() and (failure := write.exception()) is not None:
            log.error(
                "audit record %s for %s not written: %s",
                ledger.begun.id,
                ledger.begun.tool,
                failure,
            )

    def _refused(self, ledger: Ledger, exc: OperatorError) -> Envelope:
        """Return the envelope of a refused or failed call, noting its decision and end."""
        envelope = error_envelope(exc)
        # The one place a refusal is returned and recorded: a value the stored arguments
        # hide is hidden wherever the message or details quote it (issue 18 item 5).
        found, valid = ledger.last(Found), ledger.last(Validated)
        args = valid.args if valid is not None else None
        raw = given_arguments(ledger.begun, args)
        stored = stored_arguments(ledger.begun, found.spec if found else None, args)
        envelope["error"] = redact_quoted(envelope["error"], raw, stored)
        kind = error_type(exc)
        if isinstance(exc, PolicyDenied):
            ledger.note(Judged("denied", exc.rule))
        error: dict[str, object] = {"type": kind, "message": envelope["error"]["message"]}
        ledger.note(Ended(_OUTCOMES.get(kind, "failed"), error))
        return envelope

    async def _finish(self, ledger: Ledger, envelope: Envelope) -> Envelope:
        """Write the final audit record, then return ``envelope`` with its audit id.

        A result's label values that look secret are hidden here, in what is returned and
        recorded alike; the policy judged the labels as the engine has them, before.
        """
        if envelope.get("ok"):
            envelope["result"] = redact_labels(envelope.get("result"))
        record = build_record(ledger.entries, envelope, self._clock())
        write = asyncio.ensure_future(self.audit.write(record))
        cancelled = await outlast(write)  # a cancel now must not lose the final record
        failure = None if write.cancelled() else write.exception()
        if isinstance(failure, AuditError):
            log.error("audit record %s for %s not written: %s", record.id, record.tool, failure)
            envelope["audit_error"] = str(failure)
        elif failure is not None:
            raise failure
        if cancelled:
            raise asyncio.CancelledError
        log.info(
            "tool=%s actor=%s decision=%s outcome=%s rule=%s",
            record.tool,
            redact_value(record.actor),
            record.decision,
            record.outcome,
            record.rule,
        )
        envelope["audit_id"] = record.id
        return envelope


def _reported(spec: ToolSpec, host: str | None, result: object) -> Target | None:
    """Return the container a read result reports (its id and name), or None."""
    if not isinstance(result, dict):
        return None
    found_id = result.get("id") or result.get("container_id")
    if not isinstance(found_id, str):
        return None
    name = result.get("name")
    return Target(spec.target_kind, found_id, name if isinstance(name, str) else "", host)
