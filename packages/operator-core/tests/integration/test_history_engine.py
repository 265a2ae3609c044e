"""The watch's event history on a real engine: it outlives the engine's 256-event memory.

On the lab's spare engine 96 (this file alone floods it with events): a watch records a
death, stops; another death happens while no watch runs; the restarted watch resumes
from its cursor and records it once; then health checks flood the engine until it has
forgotten both deaths, and ``get_events`` answers them from the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import OPERATOR, clean_env, json_out, run_operator
from lab_helpers import spare_engine_url
from python_on_whales import DockerClient
from test_watch_engine import Lines

from operator_core.docker import DockerActionExecutor
from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name
from operator_core.watch import watch
from operator_core.watch.history import HistoryStore
from operator_core.watch.recorder import HistoryRecorder
from operator_core.watch.timeline import with_history

LAB = Path(__file__).resolve().parents[4] / "scripts" / "lab.sh"
SPARE = "96"
#: Health-checking containers that flood the engine with exec events.
FLOODERS = 6


@pytest.fixture(scope="module")
def spare(request: pytest.FixtureRequest) -> DockerClient:
    """The lab's spare engine 96 (scripts/lab.sh spare 96), which only this file floods."""
    return DockerClient(host=spare_engine_url(request.config, SPARE))


def _run(client: DockerClient, *command: str, **options: Any) -> str:
    name = unique_name()
    client.run(
        TEST_IMAGE, list(command), name=name, detach=True, labels={TEST_LABEL: "1"}, **options
    )
    return name


async def _watch_until(
    executor: Any,
    recorder: HistoryRecorder,
    name: str,
    made: list[str],
    client: DockerClient,
    start: Any = None,
) -> list[dict[str, Any]]:
    """Run a watch until it reports ``name`` died; ``start`` runs once it is connected."""
    items: list[dict[str, Any]] = []
    async with contextlib.aclosing(watch(executor, recorder=recorder)) as stream:
        async for item in stream:
            items.append(dict(item))
            if item["kind"] == "connected" and start is not None:
                made.append(await asyncio.to_thread(start))
            if item["kind"] == "died" and item.get("name") == name:
                break
    await recorder.aclose()
    return items


async def _keep_watching(
    executor: Any,
    recorder: HistoryRecorder,
    items: list[dict[str, Any]],
    seen: asyncio.Event,
    name: str,
) -> None:
    """Run a watch for good (until cancelled); ``seen`` is set once ``name`` died."""
    try:
        async with contextlib.aclosing(watch(executor, recorder=recorder)) as stream:
            async for item in stream:
                items.append(dict(item))
                if item["kind"] == "died" and item.get("name") == name:
                    seen.set()
    finally:
        await recorder.aclose()


async def _flood_until_forgotten(
    executor: DockerActionExecutor, client: DockerClient, since: str, made: list[str]
) -> dict[str, Any]:
    """Health-check containers until the engine no longer holds events back to ``since``."""
    for _ in range(FLOODERS):
        made.append(
            await asyncio.to_thread(
                _run, client, "sleep", "600", health_cmd="true", health_interval=0.05
            )
        )
    while True:
        probe = await executor.get_events(since, limit=1)
        if "engine_buffer" in probe["truncation"] and probe["engine_oldest"] > since:
            return probe
        await asyncio.sleep(1)


async def test_a_death_the_engine_forgot_is_answered_from_the_history(spare, tmp_path):
    """Watch, stop, a death while down, resume from the cursor, flood: history answers.

    * the restarted watch follows from its cursor: the death that happened while it was
      down is reported and recorded once, the one it had reported is not reported again;
    * after the flood the engine alone has neither death (its answer says it forgot);
      get_events through the history has both, with the history as their source and
      nothing missing in the window the watch recorded.
    """
    executor = DockerActionExecutor(spare)
    store = HistoryStore(tmp_path / "history.sqlite3")
    made: list[str] = []
    first, second = unique_name(), unique_name()
    watching: asyncio.Task[None] | None = None
    try:
        began = time.time()
        items = await asyncio.wait_for(
            _watch_until(
                executor,
                HistoryRecorder(store),
                first,
                made,
                spare,
                start=lambda: _run_named(spare, first, "exit 7"),
            ),
            timeout=120,
        )
        since = items[0]["time"]
        made.append(await asyncio.to_thread(_run_named, spare, second, "exit 9"))
        await asyncio.to_thread(_wait_exited, spare, second)
        again: list[dict[str, Any]] = []
        reported = asyncio.Event()
        # The restarted watch keeps recording while the engine is flooded (heartbeat 0.5 s).
        watching = asyncio.create_task(
            _keep_watching(
                executor, HistoryRecorder(store, heartbeat_s=0.5), again, reported, second
            )
        )
        await asyncio.wait_for(reported.wait(), timeout=120)
        probe = await asyncio.wait_for(
            _flood_until_forgotten(executor, spare, since, made), timeout=180
        )
        await asyncio.sleep(1)  # a heartbeat after the flood's last recorded event
        engine_only = await executor.get_events(since, container=first, actions=["die"])
        merged = await with_history(executor, store).get_events(
            since, container=first, types=["container"], actions=["die"]
        )
        both = await with_history(executor, store).get_events(
            since, types=["container"], actions=["die"]
        )
        engine_id = (await executor.engine_identity())["engine_id"]
        stored = await store.read(engine_id, since, merged["until"], limit=100, actions=["die"])
    finally:
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        await store.close()
        if made:
            await asyncio.to_thread(spare.remove, made, force=True)
    died_again = [i.get("name") for i in again if i["kind"] == "died"]
    assert died_again == [second]  # the first death was not reported twice
    assert [e["actor_name"] for e in stored["events"]].count(second) == 1
    assert engine_only["events"] == []
    assert "engine_buffer" in engine_only["truncation"]
    assert probe["engine_oldest"] > since
    (event,) = merged["events"]
    assert (event["actor_name"], event["exit_code"]) == (first, 7)
    assert [s["source"] for s in merged["sources"]] == ["engine", "history"]
    assert merged["may_be_missing"] is False, merged["gaps"]
    assert {e["actor_name"] for e in both["events"]} >= {first, second}
    print(
        f"\nhistory: {len(stored['events'])} deaths stored; watched from {began:.0f}; "
        f"engine forgot before {probe['engine_oldest']}; sources {merged['sources']}"
    )


def _run_named(client: DockerClient, name: str, script: str) -> str:
    client.run(TEST_IMAGE, ["sh", "-c", script], name=name, detach=True, labels={TEST_LABEL: "1"})
    return name


def _wait_exited(client: DockerClient, name: str) -> None:
    deadline = time.monotonic() + 60
    while client.container.inspect(name).state.status != "exited":
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not exit")
        time.sleep(0.2)


def test_operator_watch_records_and_docker_events_answers_from_it(spare, tmp_path):
    """The CLI end to end: `operator watch` records a death; `docker events` shows its source.

    The watch is stopped with Ctrl-C (its intervals closed); `operator docker events`
    then names the history among its sources, and `operator history status` the engine.
    """
    host = spare.client_config.host
    env = clean_env(tmp_path)
    name = unique_name()
    process = subprocess.Popen(
        [*OPERATOR, "--host", str(host), "watch", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = Lines(process)
    try:
        connected = lines.next_json("connected")
        _run_named(spare, name, "exit 3")
        assert lines.next_json("died", name)["exit_code"] == 3
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        spare.remove([name], force=True)
    found = json_out(
        run_operator(
            env,
            "--host",
            str(host),
            "docker",
            "events",
            name,
            "--since",
            connected["time"],
            "--type",
            "container",
            "--action",
            "die",
            "--json",
        )
    )["result"]
    assert [e["exit_code"] for e in found["events"]] == [3]
    assert "history" in [s["source"] for s in found["sources"]]
    status = json_out(run_operator(env, "history", "status", "--json"))["result"]
    assert [e["events"] >= 1 for e in status["engines"]] == [True]
