"""The engine's identity: read from ``docker info``, cached, never guessed from a URL."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from operator_core.docker.engine_identity import identity_of
from operator_core.errors import EngineError


def _info(state: str = "inactive", manager: bool = False, engine_id: str = "AAAA:BBBB") -> Any:
    cluster = SimpleNamespace(id="cluster-1") if state == "active" else None
    swarm = SimpleNamespace(
        local_node_state=state,
        node_id="node-1" if state == "active" else "",
        cluster=cluster,
        control_available=manager,
    )
    return SimpleNamespace(id=engine_id, name="host-a", swarm=swarm)


def test_outside_a_swarm_only_the_engine_id_is_known() -> None:
    """An engine in no swarm has an engine ID and no cluster, node or manager role."""
    assert identity_of(_info()) == {
        "engine_id": "AAAA:BBBB",
        "engine_name": "host-a",
        "cluster_id": None,
        "node_id": None,
        "manager": False,
    }


def test_a_swarm_manager_says_its_cluster_and_node() -> None:
    """An active swarm member carries the cluster ID and node ID; a manager says so."""
    identity = identity_of(_info("active", manager=True))
    assert (identity["cluster_id"], identity["node_id"], identity["manager"]) == (
        "cluster-1",
        "node-1",
        True,
    )
    assert identity_of(_info("active"))["manager"] is False


def test_a_pending_swarm_member_is_not_in_a_swarm() -> None:
    """A node still joining (state pending) has no cluster to be keyed by yet."""
    assert identity_of(_info("pending"))["cluster_id"] is None


def test_an_engine_without_an_id_is_an_engine_error() -> None:
    """No ID is never keyed as the empty string: it is an engine error."""
    with pytest.raises(EngineError, match="no ID"):
        identity_of(_info(engine_id=""))
