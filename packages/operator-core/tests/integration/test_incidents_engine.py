"""Incidents against a real engine: the lab's spare engine 97, which only this file uses.

Spare 97 is this file's own (scripts/lab.sh spare 97): its dockerd is SIGSTOPped here and
OOM storms are made on it, so no other test's engine is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_helpers import spare_engine_url
from python_on_whales import DockerClient

from operator_core.audit import MemoryAuditSink
from operator_core.docker import DockerActionExecutor
from operator_core.policy import policy_from_dict
from operator_core.runner import ToolRunner
from operator_core.testing import HANDLES_SIGTERM, TEST_IMAGE, TEST_LABEL, unique_name
from operator_core.watch import AuditIntents, IncidentDetector, watch

LAB = Path(__file__).resolve().parents[4] / "scripts" / "lab.sh"
SPARE = 97
#: A bound on each wait: generous for a loaded machine; reaching it is a failure.
WAIT_S = 120.0

Item = dict[str, Any]


@pytest.fixture(scope="module")
def spare(request: pytest.FixtureRequest) -> DockerClient:
    """The lab's spare engine 97 (scripts/lab.sh spare 97), this file's alone."""
    return DockerClient(host=spare_engine_url(request.config, SPARE))


@pytest.fixture
def run(spare: DockerClient) -> Iterator[Callable[..., str]]:
    """Start detached test containers on the spare engine; remove them after the test."""
    names: list[str] = []

    def start(*command: str, **options: Any) -> str:
        name = unique_name()
        labels = {TEST_LABEL: "1", **options.pop("labels", {})}
        spare.run(TEST_IMAGE, list(command), name=name, detach=True, labels=labels, **options)
        names.append(name)
        return name

    yield start
    if names:
        with contextlib.suppress(Exception):
            spare.remove(names, force=True)


async def _watch_until(
    spare: DockerClient,
    done: Callable[[list[Item]], bool],
    act: Callable[[Item], Any] | None = None,
    **options: Any,
) -> list[Item]:
    """Watch the spare engine until ``done(items)``; ``act`` is awaited on each item.

    With ``for_s`` the watch runs that long (and ``done`` is not asked).
    """
    items: list[Item] = []
    for_s = options.pop("for_s", None)
    executor = options.pop("executor", None) or DockerActionExecutor(spare)

    async def follow() -> None:
        async with contextlib.aclosing(watch(executor, **options)) as stream:
            async for item in stream:
                items.append(dict(item))
                if act is not None:
                    await act(dict(item))
                if done(items):
                    return

    try:
        await asyncio.wait_for(follow(), for_s or WAIT_S)
    except TimeoutError:
        if for_s is not None:
            return items
        pytest.fail(f"the watch did not get there within {WAIT_S}s: {items}")
    return items


def _about(items: list[Item], name: str) -> list[tuple[str, str]]:
    """Return (kind, status) of the incidents about container ``name``."""
    return [(i["kind"], i["status"]) for i in items if i.get("name") == name and "status" in i]


def _docker(spare: DockerClient, *args: str) -> None:
    """Run a docker CLI command against the spare engine (as a person would)."""
    host = str(spare.client_config.host)
    subprocess.run(["docker", "-H", host, *args], check=True, capture_output=True, timeout=120)


async def test_requested_deaths_are_classified_and_a_crash_is_a_death(spare, run):
    """Docker stop, kill, rm -f and restart are stopped/stopped/removed/restarted; exit 3 died.

    Each comes as one info line naming the container; only the unrequested crash fires.
    """
    names = {verb: run("sleep", "300") for verb in ("stop", "kill", "rm", "restart")}
    names["crash"] = ""
    want = {"stop": "stopped", "kill": "stopped", "rm": "removed", "restart": "restarted"}

    async def act(item: Item) -> None:
        if item["kind"] != "connected":
            return
        await asyncio.to_thread(_docker, spare, "stop", "-t", "1", names["stop"])
        await asyncio.to_thread(_docker, spare, "kill", names["kill"])
        await asyncio.to_thread(_docker, spare, "rm", "-f", names["rm"])
        await asyncio.to_thread(_docker, spare, "restart", "-t", "1", names["restart"])
        names["crash"] = await asyncio.to_thread(run, "sh", "-c", "sleep 1; exit 3")

    def done(items: list[Item]) -> bool:
        return all(_about(items, name) for name in names.values() if name)

    items = await _watch_until(spare, done, act)
    for verb, kind in want.items():
        assert _about(items, names[verb]) == [(kind, "info")], verb
    assert _about(items, names["crash"]) == [("died", "firing")]
    (restart,) = [i for i in items if i.get("name") == names["restart"]]
    assert restart["message"] == f"{names['restart']} was restarted (exit code 137)"
    assert restart["engine_id"]


async def test_the_operators_own_restart_is_restarted_by_operator(spare, run):
    """A restart through the runner (its audit record) is restarted_by_operator, not a death."""
    name = run("sleep", "300")
    executor = DockerActionExecutor(spare)
    policy = policy_from_dict({"mode": "execute", "approval": {"risks": []}})
    runner = ToolRunner(executor, policy=policy, audit=MemoryAuditSink(), own_container_id=None)
    detector = IncidentDetector(intents=AuditIntents(runner.audit))

    async def act(item: Item) -> None:
        if item["kind"] == "connected":
            arguments = {"container_id": name, "timeout": 1}
            envelope = await runner.execute_tool(
                "docker_restart_container", arguments, actor="operator:watch-heal", reason="t"
            )
            assert envelope["ok"], envelope

    items = await _watch_until(
        spare, lambda got: bool(_about(got, name)), act, executor=executor, detector=detector
    )
    assert _about(items, name) == [("restarted_by_operator", "info")]
    assert "restarted by operator:watch-heal" in items[-1]["message"]


async def test_containers_unhealthy_or_looping_before_the_watch_starts_are_incidents(spare, run):
    """Unhealthy, or looping, before the watch starts: each is an incident at start.

    The engine said so once, before the watch; the state read at start says it again,
    before the connected notice.
    """
    sick = run("sleep", "300", health_cmd="false", health_interval=1, health_retries=1)
    looping = run("sh", "-c", "exit 1", restart="always")
    ends = time.monotonic() + WAIT_S
    while True:
        health = (await asyncio.to_thread(spare.container.inspect, sick)).state.health.status
        restarts = (await asyncio.to_thread(spare.container.inspect, looping)).restart_count
        if health == "unhealthy" and restarts > 3:
            break
        assert time.monotonic() < ends, f"not there: health {health}, {restarts} restarts"
        await asyncio.sleep(0.5)
    items = await _watch_until(spare, lambda got: any(i["kind"] == "connected" for i in got))
    assert _about(items, sick) == [("unhealthy", "firing")]
    assert _about(items, looping) == [("restart_loop", "firing")]
    assert items[-1]["kind"] == "connected"


#: Children OOM-killed one after another while PID 1 lives on: an endless OOM storm.
OOM_STORM = (
    "sh",
    "-c",
    "while true; do sh -c 'echo 1000 > /proc/self/oom_score_adj; "
    "head -c 20m /dev/zero | tail > /dev/null'; done",
)


async def test_an_oom_storm_is_one_incident_with_its_count(spare, run):
    """A container whose children are OOM-killed in a loop: one oom_killed, with the count.

    The watch runs for ~24 s of the storm: one firing (the rest fold in silently, an update
    would come only after 5 min); the count it reports is what the engine sent in its hold.
    """
    name = ""

    async def act(item: Item) -> None:
        nonlocal name
        if item["kind"] == "connected":
            name = await asyncio.to_thread(run, *OOM_STORM, memory="8m", memory_swap="8m")

    detector = IncidentDetector()
    items = await _watch_until(spare, lambda _: False, act, detector=detector, for_s=25)
    found = [i for i in items if i.get("name") == name]
    assert [(i["kind"], i["status"]) for i in found] == [("oom_killed", "firing")]
    ((_, seen),) = [(k, s) for k, s in detector._seen.items() if k[1] == found[0]["container_id"]]
    assert seen.oom is not None
    assert seen.oom.count > 10  # the storm went on, folded
    print(f"oom storm: {seen.oom.count} oom events in ~24s, 1 incident")


async def test_a_restart_loop_is_one_incident_its_deaths_folded(spare, run):
    """A container its policy restarts 7 times: 2 deaths, one loop; the rest fold; removal resolves.

    With more than 2 deaths in 60 s a loop: the 3rd death fires it, the next 4 print no
    died line, and removing the container resolves it with all 7 deaths counted.
    """
    name = ""

    async def act(item: Item) -> None:
        nonlocal name
        if item["kind"] == "connected":
            name = await asyncio.to_thread(run, "sh", "-c", "exit 1", restart="on-failure:6")
        if item.get("name") == name and (item["kind"], item.get("status")) == (
            "restart_loop",
            "firing",
        ):
            await _wait_for_exited(spare, name)
            await asyncio.to_thread(_docker, spare, "rm", "-f", name)

    def done(items: list[Item]) -> bool:
        return ("restart_loop", "resolved") in _about(items, name)

    detector = IncidentDetector(loop_restarts=2, loop_window_s=60)
    items = await _watch_until(spare, done, act, detector=detector)
    assert _about(items, name) == [
        ("died", "firing"),
        ("died", "firing"),
        ("restart_loop", "firing"),
        ("restart_loop", "resolved"),
    ]
    assert items[-1]["count"] == 7


async def _wait_for_exited(spare: DockerClient, name: str) -> None:
    """Wait until the engine gave up restarting ``name`` (its policy's 6 restarts done)."""
    ends = time.monotonic() + WAIT_S
    while True:
        state = await asyncio.to_thread(spare.container.inspect, name)
        if state.state.status == "exited" and state.restart_count >= 6:
            return
        assert time.monotonic() < ends, "the restart policy never gave up"
        await asyncio.sleep(0.5)


async def test_deaths_of_an_engine_shutting_down_are_engine_stopped(spare, run):
    """Dockerd restarted: its containers' deaths are engine_stopped info, not died.

    The engine stops its containers (kill, die, stop) and its stream ends: the watch says
    so for the container, from the held death when the stream delivered it, else from the
    listing read at the reconnect (which comes before the reconnected notice). Never died.
    """
    name = run(*HANDLES_SIGTERM)

    async def act(item: Item) -> None:
        if item["kind"] == "connected":
            restart = ["bash", str(LAB), "restart", str(SPARE)]
            await asyncio.to_thread(subprocess.run, restart, check=True, timeout=120)

    def done(items: list[Item]) -> bool:
        return any(i["kind"] == "reconnected" for i in items)

    items = await _watch_until(spare, done, act, backoff_s=1, backoff_max_s=2)
    assert _about(items, name) == [("engine_stopped", "info")]
    kinds = [i["kind"] for i in items if "status" not in i or i.get("name") == name]
    assert kinds.index("engine_stopped") < kinds.index("reconnected")
    assert "died" not in kinds


def _dockerd_pid() -> int:
    """Return spare 97's dockerd pid, checked to be that engine's (as lab.sh checks)."""
    run_dir = Path(f"/run/operator-lab/eng{SPARE}")
    pid = int((run_dir / "docker.pid").read_text().strip())
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    assert f"--exec-root {run_dir}/exec".encode() in command, "not spare 97's dockerd"
    return pid


async def test_a_hung_engine_is_unresponsive_then_responsive(spare):
    """Dockerd stopped with SIGSTOP for 20 s: unresponsive within ~15 s, responsive after.

    The engine is probed every 5 s and said unresponsive after 10 s without an answer;
    SIGCONT (always sent, even if the test fails) brings the answer back.
    """
    pid = _dockerd_pid()
    stopped: list[float] = []
    said: dict[str, float] = {}

    async def act(item: Item) -> None:
        if item["kind"] == "connected":
            os.kill(pid, signal.SIGSTOP)
            stopped.append(time.monotonic())
        elif item["kind"] in ("unresponsive", "responsive"):
            said[item["kind"]] = time.monotonic() - stopped[0]
        if item["kind"] == "unresponsive":
            await asyncio.sleep(max(0.0, 20 - (time.monotonic() - stopped[0])))
            os.kill(pid, signal.SIGCONT)

    try:
        items = await _watch_until(spare, lambda got: got[-1]["kind"] == "responsive", act)
    finally:
        os.kill(pid, signal.SIGCONT)
    kinds = [i["kind"] for i in items]
    assert kinds == ["connected", "unresponsive", "responsive"]
    assert items[1]["engine_id"] == items[0]["engine_id"]
    print(
        f"SIGSTOP 20s: unresponsive after {said['unresponsive']:.1f}s, responsive after "
        f"{said['responsive']:.1f}s"
    )
