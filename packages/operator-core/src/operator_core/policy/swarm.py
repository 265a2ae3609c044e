"""What the policy says about swarm services and nodes: protection, replica bounds, managers.

A policy's ``[swarm]`` section (every key optional)::

    [swarm]
    min_replicas = 1          # a scale below this is denied (default 0)
    max_replicas = 20         # a scale above this is denied (default: no bound of its own)
    protect_managers = true   # managers are never drained or paused (the default)
    drain_protected = "deny"  # a drain moving a protected service's tasks ("approval": ask)

    [swarm.protected_services]        # no mutating tool acts on these services
    names = ["db"]                    # exact names, or ids (full or a prefix of 12+)
    patterns = ["prod-*"]             # shell-style globs on the name
    labels = ["tier=critical"]        # "key" or "key=value" service labels

    [swarm.protected_nodes]           # no mutating tool acts on these nodes
    names = ["lab-eng1"]              # hostnames, or node ids (full or a prefix of 12+)
    labels = ["keep"]                 # node labels

Every call that changes a service's spec is judged on the spec it will produce, read from
the engine before acting: a scale on the replicas asked for, a rollback on its previous
spec's, a restart on the replicas it has. Out of bounds is denied (``swarm.min_replicas``,
``swarm.max_replicas``). Scaling or rolling back a service to 0 replicas stops it
altogether: such a call needs approval whatever the tool's risk (and ``min_replicas`` above
0 denies it outright).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

from operator_core.policy.matching import Verdict, has_label
from operator_core.policy.model import Policy
from operator_core.policy.swarm_rules import ProtectedSwarmObjects, SwarmRules
from operator_core.policy.target import TargetFacts

__all__ = [
    "ProtectedSwarmObjects",
    "SwarmRules",
    "node_host_verdict",
    "produced_replicas",
    "protected_moves",
    "scale_needs_approval",
    "swarm_call_verdict",
    "swarm_protection",
]


def _id_matches(target_id: str, reference: str) -> bool:
    """Whether ``reference`` is the id, or a prefix of it at least 12 characters long."""
    ref = reference.lower()
    return len(ref) >= 12 and target_id.lower().startswith(ref)


def swarm_protection(rules: SwarmRules, facts: TargetFacts) -> Verdict | None:
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


#: What each call that changes a service's spec does, for messages: (doing, not done).
_CHANGES = {
    "scale_service": ("scaling", "scaled"),
    "rollback_service": ("rolling back", "rolled back"),
    "restart_service": ("restarting", "restarted"),
}


def produced_replicas(
    method: str, arguments: Mapping[str, object], facts: TargetFacts
) -> int | None:
    """Return the replicas the service will have once the call is done (None: not told).

    A scale gives what it asks for; a rollback the previous spec's count (read from the
    engine before acting, never from the agent); a restart keeps the count it has now.
    """
    if method == "scale_service":
        replicas = arguments.get("replicas", 0)
        return replicas if isinstance(replicas, int) else int(str(replicas))
    if method == "rollback_service":
        return facts.previous_replicas
    if method == "restart_service":
        return facts.replicas
    return None


def _replica_verdict(
    rules: SwarmRules, method: str, arguments: Mapping[str, object], facts: TargetFacts
) -> Verdict | None:
    """Refuse a call whose resulting spec has replicas outside ``[swarm]``'s bounds."""
    wanted = produced_replicas(method, arguments, facts)
    if wanted is None or method not in _CHANGES:
        return None
    doing, done = _CHANGES[method]
    details: dict[str, object] = {"replicas": wanted}
    gives = f"{doing} {facts.what} to {wanted} is"
    if method != "scale_service":
        gives = f"{doing} {facts.what} would give it {wanted} replicas, which is"
        details["replicas_now"] = facts.replicas
    if wanted < rules.min_replicas:
        return Verdict(
            "swarm.min_replicas",
            f"{gives} below the policy's min_replicas ({rules.min_replicas}); it was not {done}",
            {**details, "min_replicas": rules.min_replicas},
        )
    if rules.max_replicas is not None and wanted > rules.max_replicas:
        return Verdict(
            "swarm.max_replicas",
            f"{gives} above the policy's max_replicas ({rules.max_replicas}); it was not {done}",
            {**details, "max_replicas": rules.max_replicas},
        )
    return None


def swarm_call_verdict(
    rules: SwarmRules, method: str, arguments: Mapping[str, object], facts: TargetFacts
) -> Verdict | None:
    """Refuse a spec outside the replica bounds, or a manager drained or paused.

    Every call that changes a service's spec (scale, rollback, restart) is judged on the
    spec it will produce (``produced_replicas``).
    """
    verdict = _replica_verdict(rules, method, arguments, facts)
    if verdict is not None:
        return verdict
    moved = protected_moves(rules, method, arguments, facts)
    if moved and rules.drain_protected == "deny":
        service, why = moved[0]
        return Verdict(
            "swarm.drain_protected",
            f"draining {facts.what} would move the tasks of {service.what}, which the "
            f"policy protects ({why.rule}); nothing was changed. Ask a person, or move "
            "that service's tasks first.",
            {"services": [s.summary() for s, _ in moved]},
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


def node_host_verdict(
    policy: Policy, host_labels: Mapping[str, Mapping[str, str]], facts: TargetFacts
) -> Verdict | None:
    """Refuse a node whose inventory host's policy keeps it unchanged (mode, host scope).

    A node is judged under the policy of the manager it was reached through and also of
    the host it is (``facts.node_hosts``: matched by the node id its engine reports, or
    each host that could not be asked); the strictest wins.
    """
    for host in facts.node_hosts:
        on_host = policy.for_host(host)
        labels = host_labels.get(host, {})
        lacking = [m for m in on_host.scope.require_host_labels if not has_label(dict(labels), m)]
        why, rule = "", ""
        if on_host.mode == "observe":
            why, rule = "the policy is in observe mode there", "mode.observe"
        elif lacking:
            why = f"it lacks the host label(s) {', '.join(repr(m) for m in lacking)}"
            rule = "scope.require_host_labels"
        if rule:
            which = "is" if facts.node_host_sure else "may be (it did not answer)"
            # The key that set observe there, for a hint that does not suggest --mode.
            section = {"section": f'{policy.mode_section(host)} = "observe"'}
            return Verdict(
                rule,
                f"{facts.what} {which} the engine of host {host!r}, and {why}",
                {"node_host": host, "node_host_sure": facts.node_host_sure}
                | (section if rule == "mode.observe" else {}),
            )
    return None


def protected_moves(
    rules: SwarmRules, method: str, arguments: Mapping[str, object], facts: TargetFacts
) -> list[tuple[TargetFacts, Verdict]]:
    """Return the protected services a drain of ``facts``'s node would move, and why."""
    if method != "set_node_availability" or arguments.get("availability") != "drain":
        return []
    found = ((service, swarm_protection(rules, service)) for service in facts.moving)
    return [(service, why) for service, why in found if why is not None]


def scale_needs_approval(
    method: str, arguments: Mapping[str, object], facts: TargetFacts | None = None
) -> bool:
    """Whether the call leaves a service with 0 replicas (it stops altogether): approval.

    A scale to 0, or a rollback to a previous spec of 0 (read from the engine: ``facts``).
    """
    if method == "scale_service":
        return arguments.get("replicas") == 0
    if method != "rollback_service" or facts is None:
        return False
    return produced_replicas(method, arguments, facts) == 0
