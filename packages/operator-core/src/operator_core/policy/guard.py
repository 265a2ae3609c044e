"""``Guard``: applies a ``Policy`` to tool calls, one rule at a time.

The runner asks in this order, and stops at the first denial: mode, then (for a tool
acting on a container, once resolved) protection and scope, then rate limits, then
approval. Each check returns a ``Verdict`` (a denial) or None (no objection).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from operator_core.audit.redact import redact_arguments, redact_value, redacted_traceback
from operator_core.errors import ApprovalUnavailable
from operator_core.policy.aliases import alias_verdict
from operator_core.policy.approval import approval_of, call_needs_approval
from operator_core.policy.concurrency import ActionGate
from operator_core.policy.limits import RateLimiter
from operator_core.policy.matching import Verdict, protection, scope_violation
from operator_core.policy.model import Policy
from operator_core.policy.self_container import detect_own_container_ids, detect_own_upper_dirs
from operator_core.policy.swarm import (
    node_host_verdict,
    swarm_call_verdict,
    swarm_protection,
)
from operator_core.policy.target import TargetFacts, TargetSummary

if TYPE_CHECKING:
    from operator_core.tools.spec import ToolSpec

__all__ = ["AUTO", "ApprovalRequest", "Approver", "AutoDetect", "Guard"]


@dataclass(frozen=True)
class ApprovalRequest:
    """What an approver is asked: which tool, on what, by whom and why (arguments redacted)."""

    tool: str
    risk: str
    arguments: dict[str, object] | None
    #: What it acts on (``TargetFacts.summary``: kind, id, name, status...), or None.
    summary: TargetSummary | None
    actor: str | None
    reason: str | None

    def describe(self, limit: int = 600) -> str:
        """Return what is asked in words: who, which tool on what, with which (redacted) values."""
        arguments, reason = self.shown(limit)
        why = f" Reason given: {reason}." if reason else ""
        # The actor is the caller's own word (an MCP client's name): redacted like a reason.
        actor = redact_value(self.actor)[:200] if self.actor else "An agent"
        return (
            f"{actor} wants to run {self.tool} ({self.risk} risk)"
            f"{self.target()} with {arguments}.{why}"
        )

    def target(self) -> str:
        """Return " on container 'web' (now running)" (or service, node), "" without one."""
        if not self.summary:
            return ""
        kind = self.summary.get("kind", "container")
        return f" on {kind} {self.summary.get('name')!r} (now {self.summary.get('status')})"

    def shown(self, limit: int = 600) -> tuple[str, str | None]:
        """Return the arguments (as JSON) and the reason as an approver may show them.

        Both are redacted again here, so an approver given a request built by hand (not by
        the runner, which redacts them already) never shows a secret either.
        """
        arguments = json.dumps(redact_arguments(self.arguments), default=str, allow_nan=False)
        if len(arguments) > limit:
            arguments = arguments[:limit] + "...[cut]"
        reason = redact_value(self.reason)[:limit] if self.reason else None
        return arguments, reason


#: An async callback that returns True to allow the call, False to refuse it, or raises
#: ``ApprovalUnavailable`` when there is nobody to ask (denied as ``approval.unavailable``).
Approver = Callable[[ApprovalRequest], Awaitable[bool]]


@dataclass(frozen=True)
class AutoDetect:
    """The type of ``AUTO``: find the operator's own container by looking.

    ``root`` and ``hostname`` say where to look (``detect_own_container_ids``); tests pass
    a tree of files captured in a container.
    """

    root: Path = Path("/")
    hostname: Callable[[], str] = socket.gethostname

    def __repr__(self) -> str:
        return "AUTO" if self.root == Path("/") else f"AutoDetect(root={str(self.root)!r})"


AUTO: Final = AutoDetect()

log = logging.getLogger("operator_core.policy")


class Guard:
    """Holds a policy with its live state: rate-limit counts, locks, the approver.

    ``own_container_id`` is the operator's own container: an id, or several when it
    cannot be told which is ours (``AUTO``: detect them on first use; None: there is
    none); each is protected unless the policy sets ``protect_self = false``. Building a
    guard reads nothing.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        approver: Approver | None = None,
        own_container_id: str | Iterable[str] | AutoDetect | None = AUTO,
        clock: Callable[[], float] = time.monotonic,
        host_labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.policy = policy
        self.approver = approver
        #: Each fleet host's inventory labels (None: no fleet).
        self.host_labels = host_labels
        own = own_container_id if policy.protect_self else None
        self._own: frozenset[str] | AutoDetect = (
            own
            if isinstance(own, AutoDetect)
            else frozenset({own} if isinstance(own, str) else own or ())
        )
        self._upper_dirs: frozenset[str] = frozenset()
        self.limiter = RateLimiter(policy.rate_limits, clock)
        self.gate = ActionGate(policy.max_concurrent_actions)

    @property
    def own_container_ids(self) -> frozenset[str]:
        """The operator's own container's id(s), detected on first use when ``AUTO``.

        ``ToolRunner.start`` detects them in a worker thread (they are read from /proc),
        so no caller on the event loop pays for the reads; a guard used on its own
        detects them here.
        """
        if isinstance(self._own, AutoDetect):
            auto = self._own
            self._upper_dirs = detect_own_upper_dirs(auto.root)
            self._own = detect_own_container_ids(auto.root, auto.hostname)
        return self._own

    @property
    def own_upper_dirs(self) -> frozenset[str]:
        """Our root filesystem's writable layer(s), read with the own ids when ``AUTO``.

        Only the engine can name the container they belong to; the runner asks it before
        its first mutating call and passes the answer to ``protect_own``. Empty until
        detection ran, and when the own container was given (or self-protection is off).
        """
        return self._upper_dirs

    def protect_own(self, container_ids: Iterable[str]) -> None:
        """Add ``container_ids`` to the operator's own ids (after detection; all protected)."""
        if self.policy.protect_self:
            self._own = self.own_container_ids | frozenset(container_ids)

    def check_mode(self, spec: ToolSpec, host: str | None = None) -> Verdict | None:
        """Refuse a mutating tool in observe mode (on ``host``, whose section may set it)."""
        policy = self.policy.for_host(host)
        if policy.allows(spec):
            return None
        section = self.policy.mode_section(host)
        where = f" on host {host!r} ({section})" if host is not None and section != "mode" else ""
        switch = "that host's section" if where else "the policy"
        details: dict[str, object] = {"section": f'{section} = "{policy.mode}"'}
        if host is not None:
            details["host"] = host
        return Verdict(
            "mode.observe",
            f"the policy is in observe mode{where}: only read-only tools run, and "
            f"{spec.name} changes containers, so it was not run. Use read-only tools (list, "
            f"inspect, logs, wait) and report what you would do; a person can switch {switch} "
            "to execute mode.",
            details,
        )

    def check_host_rules(self, spec: ToolSpec, in_fleet: bool) -> Verdict | None:
        """Refuse a mutating call outside a fleet when the policy has rules about hosts.

        ``[hosts.NAME]`` and ``scope.require_host_labels`` judge a call by the inventory
        host it goes to; an engine reached without an inventory (a URL, a context, the
        default) is no named host, so what they say cannot be told: nothing changes.
        """
        rules = self.policy.host_rules()
        if in_fleet or spec.read_only or not rules:
            return None
        return Verdict(
            "hosts.no_inventory",
            f"the policy has rules about hosts ({', '.join(rules)}), but this engine was "
            "not reached as a host of an inventory, so those rules cannot be applied and "
            f"{spec.name} was not run. A person can give the inventory (--inventory) and "
            "name one of its hosts, or remove those rules from the policy.",
            {"host_rules": rules},
        )

    def check_target(self, facts: TargetFacts) -> Verdict | None:
        """Refuse a protected container, or one outside the opt-in scope (on its host).

        A swarm service or node is judged by the ``[swarm]`` section's protections instead.
        """
        policy = self.policy.for_host(facts.host)
        if facts.kind != "container":
            verdict = swarm_protection(policy.swarm, facts) or node_host_verdict(
                self.policy, self.host_labels or {}, facts
            )
            return _leave_alone(verdict, facts)
        labels = None
        if self.host_labels is not None and facts.host is not None:
            labels = dict(self.host_labels.get(facts.host, {}))
        verdict = protection(policy, facts, self.own_container_ids)
        if verdict is None:
            verdict = scope_violation(policy, facts, labels)
        if verdict is None:
            return None
        return Verdict(
            verdict.rule,
            f"{verdict.message}; the policy lets no tool change it, so nothing was done. "
            "Leave this container alone or ask a person.",
            {"target": facts.summary()},
        )

    def check_swarm_call(
        self, spec: ToolSpec, arguments: Mapping[str, object], facts: TargetFacts
    ) -> Verdict | None:
        """Refuse a scale outside ``[swarm]``'s replica bounds, or a manager drained or paused."""
        if facts.kind == "container":
            return None
        rules = self.policy.for_host(facts.host).swarm
        return _about(swarm_call_verdict(rules, spec.method, arguments, facts), facts)

    def call_needs_approval(
        self, spec: ToolSpec, arguments: Mapping[str, object], facts: TargetFacts | None = None
    ) -> bool:
        """Whether this call needs approval (``operator_core.policy.approval``'s one rule).

        ``facts`` (the resolved target) tells what a rollback would give back.
        """
        return call_needs_approval(self.policy, spec, arguments, facts)

    def check_unchanged(self, judged: TargetFacts, now: TargetFacts) -> Verdict | None:
        """Refuse a container that changed since it was judged: ``now`` is it read again.

        Between the first judgement and the action lie the approval and the wait for the
        per-container lock. A container that became protected or left the scope meanwhile
        is ``changed.protection``; one renamed is ``changed.identity`` (the person who
        approved saw the old name).
        """
        who = judged.what
        details: dict[str, object] = {"target": now.summary(), "judged": judged.summary()}
        verdict = self.check_target(now)
        if verdict is not None:
            return Verdict(
                "changed.protection",
                f"{who} changed while this call waited for approval or for another action "
                f"on it, and the policy now refuses it ({verdict.rule}): {verdict.message}",
                {**details, "now_refused_by": verdict.rule},
            )
        if now.name != judged.name:
            return Verdict(
                "changed.identity",
                f"{who} was renamed to {now.name!r} while this call waited for approval or "
                "for another action on it, so nothing was done: what was judged (and "
                f"approved) is not what is there now. Check which {judged.kind} you mean, then "
                "call again.",
                details,
            )
        return None

    def check_alias(
        self, alias: str, target: TargetFacts, network: str, members: Iterable[Mapping[str, object]]
    ) -> Verdict | None:
        """Refuse an alias that is a name another container answers to (see ``aliases``)."""
        policy = self.policy.for_host(target.host)
        verdict = alias_verdict(policy, self.own_container_ids, alias, target, network, members)
        return _about(verdict, target)

    def check_rate(self, spec: ToolSpec, facts: TargetFacts) -> Verdict | None:
        """Refuse when a rate limit has no room (counts nothing)."""
        return _about(self.limiter.check(spec.name, facts.key), facts)

    def take_rate(self, spec: ToolSpec, facts: TargetFacts) -> Verdict | None:
        """Count the action against the rate limits, or refuse when one has no room."""
        return _about(self.limiter.acquire(spec.name, facts.key), facts)

    def judge_rate(
        self,
        spec: ToolSpec,
        facts: TargetFacts,
        past: Iterable[tuple[str, str | None, float]],
        now: float,
    ) -> Verdict | None:
        """Refuse when a rate limit has no room given ``past`` actions (counts nothing)."""
        return _about(self.limiter.judge(spec.name, facts.key, past, now), facts)

    def needs_approval(self, spec: ToolSpec) -> bool:
        """Whether some call of ``spec`` needs approval (``approval_of``, as policy show says).

        For a read-only tool that is every call of it: conditions apply to swarm actions.
        """
        return approval_of(self.policy, spec) is not None

    async def approve(self, spec: ToolSpec, request: ApprovalRequest) -> Verdict | None:
        """Ask the approver; return None when it said yes, else the denial."""
        target = _target(request)
        if self.approver is None:
            return _unavailable(spec, target, "no approver is configured")
        try:
            allowed = await asyncio.wait_for(self.approver(request), self.policy.approval.timeout_s)
        except ApprovalUnavailable as exc:
            return _unavailable(spec, target, str(exc))
        except TimeoutError:
            return Verdict(
                "approval.timeout",
                f"no approval for {spec.name}{target} within "
                f"{self.policy.approval.timeout_s:g}s; it was not run",
            )
        except Exception as exc:
            log.error(
                "the approver failed on %s%s; denied:\n%s",
                spec.name,
                target,
                redacted_traceback(exc),
            )
            return Verdict(
                "approval.error",
                f"the approver failed ({type(exc).__name__}) on {spec.name}{target}; "
                "it was not run",
            )
        if allowed is True:
            return None
        return Verdict(
            "approval.rejected",
            f"the approver declined {spec.name}{target}; it was not run. Do not retry it "
            "without new information.",
        )


def _unavailable(spec: ToolSpec, target: str, why: str) -> Verdict:
    """Return the denial of a call that needs approval when nobody can be asked, and why."""
    return Verdict(
        "approval.unavailable",
        f"{spec.name} ({spec.risk.value} risk){target} needs approval under the policy, "
        f"but nobody can be asked: {why.strip().rstrip('.')}. It was not run; do not retry "
        "it unchanged. Tell a person what you would run and why: they can run it "
        "themselves, or waive approval for this tool in the policy's [approval] section.",
    )


def _about(verdict: Verdict | None, facts: TargetFacts) -> Verdict | None:
    """Return ``verdict`` with the container it concerns added to its details."""
    if verdict is None:
        return None
    return Verdict(verdict.rule, verdict.message, {**verdict.details, "target": facts.summary()})


def _target(request: ApprovalRequest) -> str:
    """Return " on container 'web'" (or service, node) for messages; "" without a target."""
    if request.summary is None:
        return ""
    kind = request.summary.get("kind", "container")
    return f" on {kind} {request.summary.get('name')!r}"


def _leave_alone(verdict: Verdict | None, facts: TargetFacts) -> Verdict | None:
    """Return a swarm protection's denial, telling the agent to leave the object alone."""
    if verdict is None:
        return None
    return Verdict(
        verdict.rule,
        f"{verdict.message}; the policy lets no tool change it, so nothing was done. "
        f"Leave this {facts.kind} alone or ask a person.",
        {**verdict.details, "target": facts.summary()},
    )
