"""Every container result names its container the same way, read from a real engine."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from python_on_whales import DockerClient

from operator_core.docker import DockerActionExecutor
from operator_core.testing import IGNORES_SIGTERM

FULL_ID = re.compile(r"[0-9a-f]{64}")


def _named(result: Any, name: str) -> str:
    """Assert the identity block names ``name`` by its full id; return that id."""
    assert FULL_ID.fullmatch(result["container_id"]), result
    assert result["name"] == name
    assert not result["name"].startswith("/")
    return str(result["container_id"])


@pytest.mark.usefixtures("engine")
async def test_every_container_result_carries_the_full_id_and_the_name(
    engine: DockerClient, containers: Any
) -> None:
    """container_id (64 hex) and name (no slash) at top level of every container result.

    Actions, inspect (which keeps id and the nested state), each list entry and each
    batch entry (which keep id) all carry the same identity, read from the engine.
    """
    group = {"org.operator-core.group": uuid.uuid4().hex}
    name = containers.run(*IGNORES_SIGTERM, labels=group)
    network = containers.network()
    executor = DockerActionExecutor(engine)
    short = name  # the name is the reference given: results still carry the full id

    details = await executor.inspect_container(short)
    full = _named(details, name)
    assert details["id"] == full
    assert details["state"]["running"] is True

    label = "=".join(next(iter(group.items())))
    (entry,) = (await executor.list_containers(label=label))["containers"]
    assert _named(entry, name) == full
    assert entry["id"] == full
    (found,) = (await executor.inspect_containers([full[:12]]))["containers"]
    assert _named(found, name) == full
    assert found["id"] == full

    calls = [
        executor.get_container_logs(short, tail=1),
        executor.execute_command(short, ["true"]),
        executor.wait_for_container(short, "running", timeout=5),
        executor.connect_container_to_network(short, network),
        executor.disconnect_container_from_network(short, network),
        executor.pause_container(short),
        executor.unpause_container(short),
        executor.kill_container(short, "SIGHUP"),
        executor.restart_container(short, timeout=0),
        executor.stop_container(short, timeout=0),
        executor.start_container(short),
    ]
    for call in calls:
        assert _named(await call, name) == full
