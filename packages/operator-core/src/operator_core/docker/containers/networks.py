"""Connect containers to networks and cut them off."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from operator_core.docker._engine import reads as _reads
from operator_core.docker._engine.acting import act_then_read
from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.fields import obj, text
from operator_core.docker._engine.state import Snapshot, from_json
from operator_core.errors import ContainerStateError, InvalidInput
from operator_core.results import NetworkMember, NetworkMembers, NetworkResult
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
    endpoint: dict[str, object] | None

    @property
    def aliases(self) -> list[str]:
        """The container's network-scoped aliases on that network."""
        found = (self.endpoint or {}).get("Aliases")
        return [str(alias) for alias in found] if isinstance(found, list) else []


def _identity(found: dict[str, object]) -> _Network:
    """Return a network's id and name from ``network inspect`` output.

    Docker writes ``Id``/``Name``; Podman writes ``id``/``name`` (and lists no
    ``Containers``).
    """
    return _Network(
        id=text(found.get("Id") or found.get("id")) or "",
        name=text(found.get("Name") or found.get("name")) or "",
    )


async def _network(api: EngineClient, reference: str) -> _Network:
    """Return the network ``reference`` names (NetworkNotFound when none)."""
    return _identity(await api.get_object(f"/networks/{reference}"))


def _member(data: dict[str, object], network: _Network) -> _Member:
    """Return the container ``data`` (an inspect) describes and its endpoint on ``network``."""
    endpoints = obj(obj(data.get("NetworkSettings")).get("Networks"))
    endpoint = next(
        (
            obj(ep)
            for name, ep in endpoints.items()
            if name == network.name or obj(ep).get("NetworkID") == network.id
        ),
        None,
    )
    return _Member(snap=from_json(data), endpoint=endpoint)


async def _read(api: EngineClient, reference: str, network: _Network) -> _Member:
    """Read container ``reference`` once and find its endpoint on ``network``."""
    return _member(await api.get_object(f"/containers/{reference}/json"), network)


async def _resolve(api: EngineClient, reference: str, network_ref: str) -> tuple[_Member, _Network]:
    """Read both, the container first, so that the error names whichever is missing."""
    data = await api.get_object(f"/containers/{reference}/json")
    network = await _network(api, network_ref)
    return _member(data, network), network


async def _change(
    api: EngineClient,
    member: _Member,
    network: _Network,
    act: Callable[[], Awaitable[object]],
    done: Callable[[_Member], bool],
) -> tuple[_Member, bool]:
    """Run ``act`` on ``member`` and ``network``; see ``act_then_read``."""
    return await act_then_read(act, lambda: _read(api, member.snap.id, network), done)


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


async def _members(api: EngineClient, reference: str) -> NetworkMembers:
    """Return the network and every container attached to it, with its names on it.

    ``docker network inspect`` lists the attached containers (running ones: a stopped
    container has no endpoint); one ``docker container inspect`` of them all gives their
    labels and their aliases on this network (``Aliases``, and ``DNSNames`` on newer
    engines). Swarm's load-balancer endpoints (``lb-...``) are not containers and are left
    out.
    """
    found = await api.get_object(f"/networks/{reference}")
    net = _identity(found)
    ids = sorted(key for key in obj(found.get("Containers")) if _CONTAINER_ID.fullmatch(key))
    inspected, _ = await _reads.inspect_many(api, ids)
    return {
        "network": net.name,
        "network_id": net.id,
        "containers": [_names_on(inspected[ref], net) for ref in ids if ref in inspected],
    }


def _names_on(data: dict[str, object], net: _Network) -> NetworkMember:
    """Return one container's id, name, labels and its aliases on ``net``."""
    endpoints = obj(obj(data.get("NetworkSettings")).get("Networks"))
    endpoint = obj(endpoints.get(net.name)) or next(
        (obj(ep) for ep in endpoints.values() if obj(ep).get("NetworkID") == net.id), {}
    )
    names: list[str] = []
    for key in ("Aliases", "DNSNames"):
        listed = endpoint.get(key)
        names += [str(item) for item in listed] if isinstance(listed, list) else []
    snap = from_json(data)
    return {"id": snap.id, "name": snap.name, "labels": snap.labels, "aliases": sorted(set(names))}


_CONTAINER_ID = re.compile(r"[0-9a-f]{64}")


class NetworkActions(ExecutorCore):
    """Connect containers to networks and cut them off."""

    async def network_members(self, network: str) -> NetworkMembers:
        """Return the containers attached to ``network``: id, name, labels, aliases on it.

        The policy reads it before a connect with an alias, so that no container takes
        over a name another one answers to on that network.
        """
        net_ref = validate_reference(network, what="network")
        return await self._call(
            f"list the containers on network {net_ref}",
            lambda: _members(self._api, net_ref),
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

        async def work() -> NetworkResult:
            member, net = await _resolve(self._api, ref, net_ref)
            if _attached(member):
                _check_alias(member, net, name)
                return _result(member, net, changed=False)
            body: dict[str, object] = {"Container": member.snap.id}
            if name is not None:
                body["EndpointConfig"] = {"Aliases": [name]}

            def act() -> Awaitable[object]:
                return self._api.post(f"/networks/{net.id}/connect", body=body, answer=False)

            after, changed = await _change(self._api, member, net, act, _attached)
            if not changed:
                _check_alias(after, net, name)
            return _result(after, net, changed=changed)

        return await self._call(f"connect {ref} to {net_ref}", work, container=ref, network=net_ref)

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

        async def work() -> NetworkResult:
            member, net = await _resolve(self._api, ref, net_ref)
            if _detached(member):
                return _result(member, net, changed=False)
            body = {"Container": member.snap.id, "Force": force}

            def act() -> Awaitable[object]:
                return self._api.post(f"/networks/{net.id}/disconnect", body=body, answer=False)

            after, changed = await _change(self._api, member, net, act, _detached)
            return _result(after, net, changed=changed)

        return await self._call(
            f"disconnect {ref} from {net_ref}", work, container=ref, network=net_ref
        )
