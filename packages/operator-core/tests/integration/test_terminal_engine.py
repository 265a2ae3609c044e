"""Pins issue 18 item 4 on the real engine: escape sequences a container carries stay inert.

A container with a plain name whose label, log lines and exec command carry a window-title
sequence, a clear-screen, a one-byte CSI and a right-to-left override; ``operator``
commands run under a pseudo-terminal (colour on, as a person sees them) show each of them
as a visible escape and never write one raw.
"""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest
from cli_helpers import OPERATOR, clean_env

#: Raw sequences that must never reach the terminal (rich itself never writes these).
RAW = ("\x1b]0;", "\x1b[2J", "\x9b", "\u202e")
#: What the container prints and labels itself with.
PRINTF = r"\033]0;owned\007\033[2J\302\23331m\342\200\256evil"
LABEL = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil"


def _under_pty(env: dict[str, str], *args: str, timeout: float = 90) -> str:
    """Run ``operator ARGS`` with stdout and stderr on a pseudo-terminal; return what it wrote."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*OPERATOR, *args],
        env={**env, "TERM": "xterm-256color", "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=timeout)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
            process.wait()
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def hostile(containers) -> str:
    """A running container whose label and log lines carry terminal control sequences."""
    script = f"printf '{PRINTF} line\\n'; while true; do sleep 1; done"
    return containers.run("sh", "-c", script, labels={"note": LABEL})


@pytest.mark.parametrize(
    "command",
    [
        ("docker", "inspect", "{name}"),
        ("docker", "logs", "{name}"),
        ("docker", "search", "line", "{name}"),
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_a_containers_escapes_are_shown_not_obeyed(hostile, tmp_path: Path, command):
    """Each command shows the container's label or log line escaped, never a raw sequence."""
    env = clean_env(tmp_path)
    shown = _under_pty(env, *(word.format(name=hostile) for word in command))
    for raw in RAW:
        assert raw not in shown, (raw, shown[-3000:])
    assert "\\x1b]0;owned" in shown, shown[-3000:]


def test_exec_details_an_agent_chose_are_escaped_in_events(hostile, tmp_path: Path):
    """An exec whose command carries escapes, then `docker events`: shown, never obeyed."""
    env = clean_env(tmp_path)
    ran = subprocess.run(
        [*OPERATOR, "--mode", "execute", "--yes", "docker", "exec", hostile, "true", LABEL],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    shown = _under_pty(env, "docker", "events", hostile, "--since", "10m")
    for raw in RAW:
        assert raw not in shown, (raw, shown[-3000:])
    assert "exec" in shown
    assert "\\x1b]0;owned" in shown, shown[-3000:]


def test_a_followed_log_shows_escapes_not_obeys_them(containers, tmp_path: Path):
    """`logs -f` prints each line as it comes through the same safe console."""
    script = f"printf '{PRINTF} followed\\n'; sleep 2"
    name = containers.run("sh", "-c", script)
    shown = _under_pty(clean_env(tmp_path), "docker", "logs", "-f", name)
    for raw in RAW:
        assert raw not in shown, (raw, shown[-3000:])
    assert "\\x1b]0;owned" in shown, shown[-3000:]
    assert "followed" in shown
