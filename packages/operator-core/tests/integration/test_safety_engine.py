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
from operator_core.policy import AutoDetect, Policy, detect_own_container_ids
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
        assert request.summary["name"] == name
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


def _capture(engine: DockerClient, name: str, root: Path) -> str:
    """Copy what the operator reads to find itself, as seen inside ``name``, under ``root``.

    ``docker exec`` runs ``cat`` inside the container (its cgroup, its mount namespace,
    its UTS namespace), so the files are what a process of that container reads. Returns
    the container's hostname.
    """
    (root / "proc/self").mkdir(parents=True)
    for path in ("proc/self/mountinfo", "proc/self/cgroup"):
        (root / path).write_text(str(engine.execute(name, ["cat", f"/{path}"])) + "\n")
    if (
        str(
            engine.execute(name, ["sh", "-c", "test -e /.dockerenv && echo yes || echo no"])
        ).strip()
        == "yes"
    ):
        (root / ".dockerenv").touch()
    return str(engine.execute(name, ["hostname"])).strip()


async def test_the_operators_container_stays_protected_behind_a_shared_network(
    engine, containers, executor, tmp_path
):
    """Inside a container run with --network container:other, both are its candidates.

    /etc/hostname, hosts and resolv.conf and the hostname are the other container's
    there; only the cgroup names the container itself. Detection returns both ids (the
    evidence disagrees), and a dry-run stop of either is denied as protected.self.
    """
    other = containers.run(*HANDLES_SIGTERM)
    operator = containers.run(*HANDLES_SIGTERM, networks=[f"container:{other}"])
    ids = {n: engine.container.inspect(n).id for n in (other, operator)}
    hostname = _capture(engine, operator, tmp_path / "root")
    found = detect_own_container_ids(tmp_path / "root", hostname=lambda: hostname)
    assert ids[operator] in found  # the cgroup: the container itself
    assert ids[other] in found  # the network files: whose namespace it shares
    run = ToolRunner(
        executor,
        policy=Policy(mode="execute", dry_run=True, approval={"risks": []}),
        audit=SQLiteAuditSink(tmp_path / "audit.sqlite3"),
        own_container_id=found,
    )
    for name in (operator, other):
        envelope = await run.execute_tool("docker_stop_container", {"container_id": name})
        assert envelope["ok"] is False, envelope
        assert envelope["error"]["rule"] == "protected.self"
        assert engine.container.inspect(name).state.running is True


async def test_the_operators_container_stays_protected_in_a_private_cgroup_namespace(
    engine, containers, executor, tmp_path
):
    """--cgroupns private --network container:other: the engine names our root's layer.

    There /proc/self/cgroup and the cgroup mount roots name no container (cgroup v2's
    default), and the network files and hostname are the other container's. The root
    filesystem's overlay upperdir is the container's own layer: before its first action
    the runner asks the engine whose it is, so both containers are protected and a
    dry-run stop of either is denied as protected.self.
    """
    other = containers.run(*HANDLES_SIGTERM)
    operator = containers.run(*HANDLES_SIGTERM, cgroupns="private", networks=[f"container:{other}"])
    ids = {n: engine.container.inspect(n).id for n in (other, operator)}
    root = tmp_path / "root"
    hostname = _capture(engine, operator, root)
    assert ids[operator][:12] not in (root / "proc/self/cgroup").read_text()
    assert detect_own_container_ids(root, hostname=lambda: hostname) == {ids[other]}
    run = ToolRunner(
        executor,
        policy=Policy(mode="execute", dry_run=True, approval={"risks": []}),
        audit=SQLiteAuditSink(tmp_path / "audit.sqlite3"),
        own_container_id=AutoDetect(root=root, hostname=lambda: hostname),
    )
    for name in (operator, other):
        envelope = await run.execute_tool("docker_stop_container", {"container_id": name})
        assert envelope["ok"] is False, envelope
        assert envelope["error"]["rule"] == "protected.self"
        assert engine.container.inspect(name).state.running is True
    assert run.guard.own_container_ids == {ids[other], ids[operator]}
