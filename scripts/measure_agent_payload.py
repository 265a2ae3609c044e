"""Measure what an agent pays in bytes: five tasks replayed through the MCP server.

The server is operator-core's own (``operator_core.mcp.server.build_server``) driven by
the MCP SDK's client in-process (a real client session, the JSON-RPC messages as the
wire carries them), over a real fleet of four engines: the local engine (``local``) and
the lab's eng1-3 (``scripts/lab.sh up 3 --swarm``). Every container and service the
script needs is its own, labelled ``org.operator-core.test=1`` and with a label unique to
the run, and removed at the end. The five tasks, each the calls an agent makes:

1. find the unhealthy container on the fleet and read why (list unhealthy, inspect, logs);
2. restart it and confirm (restart, wait until running);
3. find which service's tasks fail (list services, list the failing one's tasks);
4. search an error across a compose project (list the project, search its logs);
5. drain a worker (list nodes, drain eng2) - under a dry-run policy: nothing is drained.

It prints each task's calls and bytes (each ``tools/call`` result as JSON-RPC encodes
it), ``tools/list`` bytes per mode (execute, observe; the fleet's, with ``host``), and a
fleet listing's bytes per container in each copy (text, structuredContent).

Run: ``.venv/bin/python scripts/measure_agent_payload.py [INVENTORY]`` (default: the
lab's, plus the local engine). The numbers before and after issue 21 are in
``docs/agent-payload.md``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp import Client

from operator_core.audit import MemoryAuditSink
from operator_core.fleet import Fleet, FleetExecutor, inventory_from_dict
from operator_core.mcp.server import build_server, policy_note
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.testing import HANDLES_SIGTERM, TEST_IMAGE, TEST_LABEL, unique_name

__all__ = ["main"]

LAB_INVENTORY = "/run/operator-lab/inventory.toml"
LOCAL_URL = "unix:///var/run/docker.sock"
MANAGER = "eng1"
WORKER = "lab-eng2"
CLIENT = types.Implementation(name="measure-agent-payload", version="1")
FILLERS_PER_HOST = 2
#: Set OPERATOR_PAYLOAD_DUMP=FILE to append every call's result to FILE (to see the bytes).
DUMP = os.environ.get("OPERATOR_PAYLOAD_DUMP")
DUMPED: list[str] = []


def _docker(url: str, *args: str, check: bool = True) -> str:
    """Run docker against ``url``; return stdout."""
    done = subprocess.run(
        ["docker", "-H", url, *args], capture_output=True, text=True, timeout=120, check=check
    )
    return done.stdout


class Scene:
    """The containers, compose project and services the tasks look at; removed by ``close``."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.run = unique_name("payload")
        self.label = f"org.operator-core.run={self.run}"
        self.sick = f"{self.run}-sick"
        self.project = f"{self.run}-shop"
        self.bad_service = f"{self.run}-bad"
        self.good_service = f"{self.run}-ok"

    def _run(self, host: str, name: str, *options: str, command: tuple[str, ...]) -> None:
        """Start a labelled container of the test image on ``host``."""
        labels = ("--label", f"{TEST_LABEL}=1", "--label", self.label)
        url = self.urls[host]
        _docker(url, "run", "-d", "--name", name, *labels, *options, TEST_IMAGE, *command)

    def open(self) -> None:
        """Create everything (waits until the container is unhealthy and a task failed)."""
        for host in self.urls:
            for index in range(FILLERS_PER_HOST):
                self._run(host, f"{self.run}-{host}-{index}", command=HANDLES_SIGTERM)
        health = ("--health-cmd", "cat /tmp/ready", "--health-interval", "1s")
        health += ("--health-retries", "1", "--health-timeout", "1s")
        script = "echo starting; echo 'ERROR: cannot reach db:5432'; " + " ".join(HANDLES_SIGTERM)
        self._run("local", self.sick, *health, command=("sh", "-c", script))
        for service in ("web", "api", "worker"):
            compose = ("--label", f"com.docker.compose.project={self.project}")
            compose += ("--label", f"com.docker.compose.service={service}")
            lines = f"echo {service} up; echo 'ERROR {service}: timeout calling payments'; "
            lines += "echo done; " + " ".join(HANDLES_SIGTERM)
            self._run("local", f"{self.project}-{service}-1", *compose, command=("sh", "-c", lines))
        manager = self.urls[MANAGER]
        common = ("service", "create", "--detach", "--quiet", "--no-resolve-image")
        common += ("--label", f"{TEST_LABEL}=1", "--label", self.label)
        _docker(manager, *common, "--name", self.good_service, TEST_IMAGE, *HANDLES_SIGTERM)
        failing = ("--restart-delay", "1s", "--restart-max-attempts", "3")
        bad = ("sh", "-c", "echo 'FATAL: config missing'; exit 3")
        _docker(manager, *common, "--name", self.bad_service, *failing, TEST_IMAGE, *bad)
        self._wait_for_failures()

    def _wait_for_failures(self, bound_s: float = 90) -> None:
        """Wait until the sick container is unhealthy and the bad service failed 3 times."""
        until = time.monotonic() + bound_s
        while time.monotonic() < until:
            health = _docker(
                self.urls["local"], "inspect", "-f", "{{.State.Health.Status}}", self.sick
            ).strip()
            tasks = _docker(
                self.urls[MANAGER], "service", "ps", "-q", self.bad_service, check=False
            ).split()
            if health == "unhealthy" and len(tasks) >= 3:
                return
            time.sleep(1)
        raise SystemExit("the scene did not reach its state (unhealthy, 3 failed tasks)")

    def close(self) -> None:
        """Remove every service and container of this run."""
        _docker(
            self.urls[MANAGER], "service", "rm", self.bad_service, self.good_service, check=False
        )
        for url in self.urls.values():
            ids = _docker(url, "ps", "-aq", "--filter", f"label={self.label}", check=False).split()
            if ids:
                _docker(url, "rm", "-f", *ids, check=False)


def _size(message: Any) -> int:
    """Return the bytes a result takes on the wire (JSON-RPC's JSON, by alias, no nulls)."""
    return len(message.model_dump_json(by_alias=True, exclude_none=True).encode())


def _body(result: types.CallToolResult) -> dict[str, Any]:
    """Return a result's envelope (its structured content, else its JSON text)."""
    if result.structured_content is not None:
        return result.structured_content
    text = "".join(c.text for c in result.content if isinstance(c, types.TextContent))
    return json.loads(text)  # type: ignore[no-any-return]


class Agent:
    """An MCP client session that counts the calls and bytes of the current task."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.calls = 0
        self.bytes = 0

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """Call ``tool``; count it; return its envelope (raise if it failed)."""
        result = await self.client.call_tool(tool, arguments)
        DUMPED.append(
            f"{tool} {_size(result)}\n{result.model_dump_json(by_alias=True, exclude_none=True)}\n"
        )
        self.calls += 1
        self.bytes += _size(result)
        body = _body(result)
        if not body.get("ok"):
            raise SystemExit(f"{tool} failed: {json.dumps(body)[:600]}")
        return body["result"]  # type: ignore[no-any-return]


def _rows(result: dict[str, Any], *keys: str) -> list[dict[str, Any]]:
    """Return the first list found under ``keys`` in a result."""
    for key in keys:
        if isinstance(result.get(key), list):
            return result[key]  # type: ignore[no-any-return]
    raise SystemExit(f"no {keys} in {sorted(result)}")


async def find_unhealthy(agent: Agent, scene: Scene) -> None:
    """Task 1: find the unhealthy container on the fleet and read why."""
    listing = await agent.call("docker_list_containers", health="unhealthy", label=scene.label)
    found = _rows(listing, "containers")[0]
    where = {"container_id": found["name"], "host": found["host"]}
    await agent.call("docker_inspect_container", **where)
    await agent.call("docker_get_container_logs", **where, tail=20)


async def restart_and_confirm(agent: Agent, scene: Scene) -> None:
    """Task 2: restart the unhealthy container and confirm it runs again."""
    where = {"container_id": scene.sick, "host": "local"}
    await agent.call("docker_restart_container", **where, timeout=2)
    await agent.call("docker_wait_for_container", **where, condition="running", timeout=30)


async def failing_service(agent: Agent, scene: Scene) -> None:
    """Task 3: find which service's tasks fail, and why."""
    listing = await agent.call("docker_list_services", host=MANAGER, label=scene.label)
    services = _rows(listing, "services")
    worst = min(services, key=lambda s: s.get("replicas_running", s.get("running", 0)) or 0)
    await agent.call("docker_list_service_tasks", host=MANAGER, service=worst["name"])


async def search_project(agent: Agent, scene: Scene) -> None:
    """Task 4: search an error across a compose project."""
    await agent.call("docker_list_containers", host="local", compose_project=scene.project)
    await agent.call(
        "docker_search_logs", host="local", compose_project=scene.project, pattern="ERROR"
    )


async def drain_worker(agent: Agent, scene: Scene) -> None:
    """Task 5: drain a worker (the policy is dry run: nothing changes)."""
    await agent.call("docker_list_nodes", host=MANAGER)
    await agent.call(
        "docker_set_node_availability", host=MANAGER, node=WORKER, availability="drain"
    )


TASKS: tuple[tuple[str, Callable[[Agent, Scene], Any], bool], ...] = (
    ("find the unhealthy container, read why", find_unhealthy, False),
    ("restart it and confirm", restart_and_confirm, False),
    ("find which service's tasks fail", failing_service, False),
    ("search an error across a compose project", search_project, False),
    ("drain a worker (dry run)", drain_worker, True),
)


def _runner(executor: FleetExecutor, mode: str = "execute", dry_run: bool = False) -> ToolRunner:
    """Return a runner under a policy asking no approval (nobody is there to give it)."""
    policy = Policy(mode=mode, dry_run=dry_run, approval={"risks": []})
    return ToolRunner(executor, policy=policy, audit=MemoryAuditSink(), own_container_id=None)


def _server(runner: ToolRunner, hosts: tuple[str, ...]) -> Any:
    """Return the MCP server ``operator mcp`` would serve for ``runner`` (its tools offered)."""
    note = policy_note(runner.policy.mode, runner.policy.dry_run)
    try:
        from operator_core.tools.offer import offer
    except ImportError:  # before issue 21: every tool, whatever the policy
        return build_server(runner, specs=runner.specs, policy_note=note)
    offered = offer(runner.specs, runner.policy, hosts=hosts)
    return build_server(runner, policy_note=note, offered=offered)


async def tools_list_sizes(executor: FleetExecutor) -> dict[str, tuple[int, int]]:
    """Return ``tools/list`` bytes and tool count per mode."""
    sizes = {}
    for mode in ("execute", "observe"):
        async with Client(
            _server(_runner(executor, mode), executor.names), client_info=CLIENT
        ) as client:
            listed = await client.list_tools()
        sizes[mode] = (_size(listed), len(listed.tools))
    return sizes


async def listing_per_container(executor: FleetExecutor, scene: Scene) -> tuple[int, int, int]:
    """Return a fleet listing's container count and bytes per container, text and structured."""
    async with Client(_server(_runner(executor), executor.names), client_info=CLIENT) as client:
        result = await client.call_tool("docker_list_containers", {"label": scene.label})
    count = len(_rows(_body(result)["result"], "containers"))
    text = sum(len(c.text.encode()) for c in result.content if isinstance(c, types.TextContent))
    structured = len(json.dumps(result.structured_content or {}, ensure_ascii=False).encode())
    return count, text // count, structured // count


async def measure(executor: FleetExecutor, scene: Scene) -> None:
    """Run the tasks and print the table."""
    print(f"{'task':<44} {'calls':>5} {'bytes':>8}")
    total = 0
    for title, task, dry_run in TASKS:
        runner = _runner(executor, dry_run=dry_run)
        async with Client(_server(runner, executor.names), client_info=CLIENT) as client:
            agent = Agent(client)
            await task(agent, scene)
        total += agent.bytes
        print(f"{title:<44} {agent.calls:>5} {agent.bytes:>8}")
    print(f"{'all five':<44} {'':>5} {total:>8}")
    for mode, (size, count) in (await tools_list_sizes(executor)).items():
        print(f"tools/list, {mode} mode: {size} bytes, {count} tools")
    count, text, structured = await listing_per_container(executor, scene)
    print(
        f"fleet listing of {count} containers: {text} bytes/container as text, "
        f"{structured} as structuredContent"
    )


def _inventory(path: str) -> dict[str, Any]:
    """Return the lab's inventory with the local engine added as ``local``."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    data["hosts"]["local"] = {"url": LOCAL_URL, "labels": {"lab": "local"}}
    return data


def main() -> None:
    """Build the scene, measure, remove the scene."""
    data = _inventory(sys.argv[1] if len(sys.argv) > 1 else LAB_INVENTORY)
    inventory = inventory_from_dict(data)
    # The docker CLI reaches an SSH host of the lab through its local socket (a label).
    urls = {
        name: host.labels.get("socket", host.url or LOCAL_URL)
        for name, host in inventory.hosts.items()
    }
    scene = Scene(urls)
    try:
        scene.open()
        asyncio.run(measure(FleetExecutor(Fleet(inventory)), scene))
    finally:
        scene.close()
    if DUMP:
        with open(DUMP, "w", encoding="utf-8") as out:
            out.writelines(DUMPED)


if __name__ == "__main__":
    main()
