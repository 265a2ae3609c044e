"""``Fleet`` on the lab's real engines (``scripts/lab.sh up 3``: one reached over SSH)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lab_helpers import (
    LabContainers,
    SilentServer,
    local_socket,
    with_extra_hosts,
)

from operator_core.fleet import Fleet, Inventory, inventory_from_dict
from operator_core.testing import unique_name

#: Where scripts/lab.sh has its sshd write its log.
SSHD_LOG = Path("/var/lib/operator-lab/sshd.log")


def ssh_logins() -> int:
    """Return how many SSH logins the lab's sshd has accepted so far."""
    return SSHD_LOG.read_text().count("Accepted publickey")


def ssh_host(lab: Inventory) -> str:
    """Return the name of the lab host reached over SSH."""
    return next(name for name, h in lab.hosts.items() if (h.url or "").startswith("ssh://"))


async def test_check_reaches_every_lab_engine_including_the_ssh_one(lab: Inventory):
    """Every host answers with its engine version, container counts and a round trip."""
    async with Fleet(lab) as fleet:
        report = await fleet.check()
    assert report["reachable"] == len(lab.names)
    for entry in report["hosts"]:
        assert entry["reachable"] is True, entry
        assert entry["engine_version"]
        assert entry["containers_total"] >= entry["containers_running"] >= 0
        assert entry["latency_ms"] > 0


async def test_a_fleet_listing_keeps_the_same_name_on_each_host_apart(
    lab: Inventory, made: LabContainers
):
    """One name on three hosts is three containers, each listed with its own host and id."""
    name = unique_name("fleet")
    for host in lab.names:
        made.run(host, "sleep", "300", name=name)
    async with Fleet(lab) as fleet:
        listing = await fleet.list_containers(name=name)
    assert listing["host_errors"] == []
    assert sorted(entry["host"] for entry in listing["containers"]) == sorted(lab.names)
    assert {entry["name"] for entry in listing["containers"]} == {name}
    assert len({entry["id"] for entry in listing["containers"]}) == len(lab.names)


async def test_an_action_on_one_host_leaves_the_same_name_elsewhere_alone(
    lab: Inventory, made: LabContainers
):
    """Stopping 'x' on the SSH host stops that one; 'x' on the default host keeps running."""
    name = unique_name("fleet")
    remote = ssh_host(lab)
    for host in (lab.default, remote):
        made.run(host, "sleep", "300", name=name)
    async with Fleet(lab) as fleet:
        result = await fleet.executor(remote).stop_container(name, timeout=1)
    assert result["changed"] is True
    assert made.state(remote, name) == "exited"
    assert made.state(lab.default, name) == "running"


async def test_dead_and_hung_hosts_are_reported_while_the_others_are_listed(
    lab: Inventory, made: LabContainers, tmp_path: Path
):
    """A refused socket is engine_unreachable, a silent one a timeout; the lab still lists."""
    name = unique_name("fleet")
    for host in lab.names:
        made.run(host, "sleep", "300", name=name)
    hung = SilentServer(tmp_path / "hung.sock")
    extra = {
        "dead": {"url": f"unix://{tmp_path / 'dead.sock'}", "deadline_s": 3},
        "hung": {"url": hung.url, "deadline_s": 3},
    }
    try:
        async with Fleet(inventory_from_dict(with_extra_hosts(lab, extra))) as fleet:
            listing = await fleet.list_containers(name=name)
            report = await fleet.check()
    finally:
        hung.close()
    assert sorted(entry["host"] for entry in listing["containers"]) == sorted(lab.names)
    errors = {entry["host"]: entry["type"] for entry in listing["host_errors"]}
    assert errors == {"dead": "engine_unreachable", "hung": "timeout"}
    states = {entry["host"]: entry["reachable"] for entry in report["hosts"]}
    assert states == {**dict.fromkeys(lab.names, True), "dead": False, "hung": False}


async def test_ssh_calls_reuse_one_connection(lab: Inventory, made: LabContainers):
    """Repeated calls over ssh:// authenticate no more: the ControlMaster carries them all."""
    remote = ssh_host(lab)
    name = made.run(remote, "sleep", "300")
    async with Fleet(lab) as fleet:
        executor = fleet.executor(remote)
        first = await executor.inspect_container(name)  # opens the master if none is open
        logins = await asyncio.to_thread(ssh_logins)
        for _ in range(5):
            again = await executor.inspect_container(name)
            assert again["id"] == first["id"]
        assert await asyncio.to_thread(ssh_logins) == logins
    # The same container read through the engine's own socket: SSH reached that engine.
    direct = inventory_from_dict({"hosts": {"s": {"url": local_socket(lab.host(remote))}}})
    async with Fleet(direct) as fleet:
        same = await fleet.executor("s").inspect_container(name)
    assert same["id"] == first["id"]
