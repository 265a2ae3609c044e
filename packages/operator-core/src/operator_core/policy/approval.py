"""Which calls need approval: the one rule the runner (per call) and ``policy show`` use.

A call needs approval when its tool always does (``Policy.needs_approval``: the per-tool
setting, else the tool's risk or its own flag), or when the call meets one of the
conditions below, whatever the tool's own setting: a scale or a rollback that leaves a
service with 0 replicas (it stops altogether), a drain that would move a protected
service's tasks under ``drain_protected = "approval"``. ``approval_of`` says, per tool,
which of these holds, from the same table ``call_needs_approval`` judges calls by, so the
display cannot say "no approval" for a tool some call of which is asked about.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from operator_core.policy.model import Policy
from operator_core.policy.swarm import protected_moves, scale_needs_approval
from operator_core.policy.swarm_rules import SwarmRules
from operator_core.policy.target import TargetFacts

if TYPE_CHECKING:
    from operator_core.tools.spec import ToolSpec

__all__ = ["ALWAYS", "CONDITIONS", "approval_of", "call_needs_approval"]

#: What ``approval_of`` says of a tool every call of which needs approval.
ALWAYS: Final = "always"

_Judge = Callable[[SwarmRules, str, Mapping[str, object], TargetFacts | None], bool]


def _stops(
    rules: SwarmRules, method: str, arguments: Mapping[str, object], facts: TargetFacts | None
) -> bool:
    """Whether the call leaves its service with 0 replicas (see ``scale_needs_approval``)."""
    return scale_needs_approval(method, arguments, facts)


def _moves_protected(
    rules: SwarmRules, method: str, arguments: Mapping[str, object], facts: TargetFacts | None
) -> bool:
    """Whether a drain moves a protected service's tasks, which the policy wants asked."""
    asked = rules.drain_protected == "approval"
    return asked and facts is not None and bool(protected_moves(rules, method, arguments, facts))


#: Per executor method: when one of its calls needs approval although its tool does not,
#: and whether that condition is in force under the ``[swarm]`` rules.
CONDITIONS: Final[dict[str, tuple[str, _Judge, Callable[[SwarmRules], bool]]]] = {
    "scale_service": ("a scale to 0 replicas", _stops, lambda rules: True),
    "rollback_service": ("a rollback to a spec of 0 replicas", _stops, lambda rules: True),
    "set_node_availability": (
        "a drain that moves a protected service's tasks",
        _moves_protected,
        lambda rules: rules.drain_protected == "approval",
    ),
}


def approval_of(policy: Policy, spec: ToolSpec) -> str | None:
    """Return when calls of ``spec`` need approval: ``ALWAYS``, a condition, or None (never)."""
    if policy.needs_approval(spec):
        return ALWAYS
    condition = CONDITIONS.get(spec.method)
    if condition is not None and condition[2](policy.swarm):
        return condition[0]
    return None


def call_needs_approval(
    policy: Policy,
    spec: ToolSpec,
    arguments: Mapping[str, object],
    facts: TargetFacts | None = None,
) -> bool:
    """Whether this call needs approval: as its tool does, or as a condition above says.

    ``facts`` (the resolved target) tells what a rollback would give back and what a
    drain would move.
    """
    if policy.needs_approval(spec):
        return True
    condition = CONDITIONS.get(spec.method)
    if condition is None:
        return False
    swarm = facts if facts is not None and facts.kind != "container" else None
    rules = policy.for_host(facts.host if facts else None).swarm
    return condition[1](rules, spec.method, arguments, swarm)
