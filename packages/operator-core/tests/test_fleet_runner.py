"""Tools over a fleet: the host argument, per-host policy, locks, limits and audit by host."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from operator_core.audit import AuditQuery, MemoryAuditSink, SQLiteAuditSink
from operator_core.errors import PolicyError
from operator_core.fleet import Fleet, FleetExecutor, inventory_from_dict
from operator_core.policy import Policy, policy_from_dict
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor

NO_APPROVAL = {"mode": "execute", "approval": {"risks": []}}


def fleet_runner(
    policy: dict[str, Any] | None = None, **runner: Any
) -> tuple[ToolRunner, dict[str, FakeExecutor]]:
    """Return a runner over hosts 'staging' (default) and 'prod', each running 'web'."""
    hosts = {"staging": FakeExecutor("web"), "prod": FakeExecutor("web", "db")}
    for name, fake in hosts.items():  # two engines: each says its own ID
        fake.identity = {**fake.identity, "engine_id": f"ENGINE:{name.upper()}"}
    inventory = inventory_from_dict(
        {
            "default": "staging",
            "hosts": {
                "staging": {"url": "unix:///s.sock", "labels": {"env": "staging"}},
                "prod": {"url": "ssh://ops@prod", "labels": {"env": "prod"}},
            },
        }
    )
    fleet = Fleet(
        inventory,
        client_factory=lambda entry: None,
        executor_factory=lambda entry, client: hosts[entry.name],
    )
    chosen = policy_from_dict(policy if policy is not None else NO_APPROVAL)
    run = ToolRunner(FleetExecutor(fleet), policy=chosen, own_container_id=None, **runner)
    return run, hosts


def verbs(fake: FakeExecutor) -> list[str]:
    """Return the methods a fake host was called with, in order."""
    return [method for method, _ in fake.calls]


def test_every_tool_takes_a_host_from_the_inventory():
    """The schema offers the inventory's names; listing says it covers every host by default."""
    run, _ = fleet_runner()
    for tool in run.tools("anthropic"):
        host = tool["input_schema"]["properties"]["host"]
        assert host["enum"] == ["staging", "prod"], tool["name"]
    about = {
        t["name"]: t["input_schema"]["properties"]["host"]["description"]
        for t in run.tools("anthropic")
    }
    assert "every host" in about["docker_list_containers"]
    assert about["docker_stop_container"] == "Default 'staging'."
    assert "swarm manager" in about["docker_scale_service"]
    assert about["docker_get_events"] == "Default 'staging'."


async def test_a_host_outside_the_inventory_is_an_invalid_argument_and_runs_nothing():
    """host='qa' is refused by validation, naming the hosts there are."""
    run, hosts = fleet_runner()
    envelope = await run.execute_tool(
        "docker_stop_container", {"container_id": "web", "host": "qa"}
    )
    assert envelope["error"]["type"] == "invalid_arguments"
    assert "staging" in envelope["error"]["message"]
    assert verbs(hosts["staging"]) == verbs(hosts["prod"]) == []


async def test_an_action_goes_to_the_host_named_and_is_recorded_with_it():
    """Stopping 'web' on prod stops prod's web only; the record and result say prod."""
    run, hosts = fleet_runner()
    envelope = await run.execute_tool(
        "docker_stop_container", {"container_id": "web", "host": "prod"}
    )
    assert envelope["ok"] is True, envelope
    assert envelope["result"]["host"] == "prod"
    assert "stop_container" in verbs(hosts["prod"])
    assert "stop_container" not in verbs(hosts["staging"])
    (record,) = run.audit.query(AuditQuery(tool="docker_stop_container"))
    assert record.host == "prod"
    assert run.audit.query(AuditQuery(host="staging")) == []


async def test_a_call_naming_no_host_goes_to_the_default_host():
    """Without host, a container tool acts on the inventory's default host."""
    run, hosts = fleet_runner()
    envelope = await run.execute_tool("docker_inspect_container", {"container_id": "web"})
    assert envelope["result"]["host"] == "staging"
    assert verbs(hosts["prod"]) == []


async def test_listing_without_a_host_covers_every_host_and_with_one_only_it():
    """Each entry names its host; one host asked lists that host alone."""
    run, _ = fleet_runner()
    every = await run.execute_tool("docker_list_containers", {"all": True})
    assert sorted((c["host"], c["name"]) for c in every["result"]["containers"]) == [
        ("prod", "db"),
        ("prod", "web"),
        ("staging", "web"),
    ]
    assert every["result"]["host_errors"] == []
    one = await run.execute_tool("docker_list_containers", {"host": "prod"})
    assert {c["host"] for c in one["result"]["containers"]} == {"prod"}


async def test_a_hosts_section_makes_that_host_observe_only():
    """[hosts.prod] mode = observe: a stop on prod is denied, on staging it runs."""
    run, hosts = fleet_runner({**NO_APPROVAL, "hosts": {"prod": {"mode": "observe"}}})
    denied = await run.execute_tool(
        "docker_stop_container", {"container_id": "web", "host": "prod"}
    )
    assert denied["error"]["rule"] == "mode.observe"
    assert "on host 'prod'" in denied["error"]["message"]
    assert verbs(hosts["prod"]) == []
    allowed = await run.execute_tool("docker_stop_container", {"container_id": "web"})
    assert allowed["ok"] is True


async def test_a_hosts_section_protects_more_there_only():
    """[hosts.prod] protected names apply on prod; the same name on staging may change."""
    policy = {**NO_APPROVAL, "hosts": {"prod": {"protected": {"names": ["web"]}}}}
    run, _ = fleet_runner(policy)
    denied = await run.execute_tool(
        "docker_restart_container", {"container_id": "web", "host": "prod"}
    )
    assert denied["error"]["rule"] == "protected.names"
    allowed = await run.execute_tool(
        "docker_restart_container", {"container_id": "web", "host": "staging"}
    )
    assert allowed["ok"] is True


async def test_require_host_labels_keeps_mutating_tools_off_other_hosts():
    """scope.require_host_labels = ['env=staging']: prod is out of scope, reads still run."""
    run, hosts = fleet_runner({**NO_APPROVAL, "scope": {"require_host_labels": ["env=staging"]}})
    denied = await run.execute_tool("docker_stop_container", {"container_id": "db", "host": "prod"})
    assert denied["error"]["rule"] == "scope.require_host_labels"
    assert "stop_container" not in verbs(hosts["prod"])
    read = await run.execute_tool(
        "docker_inspect_container", {"container_id": "db", "host": "prod"}
    )
    assert read["ok"] is True
    assert (await run.execute_tool("docker_stop_container", {"container_id": "web"}))["ok"]


async def test_rate_limits_count_each_host_and_container_apart():
    """One restart per container: web on staging and web on prod (same id) are two containers."""
    limits = [{"max": 1, "window_s": 600, "per": "container"}]
    run, _ = fleet_runner({**NO_APPROVAL, "rate_limits": limits})
    args = {"container_id": "web"}
    assert (await run.execute_tool("docker_restart_container", {**args, "host": "staging"}))["ok"]
    assert (await run.execute_tool("docker_restart_container", {**args, "host": "prod"}))["ok"]
    again = await run.execute_tool("docker_restart_container", {**args, "host": "prod"})
    assert again["error"]["rule"] == "rate_limits[0]"


async def test_rate_limits_read_back_from_a_sqlite_trail_count_by_host(tmp_path: Path):
    """A new process sharing the trail counts the earlier restart on its host only."""
    limits = [{"max": 1, "window_s": 600, "per": "container"}]
    policy = {**NO_APPROVAL, "rate_limits": limits}
    first_sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
    first, _ = fleet_runner(policy, audit=first_sink)
    args = {"container_id": "web", "host": "prod"}
    assert (await first.execute_tool("docker_restart_container", args))["ok"]
    await first_sink.close()
    sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
    try:
        second, _ = fleet_runner(policy, audit=sink)
        denied = await second.execute_tool("docker_restart_container", args)
        assert denied["error"]["rule"] == "rate_limits[0]"
        other = {"container_id": "web", "host": "staging"}
        assert (await second.execute_tool("docker_restart_container", other))["ok"]
        assert [r.host for r in sink.query(AuditQuery(host="prod"))] == ["prod", "prod"]
    finally:
        await sink.close()


def test_a_policy_naming_a_host_the_fleet_lacks_is_refused():
    """[hosts.qa] with no host qa is a PolicyError (exit 2), naming the hosts there are."""
    with pytest.raises(PolicyError, match="staging, prod"):
        fleet_runner({**NO_APPROVAL, "hosts": {"qa": {"mode": "observe"}}})


async def test_host_sections_without_a_fleet_refuse_changes():
    """A single-engine runner does not ignore [hosts.NAME]: its mutating calls are refused."""
    policy = Policy(mode="execute", hosts={"prod": {"mode": "observe"}})
    run = ToolRunner(FakeExecutor("web"), policy=policy, own_container_id=None)
    denied = await run.execute_tool("docker_stop_container", {"container_id": "web"})
    assert denied["error"]["rule"] == "hosts.no_inventory"


async def test_an_audit_file_from_before_fleets_gains_the_host_column(tmp_path: Path):
    """An old trail (no host column) is opened, written with hosts and filtered by host."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE audit_records (id TEXT PRIMARY KEY, ts REAL NOT NULL, actor TEXT, "
        "tool TEXT NOT NULL, container TEXT, container_id TEXT, container_name TEXT, "
        "decision TEXT NOT NULL, rule TEXT, outcome TEXT NOT NULL, record TEXT NOT NULL);"
    )
    db.close()
    sink = SQLiteAuditSink(path)
    try:
        run, _ = fleet_runner(audit=sink)
        await run.execute_tool("docker_inspect_container", {"container_id": "web", "host": "prod"})
        assert [r.host for r in sink.query(AuditQuery(host="prod"))] == ["prod"]
    finally:
        await sink.close()


async def test_a_memory_trail_filters_by_host():
    """AuditQuery(host=...) works the same on every sink."""
    sink = MemoryAuditSink()
    run, _ = fleet_runner(audit=sink)
    await run.execute_tool("docker_inspect_container", {"container_id": "web", "host": "prod"})
    await run.execute_tool("docker_inspect_container", {"container_id": "web"})
    assert [r.host for r in sink.query(AuditQuery(host="staging"))] == ["staging"]
