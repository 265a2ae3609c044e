"""Which containers a policy protects or keeps out of scope, judged on resolved facts."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from operator_core.policy.model import Policy, parse_label
from operator_core.policy.target import TargetFacts

__all__ = ["Verdict", "has_label", "protection", "scope_violation"]

_HEX_PREFIX = re.compile(r"[0-9a-f]{12,64}")


@dataclass(frozen=True)
class Verdict:
    """A denial: the rule that fired, a message saying why, and JSON-able details."""

    rule: str
    message: str
    #: Numbers, texts and ``TargetSummary``s (``PolicyDenied.details``).
    details: dict[str, object] = field(default_factory=dict)


def has_label(labels: dict[str, str], wanted: str) -> bool:
    """Whether ``labels`` has ``wanted`` (``key``: any value; ``key=value``: that value)."""
    key, value = parse_label(wanted)
    return key in labels and (value is None or labels[key] == value)


def _id_matches(container_id: str, reference: str) -> bool:
    """Whether ``reference`` is the container's id or an unambiguous (12+ hex) prefix of it."""
    ref = reference.lower()
    return _HEX_PREFIX.fullmatch(ref) is not None and container_id.lower().startswith(ref)


def protection(policy: Policy, facts: TargetFacts, own_ids: Collection[str]) -> Verdict | None:
    """Return why ``facts`` is protected from mutating tools, or None when it is not.

    ``own_ids`` are the operator's own container's id(s): several when it could not be
    told which is ours (``detect_own_container_ids``), and each is protected.
    """
    who = facts.what
    if any(own and _id_matches(facts.id, own) for own in own_ids):
        return Verdict(
            "protected.self", f"{who} is the operator's own container; it never acts on itself"
        )
    protected = policy.protected
    for name in protected.names:
        if facts.name == name or _id_matches(facts.id, name):
            return Verdict("protected.names", f"{who} is protected by name ({name!r})")
    for pattern in protected.patterns:
        if fnmatch.fnmatchcase(facts.name, pattern):
            return Verdict("protected.patterns", f"{who} is protected by pattern {pattern!r}")
    for label in protected.labels:
        if has_label(facts.labels, label):
            return Verdict("protected.labels", f"{who} is protected by label {label!r}")
    return None


def scope_violation(
    policy: Policy, facts: TargetFacts, host_labels: dict[str, str] | None = None
) -> Verdict | None:
    """Return why ``facts`` is outside the policy's opt-in scope, or None when inside.

    ``host_labels`` are the labels of the container's fleet host (None: not in a fleet;
    ``scope.require_host_labels`` then has nothing to judge and does not apply).
    """
    if host_labels is not None:
        lacking = [
            label for label in policy.scope.require_host_labels if not has_label(host_labels, label)
        ]
        if lacking:
            return Verdict(
                "scope.require_host_labels",
                f"host {facts.host!r} is outside the policy's scope: it lacks the host "
                f"label(s) {', '.join(repr(m) for m in lacking)} that let tools change "
                "containers there",
            )
    missing = [label for label in policy.scope.require_labels if not has_label(facts.labels, label)]
    if not missing:
        return None
    return Verdict(
        "scope.require_labels",
        f"{facts.what} is outside the policy's scope: it lacks "
        f"the label(s) {', '.join(repr(m) for m in missing)} that opt a container in",
    )
