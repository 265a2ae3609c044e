"""What an action acts on: one ``Target`` type for containers, services and nodes.

``Target`` names the object (``kind``, ``id``, ``name``, ``host``): resolution returns it,
the policy's facts carry it, approval prompts, messages and the audit record say it in
one vocabulary (``target.kind``, ``target.id``, ``target.name``, ``target.host``).
``TargetFacts`` is what the policy knows of a target, read from the engine (never from
the agent): its labels and state, and for a swarm service or node what the swarm rules
judge it by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NotRequired, TypedDict, Unpack

from operator_core.results import ContainerDetails

__all__ = ["Target", "TargetFacts", "TargetKind", "TargetSummary", "target_key"]

#: What a tool acts on.
TargetKind = Literal["container", "service", "node"]


class TargetSummary(TypedDict):
    """A target as denials, prompts, dry runs and the audit trail name it (``target.*``).

    Every kind has ``kind``, ``id``, ``short_id``, ``name`` (and ``host`` in a fleet);
    facts add ``status`` and a container's ``health``, a service's ``replicas`` or a
    node's ``role``.
    """

    kind: TargetKind
    id: str
    short_id: str
    name: str
    host: NotRequired[str]
    status: NotRequired[str | None]
    health: NotRequired[str | None]
    replicas: NotRequired[int | None]
    role: NotRequired[str | None]


@dataclass(frozen=True)
class Target:
    """One object an action acts on: a container, a swarm service or a swarm node.

    ``id`` is the engine's id (a container's, a service's or a node's); ``name`` a
    container's or service's name, or a node's hostname; ``host`` the fleet host it was
    reached through (None: the one engine of a single-host runner).
    """

    kind: TargetKind
    id: str
    name: str
    host: str | None = None

    @property
    def what(self) -> str:
        """Return ``service 'web' (abc123def456)`` for messages."""
        return f"{self.kind} {self.name!r} ({self.id[:12]})"

    def summary(self) -> TargetSummary:
        """Return kind, id, short id, name (and host in a fleet): the ``target.*`` labels."""
        summary: TargetSummary = {
            "kind": self.kind,
            "id": self.id,
            "short_id": self.id[:12],
            "name": self.name,
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


class _Facts(TypedDict, total=False):
    """The facts beside the target, as ``TargetFacts.of`` takes them."""

    labels: dict[str, str]
    status: str | None
    health: str | None
    image: str | None
    engine: str | None
    role: str | None
    replicas: int | None
    previous_replicas: int | None
    moving: tuple[TargetFacts, ...]
    node_hosts: tuple[str, ...]
    node_host_sure: bool


@dataclass(frozen=True)
class TargetFacts:
    """What the policy knows of a target: read from the engine, never from the agent.

    ``status`` is a container's state, a service's update state or a node's availability;
    ``role`` a node's (manager, worker); ``replicas`` a replicated service's desired count.
    """

    target: Target
    labels: dict[str, str] = field(default_factory=dict)
    status: str | None = None
    health: str | None = None
    image: str | None = None
    #: Who holds it, as the engine says (never as it was named): the engine's ID for a
    #: container, the swarm's cluster ID for a service or node (``engine_identity``).
    engine: str | None = None
    role: str | None = None
    replicas: int | None = None
    #: The replicas a rollback would give (its previous spec's; None: none known).
    previous_replicas: int | None = None
    #: A node's services that a drain would move (read from the manager before acting).
    moving: tuple[TargetFacts, ...] = ()
    #: The inventory hosts a node is (by the engine's node id), or may be (one that did
    #: not answer, when ``node_host_sure`` is false); empty: no inventory host.
    node_hosts: tuple[str, ...] = ()
    node_host_sure: bool = True

    @classmethod
    def of(
        cls,
        kind: TargetKind,
        id: str,
        name: str,
        host: str | None = None,
        **facts: Unpack[_Facts],
    ) -> TargetFacts:
        """Return the facts of the ``kind`` target ``id``/``name`` (``facts``: the rest)."""
        return cls(Target(kind, id, name, host), **facts)

    @classmethod
    def from_inspect(cls, data: ContainerDetails, host: str | None = None) -> TargetFacts:
        """Return the facts of an ``inspect_container`` result (from ``host`` in a fleet).

        Read leniently (``.get``): an executor written to the seed's shape, with ``id``
        and no ``container_id``, still gives the facts the policy needs.
        """
        state = data.get("state") or {}
        return cls(
            Target(
                "container",
                str(data.get("container_id") or data["id"]),
                str(data.get("name") or "").lstrip("/"),
                host,
            ),
            labels=dict(data.get("labels") or {}),
            status=state.get("status"),
            health=state.get("health"),
            image=data.get("image"),
        )

    @property
    def kind(self) -> TargetKind:
        """The target's kind."""
        return self.target.kind

    @property
    def id(self) -> str:
        """The target's id."""
        return self.target.id

    @property
    def name(self) -> str:
        """The target's name (a node's hostname)."""
        return self.target.name

    @property
    def host(self) -> str | None:
        """The fleet host the target was reached through."""
        return self.target.host

    @property
    def what(self) -> str:
        """Return ``container 'web' (abc123def456)`` (or service, node) for messages."""
        return self.target.what

    @property
    def key(self) -> str:
        """What locks and rate limits count by: ``engine/id`` (``id@host`` before it is known)."""
        return target_key(self.id, self.host, self.engine)

    def summary(self) -> TargetSummary:
        """Return the target's labels and what the policy judged it by (no labels).

        A container's status and health; a service's status and replicas; a node's
        status and role. Every kind has ``kind``, ``id``, ``short_id``, ``name`` (and
        ``host`` in a fleet): one vocabulary in denials, prompts and results.
        """
        summary = self.target.summary()
        summary["status"] = self.status
        if self.kind == "container":
            summary["health"] = self.health
        elif self.kind == "node":
            summary["role"] = self.role
        else:
            summary["replicas"] = self.replicas
        return summary
