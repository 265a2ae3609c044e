"""``engine_identity``: who an engine says it is, the one key for anything per engine.

An engine can be named many ways (``unix:///run/docker.sock``, ``unix:////run/docker.sock``,
a symlink, a context, ``localhost`` vs ``127.0.0.1``, an ssh URL): none of those spellings
is a key. What the engine itself says is: its ``ID`` in ``docker info``, and, when it is in
a swarm, the cluster's ID. Rate limits, locks, history cursors and heal leases are keyed on
these, never on how the engine was reached.

The identity is read once (one ``GET /info``) and kept for ``IDENTITY_TTL_S`` seconds of
the executor's clock, so keying a call costs no engine round trip after the first; a swarm
joined or left is seen within that time.
"""

from __future__ import annotations

from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.fields import obj, text
from operator_core.errors import EngineError
from operator_core.results import EngineIdentity

__all__ = ["IDENTITY_TTL_S", "IdentityActions", "identity_from_json", "identity_of"]

#: How long a read identity is reused before ``docker info`` is asked again.
IDENTITY_TTL_S = 60.0


def identity_of(info: object) -> EngineIdentity:
    """Return the identity in python-on-whales' ``SystemInfo`` ``info``."""
    engine_id = str(getattr(info, "id", "") or "")
    if not engine_id:
        raise EngineError("the engine's `docker info` gave no ID")
    swarm = getattr(info, "swarm", None)
    cluster = getattr(swarm, "cluster", None) if swarm is not None else None
    cluster_id = getattr(cluster, "id", None) if cluster is not None else None
    node_id = getattr(swarm, "node_id", None) if swarm is not None else None
    state = str(getattr(swarm, "local_node_state", "") or "") if swarm is not None else ""
    in_swarm = state == "active" and bool(node_id)
    return {
        "engine_id": engine_id,
        "engine_name": str(getattr(info, "name", "") or "") or None,
        "cluster_id": str(cluster_id) if in_swarm and cluster_id else None,
        "node_id": str(node_id) if in_swarm else None,
        "manager": bool(in_swarm and getattr(swarm, "control_available", False)),
    }


def identity_from_json(info: dict[str, object]) -> EngineIdentity:
    """Return the identity in the engine's ``GET /info`` answer."""
    engine_id = text(info.get("ID")) or ""
    if not engine_id:
        raise EngineError("the engine's GET /info gave no ID")
    swarm = obj(info.get("Swarm"))
    node_id = text(swarm.get("NodeID")) or None
    cluster_id = text(obj(swarm.get("Cluster")).get("ID")) or None
    in_swarm = text(swarm.get("LocalNodeState")) == "active" and node_id is not None
    return {
        "engine_id": engine_id,
        "engine_name": text(info.get("Name")) or None,
        "cluster_id": cluster_id if in_swarm else None,
        "node_id": node_id if in_swarm else None,
        "manager": in_swarm and swarm.get("ControlAvailable") is True,
    }


class IdentityActions(ExecutorCore):
    """``engine_identity``: the engine's own ID and swarm membership, cached briefly."""

    _identity: tuple[float, EngineIdentity] | None = None

    async def engine_identity(self, *, refresh: bool = False) -> EngineIdentity:
        """Return the engine's ``engine_id`` (``docker info``'s ID) and swarm identity.

        ``cluster_id`` and ``node_id`` are None outside a swarm; ``manager`` says whether
        this engine can manage the swarm. Read once per ``IDENTITY_TTL_S`` (``refresh``
        reads again now).
        """
        now = self._clock()
        cached = self._identity
        if cached is not None and not refresh and now - cached[0] < IDENTITY_TTL_S:
            return cached[1].copy()
        info = await self._call("GET /info", lambda: self._api.get_object("/info"))
        identity = identity_from_json(info)
        self._identity = (now, identity)
        return identity.copy()
