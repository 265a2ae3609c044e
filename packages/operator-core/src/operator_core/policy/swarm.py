"""What the policy says about swarm services and nodes: protection, replica bounds, managers.

A policy's ``[swarm]`` section (every key optional)::

    [swarm]
    min_replicas = 1          # a scale below this is denied (default 0)
    max_replicas = 20         # a scale above this is denied (default: no bound of its own)
    protect_managers = true   # managers are never drained or paused (the default)

    [swarm.protected_services]        # no mutating tool acts on these services
    names = ["db"]                    # exact names, or ids (full or a prefix of 12+)
    patterns = ["prod-*"]             # shell-style globs on the name
    labels = ["tier=critical"]        # "key" or "key=value" service labels

    [swarm.protected_nodes]           # no mutating tool acts on these nodes
    names = ["lab-eng1"]              # hostnames, or node ids (full or a prefix of 12+)
    labels = ["keep"]                 # node labels

Scaling a service to 0 replicas stops it altogether: such a call needs approval whatever
the tool's risk (and ``min_replicas`` above 0 denies it outright).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Literal

from operator_core.policy.matching import ContainerFacts, Verdict, has_label
from operator_core.policy.swarm_rules import ProtectedSwarmObjects, SwarmRules

__all__ = [
    "ProtectedSwarmObjects",
    "SwarmFacts",
    "SwarmRules",
    "scale_needs_approval",
    "swarm_call_verdict",
    "swarm_protection",
]

TargetKind = Literal["service", "node"]


@dataclass(frozen=True)
class SwarmFacts(ContainerFacts):
    """What the policy knows of a swarm service or node, read from the manager.

    ``name`` is a service's name or a node's hostname; ``status`` a service's update state
    or a node's availability; ``role`` a node's (manager, worker); ``replicas`` a
    replicated service's desired count.
    """

    kind: TargetKind = "service"
    role: str | None = None
    replicas: int | None = None

    @property
    def what(self) -> str:
        """Return ``service 'web' (abc123def456)`` for messages."""
        return f"{self.kind} {self.name!r} ({self.id[:12]})"

    def summary(self) -> dict[str, Any]:
        """Return the kind, id, short id, name and what the policy judged it by."""
        summary = {"kind": self.kind, **super().summary()}
        summary.pop("health", None)
        if self.kind == "node":
            summary["role"] = self.role
        else:
            summary["replicas"] = self.replicas
        return summary


def _id_matches(target_id: str, reference: str) -> bool:
    """Whether ``reference`` is the id, or a prefix of it at least 12 characters long."""
    ref = reference.lower()
    return len(ref) >= 12 and target_id.lower().startswith(ref)


def swarm_protection(rules: SwarmRules, facts: SwarmFacts) -> Verdict | None:
    """Return why the policy protects ``facts``'s service or node, or None."""
    protected = rules.protected_services if facts.kind == "service" else rules.protected_nodes
    rule = f"swarm.protected_{facts.kind}s"
    for name in protected.names:
        if facts.name == name or _id_matches(facts.id, name):
            return Verdict(f"{rule}.names", f"{facts.what} is protected by name ({name!r})")
    for pattern in protected.patterns:
        if fnmatch.fnmatchcase(facts.name, pattern):
            return Verdict(f"{rule}.patterns", f"{facts.what} is protected by pattern {pattern!r}")
    for label in protected.labels:
        if has_label(facts.labels, label):
            return Verdict(f"{rule}.labels", f"{facts.what} is protected by label {label!r}")
    return None


def swarm_call_verdict(
    rules: SwarmRules, method: str, arguments: dict[str, Any], facts: SwarmFacts
) -> Verdict | None:
    """Refuse a scale outside the replica bounds, or a manager drained or paused."""
    if method == "scale_service":
        wanted = int(arguments.get("replicas", 0))
        if wanted < rules.min_replicas:
            return Verdict(
                "swarm.min_replicas",
                f"scaling {facts.what} to {wanted} is below the policy's min_replicas "
                f"({rules.min_replicas}); it was not scaled",
                {"replicas": wanted, "min_replicas": rules.min_replicas},
            )
        if rules.max_replicas is not None and wanted > rules.max_replicas:
            return Verdict(
                "swarm.max_replicas",
                f"scaling {facts.what} to {wanted} is above the policy's max_replicas "
                f"({rules.max_replicas}); it was not scaled",
                {"replicas": wanted, "max_replicas": rules.max_replicas},
            )
    availability = arguments.get("availability")
    manager = facts.kind == "node" and facts.role == "manager"
    taking = method == "set_node_availability" and availability in ("drain", "pause")
    if taking and manager and rules.protect_managers:
        return Verdict(
            "swarm.protect_managers",
            f"{facts.what} is a swarm manager, and the policy protects managers from "
            f"{availability}: the cluster's control plane would lose capacity; nothing "
            "was changed. Ask a person, or set protect_managers = false in [swarm].",
            {"availability": availability},
        )
    return None


def scale_needs_approval(method: str, arguments: dict[str, Any]) -> bool:
    """Whether the call scales a service to 0 (it stops altogether): it needs approval."""
    return method == "scale_service" and arguments.get("replicas") == 0
