"""What ``operator policy check|show`` says a policy allows: ``PolicySummary``, typed.

``policy_summary`` reads a ``Policy`` section by section into TypedDicts, one per section
(the keys are the section's fields: a test fails when a model gains a field the summary
lacks); ``cli.commands.policy`` adds the host, the inventory and the warnings, and
``mark_denials`` (``cli.render.policy``) what denies each tool there.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from operator_core.audit.retention import RetentionRules
from operator_core.policy import Policy
from operator_core.policy.alert_rules import AlertSinkView
from operator_core.policy.approval import approval_of
from operator_core.policy.heal_rules import HealRules
from operator_core.policy.model import ProtectedContainers, RateLimit
from operator_core.policy.swarm_rules import ProtectedSwarmObjects, SwarmRules
from operator_core.tools import TOOLS, ToolSpec

__all__ = [
    "ApprovalSummary",
    "HealSummary",
    "HostSection",
    "HostView",
    "PolicySummary",
    "ProtectedSummary",
    "RateLimitSummary",
    "RetentionSummary",
    "ScopeSummary",
    "SwarmSummary",
    "ToolRow",
    "hosts_summary",
    "policy_summary",
]


class HostSection(TypedDict):
    """One ``[hosts.NAME]`` section: the mode it sets (None: the policy's) and what it adds."""

    mode: str | None
    protected: dict[str, list[str]]


class HostView(TypedDict):
    """How the policy applies on one host (``policy show --host NAME``)."""

    name: str
    #: Whether the policy has a ``[hosts.NAME]`` section for it.
    section: bool
    #: The key that sets the mode there: ``[hosts.NAME] mode`` or ``mode``.
    mode_set_by: str
    #: Its inventory labels (None: no inventory to read them from).
    labels: dict[str, str] | None
    #: Whether it has every ``scope.require_host_labels`` (None: no such rule, or no labels).
    in_scope: bool | None
    #: The required host labels it lacks.
    missing_labels: list[str]


class ProtectedSummary(TypedDict):
    """What ``[protected]`` (or a swarm's ``protected_services``/``_nodes``) protects."""

    names: list[str]
    patterns: list[str]
    labels: list[str]


class ScopeSummary(TypedDict):
    """``[scope]``: the labels a container, and a host, must have to be changed."""

    require_labels: list[str]
    require_host_labels: list[str]


class ApprovalSummary(TypedDict):
    """``[approval]``: the risks that need it, per-tool exceptions, how long it is asked."""

    risks: list[str]
    tools: dict[str, bool]
    timeout_s: float


class RateLimitSummary(TypedDict):
    """One ``[[rate_limits]]``: at most ``max`` calls per ``window_s``, counted ``per``."""

    tools: list[str] | None
    per: Literal["container", "all"]
    max: int
    window_s: float


class SwarmSummary(TypedDict):
    """``[swarm]``: replica bounds, managers, protected services and nodes."""

    min_replicas: int
    max_replicas: int | None
    protect_managers: bool
    drain_protected: Literal["deny", "approval"]
    protected_services: ProtectedSummary
    protected_nodes: ProtectedSummary


class RetentionSummary(TypedDict):
    """``[retention]``: how long the audit trail and the history are kept."""

    audit_max_age_days: float
    audit_max_rows: int
    history_max_age_days: float
    history_max_rows: int
    prune_every_s: float


class HealSummary(TypedDict):
    """``[heal]``: whether unhealthy containers are restarted, and within which bounds."""

    restart_unhealthy: bool
    preapproved: bool
    require_labels: list[str]
    grace_s: float
    stop_grace_s: int
    confirm_timeout_s: float
    backoff_s: float
    backoff_max_s: float
    max_attempts: int
    window_s: float
    max_restarts: int
    restart_window_s: float
    flap_window_s: float
    lease_s: float


class ToolRow(TypedDict):
    """One tool under the policy: its risk, whether it runs, approval, rate limits."""

    tool: str
    risk: str
    read_only: bool
    allowed: bool
    dry_run: bool
    #: The runner's own rule: whether any call needs approval (``approval`` says which).
    needs_approval: bool
    #: ``always``, or the calls that need it (a scale to 0); None: none.
    approval: str | None
    rate_limits: list[str]
    #: What denies it (``mark_denials``): "mode", the host scope or None.
    denied_by: NotRequired[str | None]


class PolicySummary(TypedDict):
    """What a policy allows and protects, as ``operator policy check|show`` gives it."""

    source: str
    mode: Literal["observe", "execute"]
    dry_run: bool
    protect_self: bool
    max_concurrent_actions: int
    allow_alias_sharing: bool
    protected: ProtectedSummary
    hosts: dict[str, HostSection]
    scope: ScopeSummary
    approval: ApprovalSummary
    rate_limits: list[RateLimitSummary]
    swarm: SwarmSummary
    retention: RetentionSummary
    heal: HealSummary
    #: URLs and tokens are secrets: only a sink's scheme and host are shown.
    alerts: dict[str, AlertSinkView]
    tools: list[ToolRow]
    #: The host it is shown for (``--host``), the inventory read, what a person should know.
    host: NotRequired[HostView | None]
    inventory: NotRequired[str | None]
    warnings: NotRequired[list[str]]
    #: ``policy show`` with ``protect_self``: the operator's own container(s), if found.
    own_container: NotRequired[str | None]


def policy_summary(policy: Policy, source: str) -> PolicySummary:
    """Return what ``policy`` allows and protects, tool by tool, as JSON-able data."""
    return {
        "source": source,
        "mode": policy.mode,
        "dry_run": policy.dry_run,
        "protect_self": policy.protect_self,
        "max_concurrent_actions": policy.max_concurrent_actions,
        "allow_alias_sharing": policy.allow_alias_sharing,
        "protected": _protected(policy.protected),
        "hosts": hosts_summary(policy),
        "scope": {
            "require_labels": list(policy.scope.require_labels),
            "require_host_labels": list(policy.scope.require_host_labels),
        },
        "approval": {
            "risks": list(policy.approval.risks),
            "tools": dict(policy.approval.tools),
            "timeout_s": policy.approval.timeout_s,
        },
        "rate_limits": [_rate_limit(limit) for limit in policy.rate_limits],
        "swarm": _swarm(policy.swarm),
        "retention": _retention(policy.retention),
        "heal": _heal(policy.heal),
        "alerts": {name: sink.describe() for name, sink in policy.alerts.items()},
        "tools": [_tool_row(policy, spec) for spec in TOOLS],
    }


def hosts_summary(policy: Policy) -> dict[str, HostSection]:
    """Return every ``[hosts.NAME]`` section: its mode and the protection it adds."""
    return {
        name: {"mode": section.mode, "protected": section.protected.model_dump()}
        for name, section in policy.hosts.items()
    }


def _tool_row(policy: Policy, spec: ToolSpec) -> ToolRow:
    """Return how ``policy`` treats ``spec``: whether it runs, approval, rate limits."""
    runs = policy.allows(spec)
    approval = approval_of(policy, spec) if runs else None
    return {
        "tool": spec.name,
        "risk": spec.risk.value,
        "read_only": spec.read_only,
        "allowed": runs,
        "dry_run": runs and policy.dry_runs(spec),
        # the runner's own rule: "always", or the calls that need it (a scale to 0)
        "needs_approval": approval is not None,
        "approval": approval,
        "rate_limits": [
            f"{limit.max}/{limit.window_s:g}s per {limit.per}"
            for limit in policy.rate_limits_of(spec)
        ],
    }


def _protected(kept: ProtectedContainers | ProtectedSwarmObjects) -> ProtectedSummary:
    """Return the names, patterns and labels a section protects."""
    return {"names": list(kept.names), "patterns": list(kept.patterns), "labels": list(kept.labels)}


def _rate_limit(limit: RateLimit) -> RateLimitSummary:
    """Return one ``[[rate_limits]]`` entry."""
    tools = None if limit.tools is None else list(limit.tools)
    return {"tools": tools, "per": limit.per, "max": limit.max, "window_s": limit.window_s}


def _swarm(swarm: SwarmRules) -> SwarmSummary:
    """Return the ``[swarm]`` section."""
    return {
        "min_replicas": swarm.min_replicas,
        "max_replicas": swarm.max_replicas,
        "protect_managers": swarm.protect_managers,
        "drain_protected": swarm.drain_protected,
        "protected_services": _protected(swarm.protected_services),
        "protected_nodes": _protected(swarm.protected_nodes),
    }


def _retention(kept: RetentionRules) -> RetentionSummary:
    """Return the ``[retention]`` section."""
    return {
        "audit_max_age_days": kept.audit_max_age_days,
        "audit_max_rows": kept.audit_max_rows,
        "history_max_age_days": kept.history_max_age_days,
        "history_max_rows": kept.history_max_rows,
        "prune_every_s": kept.prune_every_s,
    }


def _heal(heal: HealRules) -> HealSummary:
    """Return the ``[heal]`` section."""
    return {
        "restart_unhealthy": heal.restart_unhealthy,
        "preapproved": heal.preapproved,
        "require_labels": list(heal.require_labels),
        "grace_s": heal.grace_s,
        "stop_grace_s": heal.stop_grace_s,
        "confirm_timeout_s": heal.confirm_timeout_s,
        "backoff_s": heal.backoff_s,
        "backoff_max_s": heal.backoff_max_s,
        "max_attempts": heal.max_attempts,
        "window_s": heal.window_s,
        "max_restarts": heal.max_restarts,
        "restart_window_s": heal.restart_window_s,
        "flap_window_s": heal.flap_window_s,
        "lease_s": heal.lease_s,
    }
