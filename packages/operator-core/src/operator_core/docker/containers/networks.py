"""Connect containers to networks and cut them off."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from operator_core.docker._engine import cli as _engine
from operator_core.docker._engine.acting import act_and_confirm
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.state import Snapshot, snapshot
from operator_core.errors import ContainerStateError, InvalidInput
from operator_core.results import NetworkResult
from operator_core.validate import validate_reference

__all__ = ["NetworkActions"]


@dataclass(frozen=True)
class _Network:
    """A network as ``docker network inspect`` names it."""

    id: str
    name: str


@dataclass(frozen=True)
class _Member:
    """A container read once, and its endpoint on one network (None when not attached)."""

    snap: Snapshot
    endpoint: Any

    @property
    def aliases(self) -> list[str]:
        """The container's network-scoped aliases on that network."""
        return list(getattr(self.endpoint, "aliases", None) or [])


def _identity(found: dict[str, Any]) -> _Network:
    """Return a network's id and name from ``network inspect`` output.

    Docker writes ``Id``/``Name``; Podman writes ``id``/``name`` (and lists no
    ``Containers``).
    """
    return _Network(
        id=str(found.get("Id") or found.get("id") or ""),
        name=str(found.get("Name") or found.get("name") or ""),
    )


def _network(client: Any, reference: str) -> _Network:
    """Return the network ``reference`` names (NoSuchNetwork, translated, when none)."""
    found = json.loads(_engine.run_cli(client, ["network", "inspect", reference]))
    return _identity(found[0])


def _member(model: Any, network: _Network) -> _Member:
    """Return the container ``model`` describes and its endpoint on ``network``."""
    settings = model.network_settings
    endpoints = (getattr(settings, "networks", None) if settings is not None else None) or {}
    endpoint = next(
        (
            ep
            for name, ep in endpoints.items()
            if name == network.name or getattr(ep, "network_id", None) == network.id
        ),
        None,
    )
    return _Member(snap=snapshot(model), endpoint=endpoint)


def _read(client: Any, reference: str, network: _Network) -> _Member:
    """Read container ``reference`` once and find its endpoint on ``network``."""
    return _member(_engine.inspect_model(client, reference), network)


def _resolve(client: Any, reference: str, network_ref: str) -> tuple[_Member, _Network]:
    """Read both, the container first, so that the error names whichever is missing."""
    model = _engine.inspect_model(client, reference)
    network = _network(client, network_ref)
    return _member(model, network), network


def _change(
    client: Any,
    member: _Member,
    network: _Network,
    act: Callable[[], None],
    done: Callable[[_Member], bool],
) -> tuple[_Member, bool]:
    """Run ``act`` on ``member`` and ``network``; see ``act_and_confirm``."""
    return act_and_confirm(act, lambda: _read(client, member.snap.id, network), done)


def _check_alias(member: _Member, network: _Network, alias: str | None) -> None:
    """Refuse to call a connection without the alias asked for a success."""
    if alias is not None and alias not in member.aliases:
        raise ContainerStateError(
            f"container {member.snap.name!r} is already connected to network {network.name!r} "
            f"without the alias {alias!r}; disconnect it first to change its aliases"
        )


def _result(member: _Member, network: _Network, changed: bool) -> NetworkResult:
    """Return what a connect or disconnect reports."""
    return {
        **member.snap.names(),
        "network": network.name,
        "network_id": network.id,
        "connected": member.endpoint is not None,
        "aliases": member.aliases,
        "networks": member.snap.networks,
        "changed": changed,
    }


def _attached(member: _Member) -> bool:
    """Whether the container has an endpoint on the network."""
    return member.endpoint is not None


def _detached(member: _Member) -> bool:
    """Whether the container has no endpoint on the network."""
    return member.endpoint is None


def _members(client: Any, reference: str) -> dict[str, Any]:
    """Return the network and every container attached to it, with its names on it.

    ``docker network inspect`` lists the attached containers (running ones: a stopped
    container has no endpoint); one ``docker container inspect`` of them all gives their
    labels and their aliases on this network (``Aliases``, and ``DNSNames`` on newer
    engines). Swarm's load-balancer endpoints (``lb-...``) are not containers and are left
    out.
    """
    found = json.loads(_engine.run_cli(client, ["network", "inspect", reference]))[0]
    net = _identity(found)
    ids = sorted(key for key in (found.get("Containers") or {}) if _CONTAINER_ID.fullmatch(key))
    inspected = json.loads(_engine.run_cli(client, ["container", "inspect", *ids])) if ids else []
    return {
        "network": net.name,
        "network_id": net.id,
        "containers": [_names_on(data, net) for data in inspected],
    }


def _names_on(data: dict[str, Any], net: _Network) -> dict[str, Any]:
    """Return one container's id, name, labels and its aliases on ``net``."""
    endpoints = (data.get("NetworkSettings") or {}).get("Networks") or {}
    endpoint = endpoints.get(net.name) or next(
        (ep for ep in endpoints.values() if (ep or {}).get("NetworkID") == net.id), None
    )
    names = [*((endpoint or {}).get("Aliases") or ()), *((endpoint or {}).get("DNSNames") or ())]
    return {
        "id": str(data["Id"]),
        "name": str(data.get("Name") or "").lstrip("/"),
        "labels": dict((data.get("Config") or {}).get("Labels") or {}),
        "aliases": sorted(set(names)),
    }


_CONTAINER_ID = re.compile(r"[0-9a-f]{64}")


class NetworkActions(ExecutorCore):
    """Connect containers to networks and cut them off."""

    async def network_members(self, network: str) -> dict[str, Any]:
        """Return the containers attached to ``network``: id, name, labels, aliases on it.

        The policy reads it before a connect with an alias, so that no container takes
        over a name another one answers to on that network.
        """
        net_ref = validate_reference(network, what="network")
        return await self._run(
            f"list the containers on network {net_ref}",
            lambda client: _members(client, net_ref),
            network=net_ref,
        )

    async def connect_container_to_network(
        self, container_id: str, network: str, alias: str | None = None
    ) -> NetworkResult:
        """Attach a container to a network, optionally under ``alias``.

        One already attached is left alone (``changed`` false), unless it lacks the alias
        asked for (ContainerStateError). Returns the container's ``networks`` after.
        """
        ref = validate_reference(container_id)
        net_ref = validate_reference(network, what="network")
        name = None if alias is None else validate_reference(alias, what="alias")

        def work(client: Any) -> NetworkResult:
            member, net = _resolve(client, ref, net_ref)
            if _attached(member):
                _check_alias(member, net, name)
                return _result(member, net, changed=False)

            def act() -> None:
                client.network.connect(net.id, member.snap.id, alias=name)

            after, changed = _change(client, member, net, act, _attached)
            if not changed:
                _check_alias(after, net, name)
            return _result(after, net, changed=changed)

        return await self._run(f"connect {ref} to {net_ref}", work, container=ref, network=net_ref)

    async def disconnect_container_from_network(
        self, container_id: str, network: str, force: bool = False
    ) -> NetworkResult:
        """Detach a container from a network; one not attached is left alone (``changed`` false).

        ``force`` is docker's ``--force``. Returns the container's ``networks`` after.
        """
        ref = validate_reference(container_id)
        net_ref = validate_reference(network, what="network")
        if not isinstance(force, bool):
            raise InvalidInput(f"force must be true or false, got {type(force).__name__}")

        def work(client: Any) -> NetworkResult:
            member, net = _resolve(client, ref, net_ref)
            if _detached(member):
                return _result(member, net, changed=False)

            def act() -> None:
                client.network.disconnect(net.id, member.snap.id, force=force)

            after, changed = _change(client, member, net, act, _detached)
            return _result(after, net, changed=changed)

        return await self._run(
            f"disconnect {ref} from {net_ref}", work, container=ref, network=net_ref
        )
