"""Safety holes of issue 9, closed against a real engine.

Rename races, network alias takeover, and the operator's own container behind a shared
network namespace.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from python_on_whales import DockerClient

from operator_core.audit import SQLiteAuditSink
from operator_core.docker import DockerActionExecutor
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.testing import HANDLES_SIGTERM, unique_name


@pytest.fixture
def executor(engine: DockerClient) -> DockerActionExecutor:
    """An executor on the local engine."""
    return DockerActionExecutor(engine)


def _runner(executor: DockerActionExecutor, tmp_path: Path, **policy: Any) -> ToolRunner:
    """Return a runner in execute mode over the real executor, auditing to SQLite."""
    approver = policy.pop("approver", None)
    return ToolRunner(
        executor,
        policy=Policy(mode="execute", **policy),
        audit=SQLiteAuditSink(tmp_path / "audit.sqlite3"),
        approver=approver,
        own_container_id=None,
    )


async def test_a_container_renamed_into_protection_while_approval_is_pending_keeps_running(
    engine, containers, executor, tmp_path
):
    """The approver renames 'web' to 'prot-…' and then says yes: denied, still running."""
    name = containers.run(*HANDLES_SIGTERM)
    new_name = unique_name("prot")
    containers.names.append(new_name)  # removed after the test under its new name
    started_at = engine.container.inspect(name).state.started_at

    async def rename_then_approve(request: Any) -> bool:
        assert request.container["name"] == name
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, engine.container.rename, name, new_name)
        return True

    run = _runner(
        executor,
        tmp_path,
        protected={"patterns": ["prot-*"]},
        approval={"risks": ["high"]},
        approver=rename_then_approve,
    )
    envelope = await run.execute_tool("docker_stop_container", {"container_id": name, "timeout": 1})
    assert envelope["ok"] is False, envelope
    assert envelope["error"]["rule"] == "changed.protection"
    assert envelope["error"]["details"]["now_refused_by"] == "protected.patterns"
    after = engine.container.inspect(new_name)
    assert after.state.running is True
    assert after.state.started_at == started_at


def _networks_of(engine: DockerClient, name: str) -> set[str]:
    """Return the networks the engine says ``name`` is attached to."""
    return set(engine.container.inspect(name).network_settings.networks or {})


async def test_an_alias_cannot_take_over_a_protected_containers_name(
    engine, containers, executor, tmp_path
):
    """Connecting a container under alias=<protected pg's name> is denied; it stays off."""
    network = containers.network()
    pg = containers.run(*HANDLES_SIGTERM, networks=[network])
    cache = containers.run(*HANDLES_SIGTERM, networks=[network], network_aliases=["redis"])
    attacker = containers.run(*HANDLES_SIGTERM)
    run = _runner(executor, tmp_path, protected={"names": [pg]}, approval={"risks": []})
    for alias, rule in ((pg, "alias.protected"), ("redis", "alias.taken"), (cache, "alias.taken")):
        envelope = await run.execute_tool(
            "docker_connect_container_to_network",
            {"container_id": attacker, "network": network, "alias": alias},
        )
        assert envelope["ok"] is False, envelope
        assert envelope["error"]["rule"] == rule
        assert envelope["error"]["details"]["owner"]["name"] in (pg, cache)
        assert network not in _networks_of(engine, attacker)
    fresh = await run.execute_tool(
        "docker_connect_container_to_network",
        {"container_id": attacker, "network": network, "alias": "attacker-2"},
    )
    assert fresh["ok"] is True, fresh
    assert network in _networks_of(engine, attacker)
