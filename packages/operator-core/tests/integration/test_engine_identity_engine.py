"""The engine's identity, read from real engines: one engine however it is named."""

from __future__ import annotations

from python_on_whales import DockerClient
from swarm_helpers import find_swarm_lab

from operator_core.docker import DockerActionExecutor
from operator_core.fleet import Inventory


async def test_two_spellings_of_one_socket_are_one_engine(engine: DockerClient) -> None:
    """`unix:///var/run/docker.sock` and `unix:////var/run/docker.sock` give one engine ID."""
    plain = DockerActionExecutor(DockerClient(host="unix:///var/run/docker.sock"))
    odd = DockerActionExecutor(DockerClient(host="unix:////var/run/docker.sock"))
    first, second = await plain.engine_identity(), await odd.engine_identity()
    assert first["engine_id"] == second["engine_id"]
    assert first["engine_id"].count(":") >= 3  # docker info's ID, not a URL


async def test_lab_swarm_members_share_a_cluster_and_differ_in_engine(lab: Inventory) -> None:
    """Managers say the cluster ID (a worker does not); every node has its own engine ID."""
    swarm, why = find_swarm_lab()
    assert swarm is not None, why
    identities = {
        name: await DockerActionExecutor(DockerClient(host=socket)).engine_identity()
        for name, socket in swarm.sockets.items()
    }
    assert identities[swarm.manager]["cluster_id"]
    assert all(identities[w]["cluster_id"] is None for w in swarm.workers)
    assert all(identity["node_id"] for identity in identities.values())
    assert len({identity["engine_id"] for identity in identities.values()}) == len(identities)
    assert identities[swarm.manager]["manager"] is True
    assert all(identities[w]["manager"] is False for w in swarm.workers)
    local = await DockerActionExecutor().engine_identity()
    assert local["engine_id"] not in {i["engine_id"] for i in identities.values()}
