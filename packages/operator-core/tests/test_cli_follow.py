"""`logs -f`'s line reader and follow loop, and Ctrl-C's handling, without an engine."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import stat

import pytest
from rich.console import Console

from operator_core.cli.follow import follow_logs, printable, read_capped_line
from operator_core.cli.interrupts import Interrupt, handling_interrupts
from operator_core.docker.containers.logs import MAX_LINE_BYTES


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=64)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_a_line_longer_than_the_cap_is_cut_and_the_next_one_is_whole():
    """A 1000-byte line comes back as its first 16 bytes, flagged; the next line follows."""
    reader = _reader(b"x" * 1000 + b"\nshort\nlast-without-newline")
    assert await read_capped_line(reader, 16) == (b"x" * 16, True)
    assert await read_capped_line(reader, 16) == (b"short", False)
    assert await read_capped_line(reader, 16) == (b"last-without-new", True)
    assert await read_capped_line(reader, 16) is None


def _fake_docker(tmp_path, body):
    """Return a command whose 'logs' runs ``body`` in sh (args are ignored)."""
    script = tmp_path / "fake-docker"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return [str(script)]


async def test_a_follow_prints_each_stream_and_ends_when_the_process_does(tmp_path):
    """Lines from both pipes reach the sink as they come; the end is container_stopped."""
    command = _fake_docker(tmp_path, "echo out1; echo err1 >&2; echo out2")
    seen = []
    result = await follow_logs(
        command,
        "web",
        tail=10,
        since=None,
        stream="both",
        timestamps=False,
        sink=lambda stream, text: seen.append((stream, text)),
        stop=asyncio.Event(),
    )
    assert sorted(seen) == [("stderr", "err1"), ("stdout", "out1"), ("stdout", "out2")]
    assert [t for s, t in seen if s == "stdout"] == ["out1", "out2"]
    assert (result["line_count"], result["ended"], result["docker_exit_code"]) == (
        3,
        "container_stopped",
        0,
    )


async def test_a_follow_keeps_only_the_stream_asked_and_cuts_long_lines(tmp_path):
    """stream=stdout drops stderr lines; a line over MAX_LINE_BYTES is cut and marked."""
    size = MAX_LINE_BYTES + 5000
    command = _fake_docker(
        tmp_path, f"echo noise >&2; head -c {size} /dev/zero | tr '\\0' a; echo; echo done"
    )
    seen = []
    result = await follow_logs(
        command,
        "web",
        tail=10,
        since=None,
        stream="stdout",
        timestamps=False,
        sink=lambda stream, text: seen.append((stream, text)),
        stop=asyncio.Event(),
    )
    assert [s for s, _ in seen] == ["stdout", "stdout"]
    assert seen[0][1] == "a" * MAX_LINE_BYTES + " [line cut]"
    assert seen[1][1] == "done"
    assert result["stderr_lines"] == 0


async def test_stopping_a_follow_kills_docker_and_says_interrupted(tmp_path):
    """Setting stop (Ctrl-C) ends a follow that would run forever; docker is killed."""
    command = _fake_docker(tmp_path, "echo started; exec sleep 600")
    stop = asyncio.Event()
    seen = []

    def sink(stream, text):
        seen.append(text)
        stop.set()

    result = await follow_logs(
        command, "web", tail=1, since=None, stream="both", timestamps=False, sink=sink, stop=stop
    )
    assert seen == ["started"]
    assert result["ended"] == "interrupted"
    assert result["docker_exit_code"] is None


async def test_a_failing_docker_is_told_apart_from_a_stopped_container(tmp_path):
    """Docker logs exiting non-zero (engine gone, no such container) ends as docker_failed."""
    command = _fake_docker(tmp_path, "echo 'Error response from daemon' >&2; exit 1")
    result = await follow_logs(
        command,
        "web",
        tail=1,
        since=None,
        stream="both",
        timestamps=False,
        sink=lambda stream, text: None,
        stop=asyncio.Event(),
    )
    assert (result["ended"], result["docker_exit_code"]) == ("docker_failed", 1)


def test_followed_lines_print_as_logs_prints_them():
    """The engine's timestamp first, then [stderr] for stderr lines, then the text."""
    stamp = "2026-11-29T10:00:00.123456789Z"
    assert printable("stderr", f"{stamp} boom") == f"{stamp} [stderr] boom"
    assert printable("stdout", "plain") == "plain"


async def test_the_first_ctrl_c_is_acknowledged_at_once_and_cancels():
    """SIGINT: the acknowledgement is printed and the task cancelled; the handler goes after."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, no_color=True)
    interrupt = Interrupt(first="finishing the stop of web (up to 8s)", second="left")

    async def interrupted():
        with handling_interrupts(console, interrupt):
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.Event().wait()

    with pytest.raises(asyncio.CancelledError):
        await interrupted()
    assert "Ctrl-C: finishing the stop of web (up to 8s)" in buffer.getvalue()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


async def test_a_follows_first_ctrl_c_runs_its_own_action_instead():
    """on_first replaces the cancel: a follow ends itself and returns normally."""
    stop = asyncio.Event()
    console = Console(file=io.StringIO(), width=80)
    with handling_interrupts(console, Interrupt(first="ending", second="x", on_first=stop.set)):
        os.kill(os.getpid(), signal.SIGINT)
        await stop.wait()
    assert stop.is_set()
