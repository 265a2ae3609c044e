"""The stages of a mutating call: resolve, judge, approve, admit, act (and a dry run).

Each stage is a short function that takes what it needs (the runner's ``Context`` and the
earlier stages' records) and returns what it decided, as a frozen record of
``runner.stages``, or raises ``PolicyDenied``. ``ToolRunner`` (``runner.core``) runs them
in order and notes each record in the call's ``Ledger``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from operator_core.audit.base import AdmittingSink, AuditQuery, AuditSink
from operator_core.audit.redact import (
    redact_arguments,
    redact_text,
    redact_value,
    redacted_traceback,
)
from operator_core.deadline import Deadline, remaining, within
from operator_core.errors import OperationTimeout, OperatorError, PolicyDenied
from operator_core.policy.guard import ApprovalRequest, Guard
from operator_core.policy.matching import Verdict
from operator_core.policy.model import Policy
from operator_core.policy.target import TargetFacts
from operator_core.results import ContainerDetails
from operator_core.runner import targets
from operator_core.runner.envelope import error_type, ok_envelope, result_excerpt
from operator_core.runner.executor import ContainerExecutor, HostRouting
from operator_core.runner.record import build_record
from operator_core.runner.stages import (
    Acted,
    Admitted,
    Approved,
    Begun,
    Ended,
    Judged,
    Ledger,
    Resolved,
    Stage,
)
from operator_core.tools.registry import TOOLS
from operator_core.tools.spec import ToolSpec

__all__ = [
    "AFTER_TIMEOUT_READ_S",
    "Context",
    "act",
    "admit",
    "approve",
    "cancelled_end",
    "check_alias",
    "deny",
    "dry_run",
    "invoke",
    "recent_actions",
    "resolve_target",
    "state",
    "write_record",
]

#: How long the state after an action that timed out may take to read (the engine is then
#: likely not answering; the rest of the call's deadline is not spent waiting for it).
AFTER_TIMEOUT_READ_S = 5.0

log = logging.getLogger("operator_core.runner")


@dataclass(frozen=True)
class Context:
    """What the stages use of the runner: the executor, the policy's guard, the trail, clocks."""

    executor: ContainerExecutor
    policy: Policy
    guard: Guard
    audit: AuditSink
    fleet: HostRouting | None
    clock: Callable[[], float]
    wall: Callable[[], float]

    def on_host(self, host: str | None) -> dict[str, Any]:
        """Return the ``host`` argument of a call to ``host`` in a fleet, else nothing."""
        return {} if self.fleet is None else {"host": host}


def deny(verdict: Verdict | None) -> None:
    """Raise PolicyDenied for a verdict; do nothing for None."""
    if verdict is not None:
        raise PolicyDenied(verdict.rule, verdict.message, verdict.details)


async def write_record(ctx: Context, entries: tuple[Stage, ...], envelope: dict[str, Any]) -> None:
    """Write the audit record the stages ``entries`` make (pending or final)."""
    await ctx.audit.write(build_record(entries, envelope, ctx.clock()))


async def resolve_target(
    ctx: Context, spec: ToolSpec, args: dict[str, Any], host: str | None, reference: str
) -> Resolved:
    """Read the call's target from the engine: facts for the policy, state for the trail."""
    on_host = ctx.on_host(host)
    swarm = spec.target_kind != "container"
    if swarm:
        hosts = ctx.fleet.names if ctx.fleet is not None else ()
        facts, before = await targets.read_swarm_target(
            ctx.executor, spec, reference, host, on_host, arguments=args, hosts=hosts
        )
    else:
        data = await ctx.executor.inspect_container(reference, **on_host)
        facts, before = TargetFacts.from_inspect(data, host=host), state(data)
    holder = await targets.holder(ctx.executor, swarm, on_host)
    return Resolved(dataclasses.replace(facts, engine=holder), before)


async def check_alias(
    ctx: Context, args: dict[str, Any], host: str | None, facts: TargetFacts
) -> None:
    """Refuse a network alias that another container on that network answers to."""
    alias, network = args.get("alias"), args.get("network")
    if not alias or not network:
        return
    found = await ctx.executor.network_members(network, **ctx.on_host(host))
    deny(ctx.guard.check_alias(alias, facts, found["network"], found["containers"]))


async def approve(
    ctx: Context,
    spec: ToolSpec,
    args: dict[str, Any] | None,
    begun: Begun,
    facts: TargetFacts | None,
) -> Approved:
    """Ask the approver about the call (on ``facts``'s target, if any); deny unless yes."""
    request = ApprovalRequest(
        tool=spec.name,
        risk=spec.risk.value,
        arguments=redact_arguments(args),
        summary=facts.summary() if facts is not None else None,
        actor=begun.actor,
        reason=redact_value(str(begun.reason)) if begun.reason else None,
    )
    deny(await ctx.guard.approve(spec, request))
    return Approved()


def dry_run(
    ctx: Context, spec: ToolSpec, args: dict[str, Any], resolved: Resolved
) -> dict[str, Any]:
    """Return what ``spec`` would do to the resolved target, having done nothing."""
    facts = resolved.facts
    status = (facts.status or "unknown") + (f", {facts.health}" if facts.health else "")
    would = f"{spec.title.lower()}: {facts.name!r} ({facts.id[:12]}), currently {status}."
    if facts.kind != "container":
        would = targets.describe(spec, args, facts, resolved.before)
    return ok_envelope(
        {
            "dry_run": True,
            "changed": False,
            "would": f"{would} Nothing was done (dry run).",
            "tool": spec.name,
            "arguments": redact_arguments(args),
            "target": facts.summary(),
            "approval_required": ctx.guard.call_needs_approval(spec, args, facts),
        }
    )


def recent_actions(guard: Guard, now: float) -> AuditQuery:
    """Return the query for the actions the rate limits count, within their windows."""
    return AuditQuery(
        since=now - guard.limiter.longest_window_s,
        decision="allowed",
        tools=tuple(s.name for s in TOOLS if s.mutating and guard.limiter.counts(s.name)),
        limit=None,
    )


async def admit(ctx: Context, spec: ToolSpec, facts: TargetFacts, ledger: Ledger) -> Admitted:
    """Count the action against the rate limits and write its ``pending`` record.

    With a sink that can (SQLite), both happen in one transaction that first reads the
    recent actions in the trail, so runners in other processes sharing the file are
    counted too and cannot slip in between. Otherwise the limits are this process's
    counts (seeded from the trail when the runner started).

    The record is stamped with the time of admission, not of the call's start: an
    approval can take minutes, and the windows must count from when the action ran.
    """
    now = ctx.wall()
    admitted = Admitted(now)
    pending = (*ledger.entries, Judged("allowed"), admitted)
    limiter = ctx.guard.limiter
    if not (isinstance(ctx.audit, AdmittingSink) and limiter.counts(spec.name)):
        deny(ctx.guard.take_rate(spec, facts))
        await write_record(ctx, pending, {"ok": False})
        return admitted
    verdict = await ctx.audit.admit(
        build_record(pending, {"ok": False}, ctx.clock()),
        recent_actions(ctx.guard, now),
        lambda past: ctx.guard.judge_rate(spec, facts, past, now),
    )
    deny(verdict)  # denied: nothing was stored, its record keeps the call's start
    limiter.remember(spec.name, facts.key, 0.0)  # for this process's own early checks
    return admitted


async def invoke(
    ctx: Context, spec: ToolSpec, args: dict[str, Any], target_id: str | None = None
) -> Any:
    """Call the executor method of ``spec`` with the validated arguments.

    A mutating tool is aimed at ``target_id``, the id the policy judged, never at the
    name again: a container renamed or replaced meanwhile cannot be hit instead.
    """
    method = getattr(ctx.executor, spec.method, None)
    if method is None:
        raise OperatorError(f"{spec.name} is not available: the executor has no {spec.method}")
    arguments = dict(args)
    if target_id is not None and spec.target is not None:
        arguments[spec.target] = target_id
    return await method(**arguments)


async def act(
    ctx: Context, spec: ToolSpec, args: dict[str, Any], resolved: Resolved, ledger: Ledger
) -> Any:
    """Run the action, then note the target's state after it (even if it failed).

    After a timeout the engine is likely not answering: the read then gets at most
    ``AFTER_TIMEOUT_READ_S`` of what is left of the call's deadline, not all of it.
    """
    silent = False
    try:
        return await invoke(ctx, spec, args, resolved.facts.id)
    except OperationTimeout:
        silent = True
        raise
    finally:
        left = remaining()
        quick = AFTER_TIMEOUT_READ_S if left is None else min(left, AFTER_TIMEOUT_READ_S)
        with within(Deadline(quick)) if silent else contextlib.nullcontext():
            ledger.note(Acted(await _state_after(ctx, spec, resolved.facts)))


async def _state_after(ctx: Context, spec: ToolSpec, facts: TargetFacts) -> dict[str, Any]:
    """Read the target's state after an action; a failure is noted, not raised."""
    on_host = ctx.on_host(facts.host)
    try:
        if spec.target_kind != "container":
            return await targets.read_state(ctx.executor, spec.target_kind, facts.id, on_host)
        return state(await ctx.executor.inspect_container(facts.id, **on_host))
    except OperatorError as exc:
        return {"unavailable": redact_text(str(exc))}


def cancelled_end(spec: ToolSpec, action: asyncio.Task[Any]) -> Ended:
    """Return the end of a call cancelled while its action was under way (now ended).

    By now the action has ended and ``after`` was read after it. That holds even when the
    action's own task was cancelled too (an interruptible tool, or the event loop closing
    after a second Ctrl-C): the executor's call stops what can stop early (an exec) and
    waits for the rest within its deadline before it gives up, so only the result is
    lost, and ``after`` is still read once the action had ended (or its deadline had passed).
    """
    after = "'after' is the container's state once it had ended."
    result = None
    if action.cancelled():  # an interruptible tool, or the event loop is closing
        ending = (
            "the action's own task was cancelled too, so it stopped what could stop "
            "early (an exec's processes) and the engine call was waited for until it "
            "ended (at most until its deadline); its result was not kept, the "
            "container's state after it shows what it did"
        )
        after = "'after' was read once it had ended or its deadline had passed."
    elif (exc := action.exception()) is not None:
        ending = _failure(spec, exc)
    else:
        ending = "it completed"
        result = result_excerpt(action.result())
    message = (
        f"the call was cancelled while {spec.name} was already under way in the engine, so "
        f"it may have completed; it was waited for: {ending}. {after}"
    )
    return Ended("cancelled", {"type": "cancelled", "message": message}, result)


def _failure(spec: ToolSpec, exc: BaseException) -> str:
    """Say how an action under a cancelled call failed (a bug of ours is logged whole)."""
    if isinstance(exc, OperatorError):
        return f"it failed ({error_type(exc)}: {redact_text(str(exc))[:300]})"
    log.error(
        "tool %s failed inside operator-core: %s\n%s",
        spec.name,
        type(exc).__name__,
        redacted_traceback(exc),
    )
    return f"it failed inside operator-core ({type(exc).__name__})"


def state(data: ContainerDetails) -> dict[str, Any]:
    """Return the part of an inspect result the audit trail keeps as before/after state."""
    return {
        **(data.get("state") or {}),
        "restart_count": data.get("restart_count"),
        "networks": data.get("networks"),
    }
