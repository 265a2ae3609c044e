"""The approval question on a terminal: answered, refused, or given up on without a hang."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time

import pytest
from rich.console import Console

from operator_core.cli.prompt import ask_yes_no

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: A policy whose only approval is for ps, given up on after one second.
PS_NEEDS_APPROVAL = """
[approval]
risks = []
timeout_s = 1
[approval.tools]
docker_list_containers = true
"""


def _console() -> tuple[Console, io.StringIO]:
    """Return a console writing to a string, and the string."""
    text = io.StringIO()
    return Console(file=text, width=200, color_system=None), text


def _asked(answers: bytes, *, close: bool = True) -> tuple[bool, str]:
    """Ask once with ``answers`` waiting on a pipe; return the answer and what was shown."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, answers)
        if close:
            os.close(write_end)
        console, text = _console()
        answer = asyncio.run(ask_yes_no("Run docker_restart_container?", console, read_end))
        return answer, text.getvalue()
    finally:
        os.close(read_end)
        if not close:
            os.close(write_end)


def test_the_question_takes_y_or_n_and_asks_again_otherwise():
    """'maybe' is refused with a hint and the next answer read; Y is yes, 'no' no, EOF no."""
    answer, shown = _asked(b"maybe\nY\n", close=False)
    assert answer is True
    assert shown.count("Run docker_restart_container? [y/n]:") == 1
    assert "Please enter y or n" in shown
    assert _asked(b"no\n", close=False)[0] is False
    assert _asked(b"")[0] is False


def _give_up_after(seconds: float, fd: int) -> float:
    """Ask on ``fd`` inside asyncio.run, give up after ``seconds``; return the run's length."""
    console, _ = _console()

    async def ask() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ask_yes_no("Run it?", console, fd), seconds)

    began = time.monotonic()
    asyncio.run(ask())
    return time.monotonic() - began


def test_a_question_given_up_on_leaves_nothing_reading_stdin():
    """After the timeout asyncio.run returns at once, and a later line is not swallowed."""
    read_end, write_end = os.pipe()
    try:
        # Gives up at 0.2 s; broken, it never returns while stdin stays silent. 10 s is
        # slack for a loaded machine, not a measure of speed.
        assert _give_up_after(0.2, read_end) < 10
        assert not [t for t in threading.enumerate() if t.name == "operator-prompt"]
        os.write(write_end, b"y\n")
        assert os.read(read_end, 16) == b"y\n"
    finally:
        os.close(read_end)
        os.close(write_end)


def test_where_the_loop_cannot_watch_stdin_a_daemon_thread_does_not_hold_the_exit(
    monkeypatch,
):
    """Without add_reader (e.g. Windows) the read runs in a daemon thread; the run still ends."""

    def cannot_watch(*args: object) -> None:
        raise NotImplementedError

    monkeypatch.setattr(asyncio.SelectorEventLoop, "add_reader", cannot_watch)
    read_end, write_end = os.pipe()
    try:
        # Gives up at 0.2 s; broken, it never returns while stdin stays silent. 10 s is
        # slack for a loaded machine, not a measure of speed.
        assert _give_up_after(0.2, read_end) < 10
        readers = [t for t in threading.enumerate() if t.name == "operator-prompt"]
        assert readers
        assert all(t.daemon for t in readers)
    finally:
        os.write(write_end, b"\n")
        for thread in threading.enumerate():
            if thread.name == "operator-prompt":
                thread.join(5)
        os.close(read_end)
        os.close(write_end)


def _run_on_a_terminal(args: list[str], env: dict[str, str], limit: float) -> tuple[int, str]:
    """Run ``args`` with a pseudo-terminal as stdin, stdout and stderr; type nothing.

    Return the exit code and the output; a process still running after ``limit``
    seconds is killed and reported as -999.
    """
    master, slave = pty.openpty()
    process = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + limit
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunks.append(os.read(master, 65536))
                except OSError:  # the terminal's other side closed
                    break
        code = process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        code = -999
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        os.close(master)
    return code, _ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


def test_an_unanswered_approval_prompt_lets_the_command_exit_after_the_timeout(tmp_path):
    """On a terminal nobody answers: denied as approval.timeout (3) within seconds, no hang.

    Before, the question ran in a worker thread blocked in input(), and asyncio.run waited
    for that thread at exit until someone pressed Enter.
    """
    policy = tmp_path / "policy.toml"
    policy.write_text(PS_NEEDS_APPROVAL)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OPERATOR_POLICY", "OPERATOR_MODE")
    }
    env.update(
        OPERATOR_AUDIT_DB=str(tmp_path / "audit.sqlite3"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        TERM="xterm",
    )
    command = [sys.executable, "-m", "operator_core.cli", "--policy", str(policy), "docker", "ps"]
    # The approval times out after 1 s; broken, the command waits for an answer for ever.
    # 30 s tells the two apart on a loaded machine (start-up included).
    code, output = _run_on_a_terminal(command, env, limit=30)
    assert code != -999, f"still running after 30s, waiting for an answer:\n{output}"
    assert "Run docker_list_containers" in output
    assert code == 3, output
    assert "approval.timeout" in output
