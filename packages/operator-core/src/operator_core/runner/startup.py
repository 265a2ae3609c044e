"""What a ``ToolRunner`` does once before its first call: check, recall, reconcile.

``check_policy_hosts`` refuses a policy naming hosts the fleet lacks (when built);
``recall_rate_limits`` counts the trail's recent actions against the rate limits and
``close_interrupted`` marks ``interrupted`` what a dead process left pending (both in
``ToolRunner.start``).
"""

from __future__ import annotations

import logging
from typing import Any

from operator_core.audit.base import MemoryAuditSink
from operator_core.audit.record import AuditRecord
from operator_core.errors import AuditError
from operator_core.policy.model import Policy
from operator_core.policy.target import target_key
from operator_core.runner import targets
from operator_core.runner.mutate import Context, recent_actions, state
from operator_core.runner.reconcile import reconcile_interrupted, record_bound
from operator_core.tools.registry import REGISTRY

__all__ = ["check_policy_hosts", "close_interrupted", "recall_rate_limits"]

log = logging.getLogger("operator_core.runner")


def recall_rate_limits(ctx: Context) -> None:
    """Count the actions the audit trail holds within the rate-limit windows.

    So limits hold across processes sharing one trail run one after another (each
    ``operator`` command is its own process) and across restarts of a long-lived one
    (the MCP server). Processes running at the same time are kept within the limits
    only by a SQLite trail, which decides and records each action in one transaction
    (see ``mutate.admit``); with a JSONL trail each counts only what it saw at its start.
    """
    limiter = ctx.guard.limiter
    if not limiter.longest_window_s:
        return
    now = ctx.wall()
    try:
        past = ctx.audit.query(recent_actions(ctx.guard, now))
    except AuditError as exc:
        log.warning("rate limits start empty: the audit trail could not be read: %s", exc)
        return
    for record in sorted(past, key=lambda r: r.ts):
        spec = REGISTRY.get(record.tool)
        if spec is not None and spec.mutating and record.target_id:
            key = record.target_key or target_key(record.target_id, record.host)
            limiter.remember(record.tool, key, now - record.ts)


async def close_interrupted(ctx: Context) -> list[AuditRecord]:
    """Mark ``interrupted`` the records a dead process left pending (a durable trail only).

    See ``runner.reconcile``: a record still pending once its call's whole bound has
    passed gets its target's state now as ``after`` (a container's, a service's or a
    node's, by the record's ``target_kind``). An executor that states no bounds (a test
    double) has its records judged stale after an hour.
    """
    if isinstance(ctx.audit, MemoryAuditSink):
        return []
    call_bound = getattr(ctx.executor, "call_bound", None)

    async def inspect(record: AuditRecord) -> dict[str, Any]:
        host = {"host": record.host} if ctx.fleet is not None and record.host else {}
        target_id = str(record.target_id)
        if record.target_kind in ("service", "node"):
            return await targets.read_state(ctx.executor, record.target_kind, target_id, host)
        return state(await ctx.executor.inspect_container(target_id, **host))

    return await reconcile_interrupted(
        ctx.audit,
        now=ctx.wall(),
        bound=record_bound(call_bound) if callable(call_bound) else lambda record: None,
        inspect=inspect,
    )


def check_policy_hosts(policy: Policy, fleet: Any) -> None:
    """Refuse a policy whose ``[hosts.NAME]`` names a host the fleet does not have.

    Without a fleet the sections stay: every mutating call is then refused as
    ``hosts.no_inventory`` (``Guard.check_host_rules``), reads run.
    """
    if not policy.hosts or fleet is None:
        return
    policy.check_hosts(fleet.names)
