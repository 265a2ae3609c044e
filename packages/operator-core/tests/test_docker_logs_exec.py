"""Unit tests of get_container_logs, execute_command and their bounded capture.

The client is mocked and the docker process is replaced by a local Python process that
prints what ``docker logs`` / ``docker exec`` would, so the real pipe reading, caps,
deadlines and kills are exercised without an engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import MagicMock, patch

import pytest
import time_machine
from python_on_whales.exceptions import DockerException, NoSuchContainer

from operator_core import limits, validate
from operator_core.docker import DockerActionExecutor
from operator_core.docker._engine import capture as _capture
from operator_core.docker._engine.capture import HeadTail, LineCollector
from operator_core.docker.containers import execution, logs
from operator_core.errors import (
    ContainerNotFound,
    ContainerStateError,
    EngineUnreachable,
    InvalidInput,
)
from operator_core.testing import inspect_result
from process_fakes import FakeDocker

CID = "0123456789ab" * 5 + "cdef"
STAMP = "2026-11-29T10:00:{:02d}.{:09d}Z"


def stamp(second: int, nanos: int = 0) -> str:
    """Return an engine timestamp at ``second`` past 10:00."""
    return STAMP.format(second, nanos)


@pytest.fixture
def client(client: MagicMock) -> MagicMock:
    """The mocked shared client, inspecting as a running container."""
    client.container.inspect.return_value = inspect_result(id=CID, name="web")
    return client


@pytest.fixture
def fake(client: MagicMock) -> Iterator[FakeDocker]:
    """The docker processes replaced by scripted local ones."""
    double = FakeDocker()
    with patch("operator_core.docker._engine.capture._spawn", double):
        yield double


def log_lines(*lines: tuple[int, str]) -> bytes:
    """Return ``docker logs --timestamps`` output for (second, text) pairs."""
    return b"".join(f"{stamp(s)} {text}\n".encode() for s, text in lines)


def option(command: list[str], name: str) -> str:
    """Return the value following ``name`` in ``command``."""
    return command[command.index(name) + 1]


# --- logs: arguments -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tail": 0},
        {"tail": -5},
        {"tail": "10"},
        {"tail": True},
        {"tail": 1.5},
        {"stream": "all"},
        {"stream": None},
        {"since": "yesterday"},
        {"since": "10"},
        {"since": "-5m"},
        {"since": 1700000000},
        {"until": "10 minutes"},
        {"since": "5m", "until": "10m"},
        {"since": "2026-11-29T10:00:00Z", "until": "2026-11-29T09:00:00Z"},
        {"timestamps": "yes"},
        {"container_id": "-f"},
        {"container_id": "web; rm -rf /"},
    ],
)
async def test_logs_bad_arguments_are_refused_before_anything_runs(executor, client, fake, kwargs):
    """Every malformed logs argument raises InvalidInput and no docker process starts."""
    arguments = {"container_id": "web", **kwargs}
    with pytest.raises(InvalidInput):
        await executor.get_container_logs(**arguments)
    assert fake.commands == []
    client.container.inspect.assert_not_called()


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2026-11-29T10:00:00Z", "2026-11-29T10:00:00Z"),
        ("2026-11-29T10:00:00Z", "2026-11-29T12:00:00+02:00"),  # one moment, two spellings
        ("2026-11-29T10:00:00.5Z", datetime(2026, 11, 29, 10, 0, 0, 500000, tzinfo=UTC)),
        ("5m", "300s"),
    ],
)
async def test_logs_since_equal_to_until_is_refused(executor, client, fake, since, until):
    """``since`` equal to ``until`` is an empty window: InvalidInput, and nothing runs.

    Pins the boundary of the window check: ``since`` must be strictly before ``until``.
    """
    with pytest.raises(InvalidInput, match="must be before until"):
        await executor.get_container_logs("web", since=since, until=until)
    assert fake.commands == []
    client.container.inspect.assert_not_called()


async def test_logs_default_asks_the_engine_for_the_last_100_with_timestamps(executor, fake):
    """The default tail is 100; the engine tails, timestamps always, and it never follows."""
    fake.scripts.append((log_lines((1, "hello")), b"", 0))
    result = await executor.get_container_logs("web")
    (command,) = fake.commands
    assert command[:3] == ["docker", "container", "logs"]
    assert option(command, "--tail") == "100"
    assert "--timestamps" in command
    assert command[-1] == CID
    assert not {"-f", "--follow"} & set(command)
    assert result["tail_limit"] == 100
    assert result["lines"] == [
        {"timestamp": stamp(1), "stream": "stdout", "text": "hello", "truncated": False}
    ]
    assert result["line_count"] == 1
    assert result["truncated"] is False
    json.dumps(result)


async def test_logs_interleave_both_streams_in_time_order_each_tagged(executor, fake):
    """With stream=both, stdout and stderr lines come back merged by time, each tagged."""
    out = log_lines((1, "o1"), (3, "o3"))
    err = log_lines((2, "e2"), (4, "e4"))
    fake.scripts.append((out, err, 0))
    result = await executor.get_container_logs("web", tail=4)
    assert [(line["stream"], line["text"]) for line in result["lines"]] == [
        ("stdout", "o1"),
        ("stderr", "e2"),
        ("stdout", "o3"),
        ("stderr", "e4"),
    ]
    assert result["bytes"] == 8


async def test_logs_of_one_stream_scan_past_the_other_and_keep_only_it(executor, fake):
    """stream=stderr asks the engine for its whole window and returns only stderr lines."""
    out = log_lines(*[(i % 60, f"o{i}") for i in range(50)])
    err = log_lines((10, "e1"), (20, "e2"), (30, "e3"))
    fake.scripts.append((out, err, 0))
    result = await executor.get_container_logs("web", tail=2, stream="stderr")
    assert option(fake.commands[0], "--tail") == str(limits.MAX_TAIL + 1)
    assert [line["text"] for line in result["lines"]] == ["e2", "e3"]
    assert {line["stream"] for line in result["lines"]} == {"stderr"}
    assert result["truncated"] is False


async def test_logs_of_one_stream_say_when_the_window_ran_out(executor, fake, monkeypatch):
    """A full engine window with fewer lines of the stream than asked is a tail_cap cut."""
    monkeypatch.setattr(logs, "MAX_TAIL", 5)
    out = log_lines(*[(i, f"o{i}") for i in range(5)])
    fake.scripts.append((out, log_lines((9, "e")), 0))
    result = await executor.get_container_logs("web", tail=3, stream="stderr")
    assert [line["text"] for line in result["lines"]] == ["e"]
    assert result["truncation"] == ["tail_cap"]


async def test_logs_tail_over_the_cap_is_capped_and_the_result_says_so(executor, fake, monkeypatch):
    """A tail above MAX_TAIL returns MAX_TAIL lines, with tail_cap when more existed."""
    monkeypatch.setattr(logs, "MAX_TAIL", 10)
    fake.scripts.append((log_lines(*[(i, f"l{i}") for i in range(11)]), b"", 0))
    result = await executor.get_container_logs("web", tail=500)
    assert option(fake.commands[0], "--tail") == "11"
    assert result["tail_limit"] == 10
    assert [line["text"] for line in result["lines"]] == [f"l{i}" for i in range(1, 11)]
    assert result["truncated"] is True
    assert result["truncation"] == ["tail_cap"]


async def test_logs_tail_over_the_cap_with_fewer_lines_is_not_truncated(
    executor, fake, monkeypatch
):
    """A capped tail that nonetheless got every line there was reports no cut."""
    monkeypatch.setattr(logs, "MAX_TAIL", 10)
    fake.scripts.append((log_lines((1, "only")), b"", 0))
    result = await executor.get_container_logs("web", tail=500)
    assert result["tail_limit"] == 10
    assert result["line_count"] == 1
    assert result["truncated"] is False


async def test_logs_without_timestamps_strip_them_and_carriage_returns(executor, fake):
    """timestamps=False gives timestamp None and the bare text; a TTY's CR is dropped."""
    fake.scripts.append((f"{stamp(1)} tty line\r\n".encode(), b"", 0))
    result = await executor.get_container_logs("web", timestamps=False)
    assert result["lines"] == [
        {"timestamp": None, "stream": "stdout", "text": "tty line", "truncated": False}
    ]


async def test_logs_report_a_tty_container(executor, client, fake):
    """A container with a TTY (one merged stream) is reported with tty true."""
    model = inspect_result(id=CID, name="web")
    model.config.tty = True
    client.container.inspect.return_value = model
    fake.scripts.append((log_lines((1, "x")), b"", 0))
    result = await executor.get_container_logs("web")
    assert result["tty"] is True


async def test_logs_cut_an_over_long_line_and_flag_it(executor, fake):
    """A line longer than MAX_LINE_BYTES keeps its first MAX_LINE_BYTES bytes, flagged."""
    long = "x" * (3 * logs.MAX_LINE_BYTES)
    fake.scripts.append((log_lines((1, long), (2, "after")), b"", 0))
    result = await executor.get_container_logs("web")
    first, after = result["lines"]
    assert first["text"] == "x" * logs.MAX_LINE_BYTES
    assert first["truncated"] is True
    assert after == {"timestamp": stamp(2), "stream": "stdout", "text": "after", "truncated": False}
    assert result["truncation"] == ["long_line"]


async def test_logs_keep_the_newest_lines_within_the_byte_cap(executor, fake, monkeypatch):
    """Lines beyond MAX_LOG_BYTES are dropped oldest first, with byte_cap."""
    monkeypatch.setattr(logs, "MAX_LOG_BYTES", 400)
    fake.scripts.append((log_lines(*[(i, f"{i:02d}" + "y" * 60) for i in range(20)]), b"", 0))
    result = await executor.get_container_logs("web", tail=20)
    texts = [line["text"] for line in result["lines"]]
    assert texts[-1].startswith("19")
    assert 0 < len(texts) < 20
    assert result["bytes"] <= 400
    assert "byte_cap" in result["truncation"]


async def test_logs_kill_the_process_past_the_read_cap(executor, fake, monkeypatch):
    """A docker process sending more than MAX_READ_BYTES is killed; read_cap says so."""
    monkeypatch.setattr(logs, "MAX_READ_BYTES", 1 << 20)
    fake.scripts.append(
        "import sys\nwhile True: sys.stdout.buffer.write(b'2026-11-29T10:00:00.000000000Z '"
        " + b'z' * 1000 + b'\\n')"
    )
    result = await executor.get_container_logs("web", tail=50)
    # No stopwatch: had the cap not killed it, the read would end at the deadline instead
    # and say so in ``truncation``.
    assert result["truncated"] is True
    assert "read_cap" in result["truncation"]
    assert (1 << 20) < result["bytes_read"] < (1 << 20) + 2 * _capture.CHUNK


async def test_logs_return_what_was_read_when_the_deadline_nears(client, fake):
    """A docker logs that hangs is killed before the call's deadline; deadline says so.

    The deadline leaves the child 2.25 s (deadline less its margin) to start and print,
    ample on a loaded machine. That the call ended before its deadline needs no stopwatch:
    past it, run_bounded raises OperationTimeout instead of returning a result.
    """
    executor = DockerActionExecutor(call_deadline=3.0)
    fake.scripts.append(
        "import sys, time\nsys.stdout.buffer.write(b'2026-11-29T10:00:00.000000000Z early\\n')"
        "\nsys.stdout.flush(); time.sleep(60)"
    )
    result = await executor.get_container_logs("web")
    assert [line["text"] for line in result["lines"]] == ["early"]
    assert result["truncation"] == ["deadline"]


async def test_logs_since_and_until_are_normalised_for_the_engine(executor, fake):
    """Durations pass as given; ISO times become UTC with their nanoseconds kept.

    The wall clock is frozen just after ``until``, so ``since`` (1h30m before now) falls
    before it on any date the suite runs.
    """
    fake.scripts.append((b"", b"", 0))
    with time_machine.travel(datetime(2026, 11, 29, 10, 30, tzinfo=UTC), tick=False):
        await executor.get_container_logs(
            "web", since="1h30m", until="2026-11-29T12:00:00.123456789+02:00"
        )
    command = fake.commands[0]
    assert option(command, "--since") == "1h30m"
    assert option(command, "--until") == "2026-11-29T10:00:00.123456789Z"


async def test_logs_days_and_weeks_reach_the_engine_as_seconds(executor, fake):
    """Go durations have no d or w unit, so ``2d`` goes to the engine as ``172800s``."""
    fake.scripts.append((b"", b"", 0))
    await executor.get_container_logs("web", since="1w2d", until="1d")
    command = fake.commands[0]
    assert option(command, "--since") == "777600s"
    assert option(command, "--until") == "86400s"


async def test_logs_a_naive_datetime_is_taken_as_utc(executor, fake):
    """A datetime without a time zone is read as UTC."""
    fake.scripts.append((b"", b"", 0))
    await executor.get_container_logs("web", since=datetime(2026, 11, 29, 8, 0, 0, 5))
    assert option(fake.commands[0], "--since") == "2026-11-29T08:00:00.000005000Z"


async def test_logs_of_a_missing_container_raise_container_not_found(executor, client, fake):
    """An inspect that finds no container raises ContainerNotFound; logs never run."""
    client.container.inspect.side_effect = NoSuchContainer(
        ["docker"], 1, b"", b"Error: No such container: ghost"
    )
    with pytest.raises(ContainerNotFound, match="ghost"):
        await executor.get_container_logs("ghost")
    assert fake.commands == []


async def test_logs_engine_refusal_becomes_an_operator_error_without_the_command(executor, fake):
    """A failing docker logs (container gone meanwhile) raises ContainerNotFound, no argv."""
    fake.scripts.append((b"", b"Error response from daemon: No such container: web\n", 1))
    with pytest.raises(ContainerNotFound) as raised:
        await executor.get_container_logs("web", since="10m")
    assert "--since" not in str(raised.value)
    assert "--since" not in str(raised.value.__cause__)


# --- exec: arguments -------------------------------------------------------------------

SECRET = "hunter2-s3cret"  # noqa: S105 - a made-up value the tests look for


@pytest.mark.parametrize(
    "kwargs",
    [
        {"command": "ls -la"},
        {"command": []},
        {"command": ["ls", 3]},
        {"command": ["ls", "a\x00b"]},
        {"command": ["  ", "x"]},
        {"command": None},
        {"user": "root; rm"},
        {"user": ""},
        {"user": "a b"},
        {"user": 0},
        {"workdir": "relative/dir"},
        {"workdir": "/tmp\nx"},
        {"env": {"1BAD": "x"}},
        {"env": {"A-B": "x"}},
        {"env": {"": "x"}},
        {"env": {"OPERATOR_CORE_EXEC_ID": "x"}},
        {"env": {"A": 1}},
        {"env": ["A=1"]},
        {"timeout": 0},
        {"timeout": -1},
        {"timeout": "5"},
        {"timeout": 7200},
        {"container_id": ""},
    ],
)
async def test_exec_bad_arguments_are_refused_before_anything_runs(executor, client, fake, kwargs):
    """Every malformed exec argument raises InvalidInput and no docker process starts."""
    arguments = {"container_id": "web", "command": ["true"], **kwargs}
    with pytest.raises(InvalidInput):
        await executor.execute_command(**arguments)
    assert fake.commands == []
    client.container.inspect.assert_not_called()


@pytest.mark.parametrize("value", [f"{SECRET}\nX=1", f"{SECRET}\r", f"{SECRET}\x00"])
async def test_exec_an_env_value_the_file_cannot_carry_is_refused_without_echoing_it(
    executor, fake, value
):
    """A newline, CR or NUL in an env value is refused; the message names only the key."""
    with pytest.raises(InvalidInput) as raised:
        await executor.execute_command("web", ["true"], env={"TOKEN": value})
    assert "TOKEN" in str(raised.value)
    assert SECRET not in str(raised.value)
    assert fake.commands == []


async def test_exec_returns_exit_code_and_both_streams(executor, fake):
    """A command that exits 3 writing to stderr: exit_code 3, success false, streams apart."""
    fake.scripts.append((b"partial\n", b"boom\n", 3))
    result = await executor.execute_command("web", ["sh", "-c", "exit 3"])
    assert result["exit_code"] == 3
    assert result["success"] is False
    assert result["stdout"] == "partial\n"
    assert result["stderr"] == "boom\n"
    assert result["truncated"] is False
    assert result["timed_out"] is False
    assert result["cleanup"] is None
    assert result["container_id"] == CID
    assert result["duration_s"] >= 0
    json.dumps(result)


async def test_exec_command_is_passed_as_its_own_arguments(executor, fake):
    """The command's words follow the container id unchanged; user and workdir are options."""
    fake.scripts.append((b"ok", b"", 0))
    words = ["sh", "-c", "echo $HOME; rm -rf /nothing", "arg with spaces"]
    result = await executor.execute_command("web", words, user="nobody:nogroup", workdir="/srv")
    command = fake.commands[0]
    assert command[-len(words) :] == words
    assert command[-len(words) - 1] == CID
    assert option(command, "--user") == "nobody:nogroup"
    assert option(command, "--workdir") == "/srv"
    assert result["success"] is True


async def test_exec_env_values_travel_in_an_env_file_never_on_the_command_line(executor, fake):
    """Env values reach docker through --env-file /dev/fd/N only; argv and result lack them."""
    fake.scripts.append((b"done", b"", 0))
    result = await executor.execute_command("web", ["true"], env={"TOKEN": SECRET, "B": "x=y"})
    command = fake.commands[0]
    assert option(command, "--env-file").startswith("/dev/fd/")
    assert not any(SECRET in word for word in command)
    (content,) = fake.env_files
    lines = content.splitlines()
    assert f"TOKEN={SECRET}" in lines
    assert "B=x=y" in lines
    assert any(line.startswith(f"{validate.MARKER_KEY}=") for line in lines)
    assert SECRET not in json.dumps(result)


async def test_exec_output_keeps_head_and_tail_within_the_cap(executor, fake):
    """Output past EXEC_OUTPUT_CAP keeps its start and end, counted and flagged."""
    fake.scripts.append(
        "import sys\nsys.stdout.buffer.write(b'START' + b'm' * 1000000 + b'END')\n"
        "sys.stderr.buffer.write(b'small')"
    )
    result = await executor.execute_command("web", ["big"])
    assert result["stdout_truncated"] is True
    assert result["stdout_bytes"] == 1000008
    assert result["stdout"].startswith("START")
    assert result["stdout"].endswith("END")
    assert "bytes omitted" in result["stdout"]
    assert len(result["stdout"]) < limits.EXEC_OUTPUT_CAP + 100
    assert result["stderr"] == "small"
    assert result["stderr_truncated"] is False
    assert result["truncated"] is True


async def test_exec_timeout_kills_docker_and_cleans_up_inside_the_container(executor, fake):
    """Past the timeout: timed_out true, prompt return, and a marker clean-up exec as the user."""
    fake.scripts.append("import time, sys\nprint('started', flush=True)\ntime.sleep(60)")
    fake.scripts.append((b"killed=2 remaining=0\n", b"", 0))
    began = time.monotonic()
    result = await executor.execute_command("web", ["sleep", "60"], user="nobody", timeout=2.0)
    # Killed at 2 s, where a missed kill runs the script's 60 s: 20 s tells them apart even
    # on a loaded machine, with no bet on its speed.
    assert time.monotonic() - began < 20.0
    assert result["timed_out"] is True
    assert result["exit_code"] is None
    assert result["success"] is False
    assert result["stdout"] == "started\n"
    assert 2.0 <= result["duration_s"] < 20.0  # it ran its whole timeout, then was stopped
    assert result["cleanup"] == {"killed": 2, "remaining": 0, "error": None}
    _, second = fake.commands
    marker = next(
        line.split("=", 1)[1]
        for line in fake.env_files[0].splitlines()
        if line.startswith(validate.MARKER_KEY)
    )
    assert second[:4] == ["docker", "exec", "--user", "nobody"]
    assert second[4] == CID
    assert second[-1] == marker
    assert "--env-file" not in second


def test_exec_cleanup_script_sigkills_the_marked_processes_even_if_they_ignore_term():
    """The clean-up script SIGKILLs every process carrying the marker, not only stops them.

    Run here as it runs inside a container: a marked shell that ignores SIGTERM, and its
    marked child, must die of SIGKILL (a stopped or TERMed process would still be there),
    an unmarked process is left alone, and the report counts both kills and none left.
    """
    marker = f"{validate.MARKER_KEY}=pin-{os.getpid()}-{time.monotonic_ns()}"
    key, value = marker.split("=", 1)
    marked = subprocess.Popen(
        ["sh", "-c", 'trap "" TERM; sleep 300 & echo started; wait'],
        env={**os.environ, key: value},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so the finally below can kill its child too
    )
    bystander = subprocess.Popen(["sleep", "300"], env={**os.environ, key: value + "-other"})
    try:
        assert marked.stdout is not None
        assert marked.stdout.readline() == "started\n"
        report = subprocess.run(
            ["sh", "-c", execution._CLEANUP_SCRIPT, "operator-core-cleanup", value],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert report.stdout.strip() == "killed=2 remaining=0"
        assert marked.wait(timeout=60) == -signal.SIGKILL
        assert bystander.poll() is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(marked.pid, signal.SIGKILL)
        bystander.kill()
        for process in (marked, bystander):
            process.wait()


async def test_exec_timeout_cleanup_failure_is_reported_not_hidden(executor, fake):
    """A clean-up that cannot run (no sh in the image) is reported in cleanup.error."""
    fake.scripts.append("import time\ntime.sleep(60)")
    fake.scripts.append(
        (b"", b'OCI runtime exec failed: exec: "sh": executable file not found in $PATH\n', 126)
    )
    result = await executor.execute_command("web", ["sleep", "60"], timeout=0.3)
    assert result["timed_out"] is True
    cleanup = result["cleanup"]
    assert cleanup["remaining"] is None
    assert "executable file not found" in cleanup["error"]


async def test_exec_a_program_that_cannot_start_is_a_result_with_code_126(executor, fake):
    """Docker's 126 (program not found) comes back as a result with the reason in stderr."""
    reason = b'OCI runtime exec failed: exec: "nosuch": executable file not found in $PATH\n'
    fake.scripts.append((b"", reason, 126))
    result = await executor.execute_command("web", ["nosuch"])
    assert result["exit_code"] == 126
    assert "executable file not found" in result["stderr"]


async def test_exec_a_commands_own_error_line_is_not_taken_for_the_engines(executor, fake):
    """A command that prints 'Error: ...' and exits 1 is a result, not an exception."""
    fake.scripts.append((b"", b"Error: config file missing\n", 1))
    result = await executor.execute_command("web", ["app", "check"])
    assert result["exit_code"] == 1
    assert result["stderr"] == "Error: config file missing\n"


@pytest.mark.parametrize(
    ("status", "words"),
    [("exited", "not running"), ("created", "not running"), ("paused", "paused")],
)
async def test_exec_in_a_container_that_is_not_running_is_refused(
    executor, client, fake, status, words
):
    """A stopped, created or paused container raises ContainerStateError; no exec runs."""
    client.container.inspect.return_value = inspect_result(id=CID, name="web", status=status)
    with pytest.raises(ContainerStateError, match=words):
        await executor.execute_command("web", ["true"])
    assert fake.commands == []


async def test_exec_engine_refusal_mid_call_becomes_a_state_error(executor, client, fake):
    """The container stopping between inspect and exec raises ContainerStateError.

    The refusal is confirmed by a second inspect, which finds the container exited; one
    removed meanwhile raises ContainerNotFound naming the reference.
    """
    refusal = f"Error response from daemon: Container {CID} is not running\n".encode()
    fake.scripts.append((b"", refusal, 1))
    client.container.inspect.side_effect = [
        inspect_result(id=CID, name="web"),
        inspect_result(id=CID, name="web", status="exited", exit_code=137),
    ]
    with pytest.raises(ContainerStateError, match="is not running") as raised:
        await executor.execute_command("web", ["true"], env={"TOKEN": SECRET})
    assert "is not running" in str(raised.value.__cause__)
    assert SECRET not in str(raised.value)

    fake.scripts.append((b"", b"Error response from daemon: No such container: web\n", 1))
    client.container.inspect.side_effect = [
        inspect_result(id=CID, name="web"),
        NoSuchContainer(["docker"], 1, b"", b"Error: No such container: " + CID.encode()),
    ]
    with pytest.raises(ContainerNotFound) as gone:
        await executor.execute_command("web", ["true"])
    assert gone.value.reference == "web"


async def test_exec_a_commands_own_daemon_like_error_is_a_result(executor, client, fake):
    """A command whose last stderr line mimics the engine's refusal is a result, not an error.

    The container, read again (one more inspect, only after such a line), still runs, so
    the exit code and both streams come back as the command wrote them.
    """
    mimic = b"Error response from daemon: No such container: X\n"
    fake.scripts.append((b"partial\n", mimic, 1))
    result = await executor.execute_command("web", ["sh", "-c", "echo ... >&2; exit 1"])
    assert (result["exit_code"], result["success"]) == (1, False)
    assert result["stdout"] == "partial\n"
    assert result["stderr"] == mimic.decode()
    assert client.container.inspect.call_count == 2
    assert len(fake.commands) == 1

    fake.scripts.append((b"", b"Error response from daemon: maybe\nthen my own line\n", 1))
    ordinary = await executor.execute_command("web", ["app"])
    assert ordinary["exit_code"] == 1
    assert client.container.inspect.call_count == 3


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie or a missing one does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def _sleeper(pid_file: Path) -> str:
    """Return a script that writes its pid to ``pid_file``, says started, then sleeps."""
    return (
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "print('started', flush=True)\ntime.sleep(60)"
    )


async def _started(pid_file: Path) -> int:
    """Wait until the scripted process wrote its pid; return it."""
    for _ in range(200):
        text = pid_file.read_text() if pid_file.exists() else ""  # noqa: ASYNC240 - tiny file
        if text:
            return int(text)
        await asyncio.sleep(0.05)
    raise AssertionError("the scripted docker process never started")


async def test_exec_cancelled_kills_docker_exec_and_cleans_up(executor, fake, tmp_path, caplog):
    """A cancelled exec stops at once: docker exec killed, the marker clean-up run, logged.

    Pins item 2 of the review: without the cancel flag the exec ran to its own timeout
    (40 s here) holding its worker thread; now the cancel comes through within seconds,
    only after the process is gone and the clean-up exec ran, and a warning records the
    cancellation with the clean-up's report.
    """
    pid_file = tmp_path / "pid"
    fake.scripts.append(_sleeper(pid_file))
    fake.scripts.append((b"killed=1 remaining=0\n", b"", 0))
    task = asyncio.create_task(executor.execute_command("web", ["sleep", "60"], timeout=40))
    pid = await _started(pid_file)
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="operator_core.docker.containers.execution"):
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # Without the cancel the exec runs to its 40 s timeout: 20 s tells the two apart on
    # a loaded machine.
    assert time.monotonic() - began < 20.0
    assert not _alive(pid)
    first, cleanup = fake.commands
    assert first[:2] == ["docker", "exec"]
    assert "operator-core-cleanup" in cleanup
    assert "cancelled" in caplog.text
    assert "'killed': 1" in caplog.text
    assert SECRET not in caplog.text


async def test_logs_cancelled_kill_the_docker_logs_process(executor, fake, tmp_path):
    """A cancelled logs read kills its docker process at once; nothing else runs.

    Pins that get_container_logs hands its cancel flag to capture: without it a stuck
    ``docker logs`` held the call until the call's deadline.
    """
    pid_file = tmp_path / "pid"
    fake.scripts.append(_sleeper(pid_file))
    task = asyncio.create_task(executor.get_container_logs("web"))
    pid = await _started(pid_file)
    began = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Without the cancel flag the read runs to the call's 30 s deadline: 15 s tells the two
    # apart on a loaded machine.
    assert time.monotonic() - began < 15.0
    assert not _alive(pid)
    assert len(fake.commands) == 1


def test_capture_stops_when_its_cancel_event_is_set():
    """Capture kills the process within a poll of ``cancel`` being set: stopped 'cancelled'.

    Pins the cancel check in the pump loop (select waits at most POLL_S).
    """
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    outcome = _capture.capture(
        [sys.executable, "-c", "import time; print('x', flush=True); time.sleep(60)"],
        stdout=HeadTail(100),
        stderr=HeadTail(100),
        deadline_at=time.monotonic() + 30,
        cancel=cancel,
    )
    # No stopwatch: a cancel not seen would end the capture at its deadline, as "deadline".
    assert outcome.stopped == "cancelled"
    assert outcome.returncode is None


@pytest.mark.parametrize(
    "line",
    [
        b"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
        b"Is the docker daemon running?\n",
        b'error during connect: Post "http://x/v1.47/exec/abc/start": EOF\n',
    ],
)
async def test_exec_cli_that_reached_no_engine_is_engine_unreachable(executor, client, fake, line):
    """The CLI's own 'could not reach the engine' line raises EngineUnreachable.

    Pins item 3: such a last line (exit 1) used to come back as the command's exit 1. The
    container is read again, and the engine not answering that read confirms it.
    """
    fake.scripts.append((b"", line, 1))
    client.container.inspect.side_effect = [
        inspect_result(id=CID, name="web"),
        DockerException(["docker", "inspect"], 1, b"", line),
    ]
    with pytest.raises(EngineUnreachable, match="could not reach the Docker engine"):
        await executor.execute_command("web", ["true"])
    assert client.container.inspect.call_count == 2


async def test_exec_a_docker_cli_inside_the_container_failing_to_connect_is_a_result(
    executor, client, fake
):
    """A command (a docker CLI inside the container) writing the same line is a result.

    The re-read finds the engine answering and the container running, so the line was
    the command's own.
    """
    line = b"Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n"
    fake.scripts.append((b"", line, 1))
    result = await executor.execute_command("web", ["docker", "ps"])
    assert result["exit_code"] == 1
    assert result["stderr"] == line.decode()
    assert client.container.inspect.call_count == 2


# --- the capture sinks -----------------------------------------------------------------


def test_line_collector_joins_lines_split_across_reads_and_cuts_long_ones():
    """Lines split over several reads are joined; a long one keeps max_line bytes, flagged."""
    collector = LineCollector(max_lines=10, max_bytes=1000, max_line=5)
    for piece in (b"ab", b"c\nlonger", b"line\n", b"tail"):
        collector.feed(piece)
    collector.close()
    assert list(collector.lines) == [(b"abc", False), (b"longe", True), (b"tail", False)]
    assert collector.seen == 3


def test_line_collector_keeps_the_newest_within_count_and_bytes():
    """Beyond max_lines the oldest go; beyond max_bytes too, and that is flagged."""
    by_count = LineCollector(max_lines=2, max_bytes=1000, max_line=100)
    by_count.feed(b"1\n2\n3\n")
    assert [raw for raw, _ in by_count.lines] == [b"2", b"3"]
    assert by_count.dropped_for_bytes is False
    by_bytes = LineCollector(max_lines=10, max_bytes=6, max_line=100)
    by_bytes.feed(b"aaa\nbbb\nccc\n")
    assert [raw for raw, _ in by_bytes.lines] == [b"bbb", b"ccc"]
    assert by_bytes.dropped_for_bytes is True


def test_line_collector_counting_only_holds_nothing_and_estimates_entries():
    """max_lines=0 counts lines without holding them; a long line counts as several entries."""
    collector = LineCollector(max_lines=0, max_bytes=10, max_line=4, entry_size=10)
    collector.feed(b"short\n" + b"x" * 35 + b"\n")
    assert list(collector.lines) == []
    assert collector.seen == 2
    assert collector.entries == 1 + 4


def test_head_tail_keeps_both_ends_and_counts_everything():
    """HeadTail keeps the first and last halves of its cap and marks what it dropped."""
    sink = HeadTail(10)
    for piece in (b"01234", b"56789abcdef", b"ghij"):
        sink.feed(piece)
    assert sink.total == 20
    assert sink.truncated is True
    assert sink.text() == "01234\n[... 10 bytes omitted ...]\nfghij"
    small = HeadTail(10)
    small.feed(b"hello")
    assert small.text() == "hello"
    assert small.truncated is False


def test_env_file_is_in_memory_and_closed_after():
    """env_file yields a readable in-memory descriptor holding KEY=VALUE lines, then closes."""
    with _capture.env_file({"A": "1", "B": "two words"}) as fd:
        assert os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:operator-core-env")
        assert os.pread(fd, 100, 0) == b"A=1\nB=two words\n"
    try:
        after = os.readlink(f"/proc/self/fd/{fd}")
    except FileNotFoundError:
        after = "closed"
    assert not after.startswith("/memfd:operator-core-env")


def test_capture_kills_the_whole_process_group_at_the_deadline():
    """A process and its child are both killed when the deadline passes."""
    script = textwrap.dedent(
        """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print(child.pid, flush=True)
        time.sleep(60)
        """
    )
    out = HeadTail(1000)
    outcome = _capture.capture(
        [sys.executable, "-c", script],
        stdout=out,
        stderr=HeadTail(1000),
        deadline_at=time.monotonic() + 1.0,
    )
    assert outcome.stopped == "deadline"
    assert outcome.returncode is None
    child = int(out.text())
    # SIGKILL to the group has been sent; the kernel ends the child soon after, so wait for
    # that (a live child still sleeps its 60 s) rather than sleep a guessed moment.
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child)
