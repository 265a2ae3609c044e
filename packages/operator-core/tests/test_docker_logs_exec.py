"""Unit tests of get_container_logs, execute_command and their bounded capture.

The client is mocked and the docker process is replaced by a local Python process that
prints what ``docker logs`` / ``docker exec`` would, so the real pipe reading, caps,
deadlines and kills are exercised without an engine.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from operator_core import validate
from operator_core.docker._engine import capture as _capture
from operator_core.docker._engine.capture import HeadTail, LineCollector
from operator_core.docker.containers import execution
from operator_core.errors import (
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
