"""Which containers a policy protects or keeps out of scope, judged on resolved facts."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from operator_core.policy.model import Policy, parse_label
from operator_core.results import ContainerDetails

__all__ = [
    "ContainerFacts",
    "Verdict",
    "has_label",
    "protection",
    "scope_violation",
    "target_key",
]

_HEX_PREFIX = re.compile(r"[0-9a-f]{12,64}")


@dataclass(frozen=True)
class ContainerFacts:
    """What the policy knows of a container: read from the engine, never from the agent."""

    id: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    status: str | None = None
    health: str | None = None
    image: str | None = None
    #: The fleet host the container is on (None: the one engine of a single-host runner).
    host: str | None = None
    #: Who holds it, as the engine says (never as it was named): the engine's ID for a
    #: container, the swarm's cluster ID for a service or node (``engine_identity``).
    engine: str | None = None

    @property
    def key(self) -> str:
        """What locks and rate limits count by: ``engine/id`` (``id@host`` before it is known)."""
        return target_key(self.id, self.host, self.engine)

    @classmethod
    def from_inspect(cls, data: ContainerDetails, host: str | None = None) -> ContainerFacts:
        """Return the facts of an ``inspect_container`` result (from ``host`` in a fleet).

        Read leniently (``.get``): an executor written to the seed's shape, with ``id``
        and no ``container_id``, still gives the facts the policy needs.
        """
        state = data.get("state") or {}
        return cls(
            host=host,
            id=str(data.get("container_id") or data["id"]),
            name=str(data.get("name") or "").lstrip("/"),
            labels=dict(data.get("labels") or {}),
            status=state.get("status"),
            health=state.get("health"),
            image=data.get("image"),
        )

    def summary(self) -> dict[str, Any]:
        """Return id, short id, name, status and health (no labels), for messages and audit.

        In a fleet, ``host`` too.
        """
        summary: dict[str, Any] = {
            "id": self.id,
            "short_id": self.id[:12],
            "name": self.name,
            "status": self.status,
            "health": self.health,
        }
        if self.host is not None:
            summary["host"] = self.host
        return summary


def target_key(object_id: str, host: str | None, engine: str | None = None) -> str:
    """Return the key a target is locked and rate limited by.

    ``engine/id`` once the holder's identity is known (the engine's ID, or the swarm's
    cluster ID): two names of one engine, or two managers of one swarm, share it. Records
    written before identities were kept count by ``id`` or ``id@host``.
    """
    if engine:
        return f"{engine}/{object_id}"
    return object_id if host is None else f"{object_id}@{host}"


@dataclass(frozen=True)
class Verdict:
    """A denial: the rule that fired, a message saying why, and JSON-able details."""

    rule: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def has_label(labels: dict[str, str], wanted: str) -> bool:
    """Whether ``labels`` has ``wanted`` (``key``: any value; ``key=value``: that value)."""
    key, value = parse_label(wanted)
    return key in labels and (value is None or labels[key] == value)


def _id_matches(container_id: str, reference: str) -> bool:
    """Whether ``reference`` is the container's id or an unambiguous (12+ hex) prefix of it."""
    ref = reference.lower()
    return _HEX_PREFIX.fullmatch(ref) is not None and container_id.lower().startswith(ref)


def protection(policy: Policy, facts: ContainerFacts, own_ids: Collection[str]) -> Verdict | None:
    """Return why ``facts`` is protected from mutating tools, or None when it is not.

    ``own_ids`` are the operator's own container's id(s): several when it could not be
    told which is ours (``detect_own_container_ids``), and each is protected.
    """
    who = f"container {facts.name!r} ({facts.id[:12]})"
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
    policy: Policy, facts: ContainerFacts, host_labels: dict[str, str] | None = None
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
        f"container {facts.name!r} ({facts.id[:12]}) is outside the policy's scope: it lacks "
        f"the label(s) {', '.join(repr(m) for m in missing)} that opt a container in",
    )
