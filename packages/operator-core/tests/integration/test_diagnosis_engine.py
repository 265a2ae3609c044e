"""Events, stats and top against a real Docker engine."""

from __future__ import annotations

import asyncio

import pytest
from python_on_whales import DockerClient

from operator_core.docker import DockerActionExecutor
from operator_core.errors import ContainerStateError
from operator_core.testing import count_docker_processes, record_requests


@pytest.fixture
def executor(engine: DockerClient) -> DockerActionExecutor:
    """An executor on the local engine."""
    return DockerActionExecutor(engine)


async def _wait_exited(executor: DockerActionExecutor, name: str) -> None:
    """Wait (bounded) until ``name`` has exited."""
    result = await executor.wait_for_container(name, "exited", timeout=60)
    assert result["met"], result


async def _wait_for_log(executor: DockerActionExecutor, name: str, text: str) -> None:
    """Wait until ``name`` has written ``text``; generous for a loaded machine."""
    for _ in range(300):
        logs = await executor.get_container_logs(name, tail=10)
        if any(line["text"] == text for line in logs["lines"]):
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"{name} never wrote {text!r}")


async def test_a_container_exiting_3_shows_a_die_event_with_exit_code_3(executor, containers):
    """The die event of a container that exited 3 carries exit_code 3 and its name."""
    name = containers.run("sh", "-c", "exit 3")
    await _wait_exited(executor, name)
    result = await executor.get_events("5m", container=name, actions=["die"])
    assert [(e["action"], e["exit_code"], e["actor_name"]) for e in result["events"]] == [
        ("die", 3, name)
    ]
    # On a shared, busy engine its 256-event memory may have rotated within 5 minutes: a
    # filtered read says so (engine_buffer) like an unfiltered one; nothing else is cut.
    assert set(result["truncation"]) <= {"engine_buffer"}


async def test_an_oom_kill_shows_an_oom_event_before_the_die(executor, containers):
    """A container past its memory limit is OOM-killed: an oom event, then die with 137."""
    name = containers.run(
        "sh", "-c", 'a=x; while true; do a="$a$a"; done', memory="16m", memory_swap="16m"
    )
    await _wait_exited(executor, name)
    result = await executor.get_events("5m", container=name, actions=["oom", "die"])
    assert [(e["action"], e["exit_code"]) for e in result["events"]] == [
        ("oom", None),
        ("die", 137),
    ]


async def test_events_filter_by_type_and_keep_the_newest(executor, containers):
    """With limit 1 only the newest event is kept, and the result says more were seen."""
    name = containers.run("sh", "-c", "exit 0")
    await _wait_exited(executor, name)
    result = await executor.get_events("5m", container=name, types=["container"], limit=1)
    assert result["seen"] >= 3  # create, start, die
    assert [e["action"] for e in result["events"]] == ["die"]
    assert "limit" in result["truncation"]
    assert set(result["truncation"]) <= {"limit", "engine_buffer"}  # a busy shared engine


async def test_stats_of_a_memory_hungry_container_show_its_usage(executor, containers):
    """40 MB written to the container's tmpfs shows as at least 35 MiB of memory in use."""
    hungry = containers.run(
        "sh", "-c", "head -c 40000000 /dev/zero > /dev/shm/fill; echo filled; sleep 300"
    )
    idle = containers.run("sleep", "300")
    await _wait_for_log(executor, hungry, "filled")
    with count_docker_processes() as processes, record_requests() as requests:
        result = await executor.container_stats([hungry, idle, "opc-no-such-container"])
    assert processes.count == 0
    # One listing, then one sample of each container found: none for the missing one.
    assert sorted(path.rsplit("/", 1)[-1] for _, path, _ in requests) == ["json", "stats", "stats"]
    by_name = {entry["name"]: entry for entry in result["containers"]}
    assert by_name[hungry]["memory_bytes"] >= 35 * 1024 * 1024
    assert by_name[idle]["memory_bytes"] < 10 * 1024 * 1024
    assert by_name[hungry]["pids"] >= 1
    assert result["missing"] == ["opc-no-such-container"]


async def test_top_shows_the_container_processes(executor, containers):
    """Docker top of a sleeping container lists its sleep with the whole command line."""
    name = containers.run("sleep", "300")
    result = await executor.container_top(name)
    assert [p["command"] for p in result["processes"]] == ["sleep 300"]
    assert result["processes"][0]["user"] == "root"


async def test_top_of_a_stopped_container_is_a_state_error(executor, containers):
    """A container that is not running has no processes to show: ContainerStateError."""
    name = containers.run("sh", "-c", "exit 0")
    await _wait_exited(executor, name)
    with pytest.raises(ContainerStateError):
        await executor.container_top(name)


async def test_search_finds_a_pattern_in_two_of_three_containers(executor, containers, group):
    """A pattern two containers logged (one on stderr) is found in both, not in the third."""
    a = containers.run("sh", "-c", "echo start; echo 'ERROR db timeout'; sleep 300", labels=group)
    b = containers.run("sh", "-c", "echo 'error: db timeout' >&2; sleep 300", labels=group)
    c = containers.run("sh", "-c", "echo all good; sleep 300", labels=group)
    for name, line in ((a, "ERROR db timeout"), (b, "error: db timeout"), (c, "all good")):
        await _wait_for_log(executor, name, line)
    ((key, value),) = group.items()
    result = await executor.search_logs(
        "error:? db timeout", label=f"{key}={value}", regex=True, ignore_case=True, context=1
    )
    found = {(m["name"], m["stream"], m["line"]) for m in result["matches"]}
    assert found == {(a, "stdout", "ERROR db timeout"), (b, "stderr", "error: db timeout")}
    assert {entry["name"] for entry in result["containers"]} == {a, b, c}
    assert next(m for m in result["matches"] if m["name"] == a)["before"] == ["start"]


def test_cli_events_stats_top_and_search_in_observe_mode_at_80_columns(containers, tmp_path):
    """The four reads run in observe mode; their tables fit 80 columns and name the container."""
    from cli_helpers import clean_env, json_out, run_operator

    env = clean_env(tmp_path, COLUMNS="80")
    crashed = containers.run("sh", "-c", "echo 'FATAL: no config' >&2; exit 4")
    alive = containers.run("sh", "-c", "echo up; sleep 300")
    asyncio.run(_wait_exited(DockerActionExecutor(), crashed))
    events = run_operator(env, "docker", "events", crashed, "--since", "5m", "-a", "die")
    assert events.returncode == 0, events.stderr
    assert [line.split()[3:5] for line in events.stdout.splitlines() if "die" in line] == [
        [crashed, "4"]
    ]
    search = run_operator(env, "--json", "docker", "search", "-i", "fatal", crashed, alive)
    assert [m["name"] for m in json_out(search)["result"]["matches"]] == [crashed]
    for args in (("stats", alive), ("top", alive), ("search", "fatal", crashed)):
        shown = run_operator(env, "docker", *args)
        assert shown.returncode == 0, shown.stderr
        assert all(len(line) <= 80 for line in shown.stdout.splitlines()), shown.stdout
    assert "sleep 300" in run_operator(env, "docker", "top", alive).stdout


async def test_inspect_tells_a_crash_loop_in_one_call(executor, containers):
    """A container its policy restarted twice shows count 2, the policy and the last exit."""
    name = containers.run("sh", "-c", "exit 3", restart="on-failure:2")
    for _ in range(600):
        details = await executor.inspect_container(name)
        if details["restarts"]["count"] == 2 and details["state"]["status"] == "exited":
            break
        await asyncio.sleep(0.1)
    assert details["restarts"] == {
        "count": 2,
        "policy": "on-failure",
        "restarting": False,
        "last_exit_code": 3,
        "last_oom_killed": False,
        "last_started_at": details["state"]["started_at"],
        "last_finished_at": details["state"]["finished_at"],
    }


async def test_search_anchors_at_line_ends_in_a_tty_log_of_many_reads(executor, containers):
    r"""A TTY log (CRLF lines) of thousands of lines: 'ready$' and 'ready\z' find the one line.

    The log spans many reads of the pipe, so the line is found however the reads fall,
    and a line-by-line grep of the same log agrees.
    """
    script = 'i=0; while [ $i -lt 4000 ]; do echo "line $i"; i=$((i+1)); done; '
    name = containers.run("sh", "-c", script + "echo 'db ready'; echo done; sleep 300", tty=True)
    for _ in range(300):
        if (await executor.search_logs("^done$", refs=[name], regex=True))["match_count"]:
            break
        await asyncio.sleep(0.1)
    for pattern in ("ready$", r"ready\z", r"(?-m:ready$)"):
        result = await executor.search_logs(pattern, refs=[name], regex=True)
        assert [m["line"] for m in result["matches"]] == ["db ready"], pattern
        assert result["containers"][0]["lines_read"] == 4002


def test_cli_search_with_two_labels_reads_only_containers_with_both(containers, group, tmp_path):
    """``search --label A --label B`` reaches the engine as two filters, both of which must hold.

    Before issue 20 the search's ``--label`` took one value and the tool one string.
    """
    from cli_helpers import clean_env, json_out, run_operator

    ((key, value),) = group.items()
    tier = {f"{key}.tier": "web"}  # as unique to this run as the group
    both = containers.run("sh", "-c", "echo boom; sleep 300", labels={**group, **tier})
    only_group = containers.run("sh", "-c", "echo boom; sleep 300", labels=group)
    only_tier = containers.run("sh", "-c", "echo boom; sleep 300", labels=tier)
    for name in (both, only_group, only_tier):
        asyncio.run(_wait_for_log(DockerActionExecutor(), name, "boom"))
    env = clean_env(tmp_path)
    found = run_operator(
        env, "docker", "search", "boom", "--label", f"{key}={value}", "--label", f"{key}.tier=web",
        "--json",
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    result = json_out(found)["result"]
    assert [entry["name"] for entry in result["containers"]] == [both]
    assert [match["name"] for match in result["matches"]] == [both]
    assert only_group not in found.stdout
    assert only_tier not in found.stdout
