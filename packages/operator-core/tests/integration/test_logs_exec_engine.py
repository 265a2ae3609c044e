"""get_container_logs and execute_command against a real Docker engine."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from python_on_whales import DockerClient

from operator_core import limits
from operator_core.docker import DockerActionExecutor
from operator_core.docker._engine.state import fetch
from operator_core.docker.containers import execution, logs
from operator_core.errors import ContainerNotFound, ContainerStateError, InvalidInput
from operator_core.testing import (
    TEST_IMAGE,
    TEST_LABEL,
    Request,
    count_docker_processes,
    record_requests,
    unique_name,
)

#: Writes "out N" to stdout and "err N" to stderr every 50 ms.
LOOP = (
    "sh",
    "-c",
    'i=0; while true; do i=$((i+1)); echo "out $i"; echo "err $i" >&2; sleep 0.05; done',
)
#: 1,100,000 lines of 100 bytes (110 MB) to stdout, then one last line on each stream.
BIG_LINE = "0123456789 the quick brown fox jumps over the lazy dog " + "x" * 44
# The engine copies stdout and stderr to the log in separate goroutines, so a stderr line
# written right after 110 MB of stdout can land in the log before the stdout backlog; the
# pauses give the last two lines a fixed order in the log.
BIG = f'yes "{BIG_LINE}" | head -n 1100000; sleep 1; echo LAST-ERR >&2; sleep 1; echo LAST-OUT'
#: One line of 50 MiB, then a short one.
ONE_LINE = "head -c 52428800 /dev/zero | tr '\\0' x; echo; echo after-line"
SECRET = "hunter2-very-s3cret-value"  # noqa: S105 - a made-up value the tests look for
MiB = 1024 * 1024


@pytest.fixture
def executor(engine: DockerClient) -> DockerActionExecutor:
    """An executor on the local engine."""
    return DockerActionExecutor(engine)


def _finished_container(engine: DockerClient, script: str) -> Iterator[str]:
    """Run ``script`` in a container, wait for it to exit, yield its name, then remove it."""
    name = unique_name("opc-logs")
    engine.run(TEST_IMAGE, ["sh", "-c", script], name=name, detach=True, labels={TEST_LABEL: "1"})
    try:
        subprocess.run(["docker", "wait", name], capture_output=True, timeout=300, check=True)
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def big_logs(engine: DockerClient) -> Iterator[str]:
    """A stopped container that wrote 110 MB of logs."""
    yield from _finished_container(engine, BIG)


@pytest.fixture(scope="module")
def one_line(engine: DockerClient) -> Iterator[str]:
    """A stopped container that wrote one 50 MiB line, then "after-line"."""
    yield from _finished_container(engine, ONE_LINE)


def _log_size(engine: DockerClient, name: str) -> int | None:
    """Return the size of a container's json-file log, or None where it cannot be read."""
    path = engine.container.inspect(name).log_path
    try:
        return Path(str(path)).stat().st_size
    except OSError:
        return None


async def _measure(call) -> tuple[dict, int]:
    """Await ``call()``; return its result and traced peak memory in bytes.

    Not its time: how much work a read did is counted (``bytes_read``), never timed, and
    the call's own deadline bounds it (past it, OperationTimeout instead of a result).
    """
    tracemalloc.start()
    try:
        result = await call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _verbs(requests: list[Request]) -> list[str]:
    """Name each request by what it does: inspect, exec create/start/inspect, logs."""
    names = []
    for r in requests:
        if r.path.startswith("/exec/"):
            names.append("exec " + {"start": "start", "json": "inspect"}[r.path.rsplit("/", 1)[-1]])
        elif r.path.endswith("/exec"):
            names.append("exec create")
        else:
            names.append({"json": "inspect", "logs": "logs"}[r.path.rsplit("/", 1)[-1]])
    return names


def _host_processes_mentioning(word: str) -> list[str]:
    """Return the command lines of host processes that contain ``word``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if word in text:
            found.append(text)
    return found


async def _docker(*args: str) -> str:
    """Run ``docker <args>`` off the event loop; return its stdout."""
    done = await asyncio.to_thread(
        subprocess.run, ["docker", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


async def _wait_for_lines(executor: DockerActionExecutor, name: str, count: int) -> None:
    """Wait until the container has logged at least ``count`` lines."""
    for _ in range(100):
        if (await executor.get_container_logs(name, tail=count))["line_count"] >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} did not log {count} lines")


# --- logs ------------------------------------------------------------------------------


async def test_logs_keep_the_streams_apart_and_in_time_order(executor, containers):
    """A loop writing to both streams: tail, tags, time order and one-stream reads hold."""
    name = containers.run(*LOOP)
    await _wait_for_lines(executor, name, 20)
    with count_docker_processes() as seen, record_requests() as requests:
        both = await executor.get_container_logs(name, tail=6)
    assert seen.count == 0
    assert [r.path.rsplit("/", 1)[-1] for r in requests] == ["json", "logs"]
    assert both["line_count"] == 6
    assert {line["stream"] for line in both["lines"]} == {"stdout", "stderr"}
    for line in both["lines"]:
        assert line["text"].startswith("out " if line["stream"] == "stdout" else "err ")
    stamps = [line["timestamp"] for line in both["lines"]]
    assert stamps == sorted(stamps)
    out = await executor.get_container_logs(name, tail=5, stream="stdout", timestamps=False)
    err = await executor.get_container_logs(name, tail=5, stream="stderr")
    assert [line["stream"] for line in out["lines"]] == ["stdout"] * 5
    assert all(line["text"].startswith("out ") and not line["timestamp"] for line in out["lines"])
    assert [line["stream"] for line in err["lines"]] == ["stderr"] * 5
    assert all(line["text"].startswith("err ") for line in err["lines"])
    numbers = [int(line["text"].split()[1]) for line in out["lines"]]
    assert numbers == sorted(numbers)
    assert numbers == list(range(numbers[0], numbers[0] + 5))
    assert out["truncated"] is False
    assert err["truncated"] is False


async def test_logs_since_and_until_bound_the_window(executor, containers):
    """since/until (absolute or relative) select the lines written inside the window."""
    name = containers.run("sh", "-c", "echo first; sleep 2; echo second; sleep 1000")
    for _ in range(50):
        lines = (await executor.get_container_logs(name))["lines"]
        if len(lines) == 2:
            break
        await asyncio.sleep(0.2)
    first, second = lines
    middle = datetime.fromisoformat(first["timestamp"][:26] + "+00:00") + timedelta(seconds=1)
    before = await executor.get_container_logs(name, until=middle)
    after = await executor.get_container_logs(name, since=middle.isoformat())
    recent = await executor.get_container_logs(name, since="1h")
    assert [line["text"] for line in before["lines"]] == ["first"]
    assert [line["text"] for line in after["lines"]] == ["second"]
    assert [line["text"] for line in recent["lines"]] == ["first", "second"]
    assert second["text"] == "second"


async def test_logs_of_a_container_that_wrote_110mb_stay_bounded_and_fast(
    executor, engine, big_logs
):
    """The tail of 110 MB of logs: the newest lines, reading the tail only, a few MiB at most."""
    size = _log_size(engine, big_logs)
    assert size is None or size > 100 * MiB
    result, peak = await _measure(lambda: executor.get_container_logs(big_logs))
    assert result["line_count"] == 100
    last_two = [(line["stream"], line["text"]) for line in result["lines"][-2:]]
    assert last_two == [("stderr", "LAST-ERR"), ("stdout", "LAST-OUT")]
    assert result["lines"][0]["text"] == BIG_LINE
    errors = await executor.get_container_logs(big_logs, tail=1, stream="stderr")
    assert [line["text"] for line in errors["lines"]] == ["LAST-ERR"]
    assert result["bytes_read"] < 100 * 200  # the last 100 lines, not 110 MB
    assert peak < 4 * MiB
    most, peak = await _measure(lambda: executor.get_container_logs(big_logs, tail=50_000))
    assert most["tail_limit"] == limits.MAX_TAIL
    assert most["line_count"] == limits.MAX_TAIL
    assert most["truncation"] == ["tail_cap"]
    assert most["bytes"] <= logs.MAX_LOG_BYTES
    assert most["bytes_read"] < 20 * MiB  # the capped tail, not 110 MB
    assert peak < 24 * MiB


async def test_logs_of_one_50mb_line_cut_it_and_stay_bounded(executor, one_line):
    """One 50 MiB line is read through, kept to MAX_LINE_BYTES, flagged, memory bounded."""
    result, peak = await _measure(
        lambda: executor.get_container_logs(one_line, tail=limits.MAX_TAIL)
    )
    long, after = result["lines"]
    assert long["text"] == "x" * logs.MAX_LINE_BYTES
    assert long["truncated"] is True
    assert after["text"] == "after-line"
    assert after["truncated"] is False
    assert result["truncation"] == ["long_line"]
    assert result["bytes_read"] > 50 * MiB
    assert peak < 4 * MiB
    short = await executor.get_container_logs(one_line, tail=10)
    assert short["lines"][-1]["text"] == "after-line"
    assert short["lines"][0]["truncated"] is True


async def test_logs_past_the_read_cap_kill_the_docker_process(executor, one_line, monkeypatch):
    """With a 4 MiB read cap the docker logs process is killed and read_cap reported."""
    monkeypatch.setattr(logs, "MAX_READ_BYTES", 4 * MiB)
    result = await executor.get_container_logs(one_line, tail=limits.MAX_TAIL)
    assert "read_cap" in result["truncation"]
    assert result["truncated"] is True
    assert 4 * MiB < result["bytes_read"] < 5 * MiB
    container_id = result["container_id"]
    left = ["?"]
    for _ in range(100):  # gone once the kernel has reaped it; 10 s for a loaded machine
        left = [p for p in _host_processes_mentioning(container_id) if " logs " in p]
        if not left:
            break
        await asyncio.sleep(0.1)
    assert left == []


async def test_logs_of_a_missing_container_raise_container_not_found(executor):
    """Logs of a container that does not exist raise ContainerNotFound naming it."""
    with pytest.raises(ContainerNotFound, match="opc-no-such"):
        await executor.get_container_logs("opc-no-such-container-x")


# --- exec ------------------------------------------------------------------------------


async def test_exec_exit_3_with_stderr_comes_back_as_a_result(executor, containers):
    """A command that exits 3 writing to stderr: exit_code 3, streams apart, no process."""
    name = containers.run("sleep", "1000")
    with count_docker_processes() as seen, record_requests() as requests:
        result = await executor.execute_command(
            name, ["sh", "-c", "echo to-out; echo to-err >&2; exit 3"]
        )
    assert seen.count == 0
    assert _verbs(requests) == ["inspect", "exec create", "exec start", "exec inspect"]
    assert result["exit_code"] == 3
    assert result["success"] is False
    assert result["stdout"] == "to-out\n"
    assert result["stderr"] == "to-err\n"
    assert result["timed_out"] is False
    assert result["cleanup"] is None
    json.dumps(result)


async def test_exec_env_secret_reaches_the_command_and_nothing_else(executor, containers, caplog):
    """An env value arrives intact, yet is in no argv, result or log record."""
    caplog.set_level(logging.DEBUG)
    name = containers.run("sleep", "1000")
    script = 'printf %s "$TOKEN" | md5sum; cat /proc/*/cmdline | tr "\\0" " "'
    with count_docker_processes() as seen, record_requests() as requests:
        result = await executor.execute_command(
            name, ["sh", "-c", script], env={"TOKEN": SECRET, "PATH": "/bin"}
        )
    assert SECRET not in repr(requests)
    assert result["stdout"].split()[0] == hashlib.md5(SECRET.encode()).hexdigest()  # noqa: S324
    assert SECRET not in json.dumps(result)
    assert not any(SECRET in word for command in seen.commands for word in command)
    assert SECRET not in caplog.text


async def test_exec_past_its_timeout_returns_promptly_and_leaves_no_process(executor, containers):
    """A command sleeping past its timeout: timed_out, on time, its processes all killed."""
    name = containers.run("sleep", "1000")
    command = ["sh", "-c", "sleep 301 & sleep 302 & wait"]
    began = time.monotonic()
    with count_docker_processes() as seen, record_requests() as requests:
        result = await executor.execute_command(name, command, timeout=2)
    elapsed = time.monotonic() - began
    assert seen.count == 0
    assert _verbs(requests) == [
        "inspect",
        "exec create",
        "exec start",
        "exec create",
        "exec start",
        "exec inspect",
    ]
    assert result["timed_out"] is True
    assert result["exit_code"] is None
    # Stopped at its 2 s timeout; broken, it sleeps 301 s. The upper bounds are slack for a
    # shared engine on a loaded machine: an inspect, the command, a short clean-up.
    assert 2.0 <= result["duration_s"] < 2.0 + 10
    assert elapsed < 30.0, "an inspect, the command to its timeout and a short clean-up"
    assert result["cleanup"]["error"] is None
    assert result["cleanup"]["killed"] >= 3
    assert result["cleanup"]["remaining"] == 0
    left = await _docker("top", name, "-o", "pid,args")
    assert "sleep 301" not in left
    assert "sleep 302" not in left
    assert "sleep 1000" in left


async def test_cancelled_exec_ends_promptly_and_leaves_no_process(executor, containers):
    """Cancelling an exec kills docker exec and its command in the container within seconds.

    Pins item 2 of the review: a cancelled exec used to run to its own timeout (40 s
    here); now the cancel comes through once docker exec is killed and the marker
    clean-up has removed ``sleep 30`` from the container.
    """
    name = containers.run("sleep", "1000")
    task = asyncio.create_task(executor.execute_command(name, ["sleep", "30"], timeout=40))
    for _ in range(150):  # wait until the command runs in the container (15 s at most)
        if "sleep 30" in await _docker("top", name, "-o", "pid,args"):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the exec's command never showed up in the container")
    began = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - began < 25.0  # not the exec's 40 s timeout
    left = await _docker("top", name, "-o", "pid,args")
    assert "sleep 30" not in left
    assert "sleep 1000" in left


async def test_exec_timeout_cleanup_works_for_another_user(executor, containers):
    """The clean-up runs as the command's user, so it finds and kills a non-root command."""
    name = containers.run("sleep", "1000")
    result = await executor.execute_command(name, ["sleep", "303"], user="nobody", timeout=1)
    assert result["timed_out"] is True
    assert result["cleanup"] == {"killed": 1, "remaining": 0, "error": None}
    left = await _docker("top", name, "-o", "pid,args")
    assert "sleep 303" not in left


async def test_exec_output_is_capped_with_head_and_tail(executor, containers):
    """A megabyte of output comes back as its start and end, flagged and counted."""
    name = containers.run("sleep", "1000")
    result = await executor.execute_command(
        name, ["sh", "-c", "echo BEGIN; head -c 1000000 /dev/zero | tr '\\0' a; echo; echo END"]
    )
    assert result["stdout_truncated"] is True
    assert result["stdout_bytes"] == 1000011
    assert result["stdout"].startswith("BEGIN\n")
    assert result["stdout"].endswith("END\n")
    assert result["success"] is True


async def test_exec_user_and_workdir_apply_and_bad_ones_are_reported(executor, containers):
    """User and workdir take effect; an unknown user comes back as docker's 126 and reason."""
    name = containers.run("sleep", "1000")
    who = await executor.execute_command(name, ["id", "-u"], user="nobody")
    where = await executor.execute_command(name, ["pwd"], workdir="/www")
    ghost = await executor.execute_command(name, ["true"], user="ghost-user")
    assert who["stdout"] == "65534\n"
    assert where["stdout"] == "/www\n"
    assert ghost["exit_code"] == 126
    assert "unable to find user ghost-user" in ghost["stdout"] + ghost["stderr"]


async def test_exec_in_a_stopped_or_missing_container_is_a_clear_error(executor, containers):
    """A stopped container raises ContainerStateError; a missing one ContainerNotFound."""
    name = containers.run("true")
    await _docker("wait", name)
    with record_requests() as seen, pytest.raises(ContainerStateError, match="not running"):
        await executor.execute_command(name, ["true"])
    assert _verbs(seen) == ["inspect"]
    with pytest.raises(ContainerNotFound):
        await executor.execute_command("opc-no-such-container-y", ["true"])


async def test_exec_output_that_mimics_the_engine_is_the_commands_result(
    executor, containers, monkeypatch
):
    """A command printing the engine's refusal text to stderr and exiting 1 is a result.

    Over the API the engine's refusals are statuses, never text in the output, so no second
    read is needed. A real refusal still raises: with the first check skipped, an exec in
    a stopped container is refused by the engine (409) as ContainerStateError.
    """
    name = containers.run("sleep", "1000")
    mimic = "Error response from daemon: No such container: X"
    with record_requests() as seen:
        result = await executor.execute_command(name, ["sh", "-c", f"echo '{mimic}' >&2; exit 1"])
    assert _verbs(seen) == ["inspect", "exec create", "exec start", "exec inspect"]
    assert (result["exit_code"], result["success"], result["timed_out"]) == (1, False, False)
    assert result["stderr"] == mimic + "\n"

    stopped = containers.run("true")
    await _docker("wait", stopped)
    monkeypatch.setattr(execution, "_running", fetch)
    with record_requests() as refused, pytest.raises(ContainerStateError) as raised:
        await executor.execute_command(stopped, ["true"])
    assert _verbs(refused) == ["inspect", "exec create"]
    assert "is not running" in str(raised.value)


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("get_container_logs", {"tail": 0}),
        ("get_container_logs", {"since": "last tuesday"}),
        ("get_container_logs", {"stream": "stdin"}),
        ("execute_command", {"command": "ls -la"}),
        ("execute_command", {"command": ["ls"], "env": {"BAD-KEY": "x"}}),
        ("execute_command", {"command": ["ls"], "env": {"K": "line\nbreak"}}),
        ("execute_command", {"command": ["ls"], "workdir": "tmp"}),
        ("execute_command", {"command": ["ls"], "user": "a;b"}),
        ("execute_command", {"command": ["ls"], "timeout": 0}),
    ],
)
async def test_bad_inputs_start_no_docker_process(executor, containers, method, kwargs):
    """Bad arguments raise InvalidInput before any docker process starts."""
    name = containers.run("sleep", "1000")
    with (
        count_docker_processes() as seen,
        record_requests() as requests,
        pytest.raises(InvalidInput),
    ):
        await getattr(executor, method)(name, **kwargs)
    assert seen.count == 0
    assert requests == []
