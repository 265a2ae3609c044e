"""Run one docker CLI process and read its output within byte and time bounds.

python-on-whales holds all a CLI printed in memory (``docker.container.logs`` of a
container that wrote gigabytes holds gigabytes) and ``docker.container.execute`` has no
deadline and puts env values on the command line; all are worked around here, once:

* ``capture`` reads both pipes as the data arrives, hands it to a sink that keeps a bounded
  part of it, and kills the process (its whole process group: the coreutils reaper and the
  docker CLI under it) when the deadline passes, more than ``max_read`` bytes came or its
  ``cancel`` event is set (checked at least every ``POLL_S``);
* ``LineCollector`` keeps the newest lines within a line count and a byte budget, each line
  cut at a length; ``HeadTail`` keeps the first and the last bytes of a stream;
* ``env_file`` hands values to ``docker exec --env-file /dev/fd/N`` through an anonymous
  in-memory file, so they are on no command line and in no environment of a host process.

Commands are built from ``client.client_config.docker_cmd`` so the client's host, context
and TLS settings (and ``bounded_client``'s reaper) carry over. Failures of the CLI become
operator-core errors through ``_engine.translate``; messages never hold the command line.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Protocol, cast

from python_on_whales import DockerClient
from python_on_whales.utils import get_docker_exception_type

from operator_core.docker._engine import cli as _engine
from operator_core.errors import EngineError, OperatorError

__all__ = [
    "CHUNK",
    "POLL_S",
    "HeadTail",
    "LineCollector",
    "Outcome",
    "Sink",
    "capture",
    "cli_failure",
    "daemon_error",
    "docker_command",
    "env_file",
]

#: Bytes asked of a pipe per read.
CHUNK = 64 * 1024
#: Bytes of raw stderr kept to explain a failure of the docker CLI itself.
_ERROR_TAIL = 4096
#: The longest ``capture`` goes without looking at its ``cancel`` event.
POLL_S = 0.2
#: How long a killed process may take to be reaped.
_REAP_S = 5.0
_DAEMON_PREFIX = "Error response from daemon:"


class Sink(Protocol):
    """Receives a stream's bytes as they arrive and keeps a bounded part of them."""

    def feed(self, data: bytes) -> None:
        """Take the next piece of the stream."""

    def close(self) -> None:
        """Take the end of the stream."""


class HeadTail:
    """Keep the first and the last ``cap / 2`` bytes of a stream, counting all of them."""

    def __init__(self, cap: int) -> None:
        self._head_cap = cap // 2
        self._tail_cap = cap - self._head_cap
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        """Keep ``data`` while the head has room, then only the newest tail bytes."""
        self.total += len(data)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data:
            self._tail += data
            if len(self._tail) > 2 * self._tail_cap:
                del self._tail[: len(self._tail) - self._tail_cap]

    def close(self) -> None:
        """Trim the tail to its cap."""
        if len(self._tail) > self._tail_cap:
            del self._tail[: len(self._tail) - self._tail_cap]

    @property
    def truncated(self) -> bool:
        """Whether bytes between the head and the tail were dropped."""
        return self.total > self._head_cap + self._tail_cap

    def text(self) -> str:
        """Return what was kept as text, with a marker where bytes were dropped."""
        self.close()
        if not self.truncated:
            return (self._head + self._tail).decode("utf-8", errors="replace")
        omitted = self.total - len(self._head) - len(self._tail)
        head = self._head.decode("utf-8", errors="replace")
        tail = self._tail.decode("utf-8", errors="replace")
        return f"{head}\n[... {omitted} bytes omitted ...]\n{tail}"


class LineCollector:
    """Split a stream into lines; keep the newest within a count and a byte budget.

    Each line keeps at most ``max_line`` bytes (the rest is counted, not held), so memory is
    bounded by ``max_bytes + max_line`` whatever the stream holds. Kept lines are
    ``(raw, cut)`` pairs, ``cut`` true when the line was longer than ``max_line``.
    ``entries`` estimates how many log entries the engine sent: it splits a line longer
    than ``entry_size`` bytes into several, each with its own ``entry_overhead`` bytes.
    """

    def __init__(
        self,
        *,
        max_lines: int,
        max_bytes: int,
        max_line: int,
        entry_size: int = 16 * 1024,
        entry_overhead: int = 0,
    ) -> None:
        self._max_lines, self._max_bytes, self._max_line = max_lines, max_bytes, max_line
        self._entry = entry_size + entry_overhead
        self._part = bytearray()
        self._part_len = 0
        self.lines: deque[tuple[bytes, bool]] = deque()
        self.kept_bytes = 0
        self.seen = 0
        self.entries = 0
        self.dropped_for_bytes = False

    def feed(self, data: bytes) -> None:
        """Split ``data`` at newlines, finishing a line at each."""
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            self._extend(data, start, end)
            self._finish()
            start = end + 1
        self._extend(data, start, len(data))

    def close(self) -> None:
        """Finish a last line that had no newline."""
        if self._part_len:
            self._finish()

    def _extend(self, data: bytes, start: int, end: int) -> None:
        """Add ``data[start:end]`` to the current line, holding at most ``max_line`` bytes."""
        room = self._max_line - len(self._part)
        if room > 0:
            self._part += data[start : min(end, start + room)]
        self._part_len += end - start

    def _finish(self) -> None:
        """Keep the current line, dropping the oldest beyond the count or the byte budget."""
        length, raw = self._part_len, bytes(self._part)
        self._part.clear()
        self._part_len = 0
        self.seen += 1
        self.entries += 1 + max(0, length - 1) // self._entry
        if self._max_lines <= 0:
            return
        self.lines.append((raw, length > len(raw)))
        self.kept_bytes += len(raw)
        while len(self.lines) > self._max_lines or self.kept_bytes > self._max_bytes:
            if len(self.lines) <= self._max_lines:
                self.dropped_for_bytes = True
            self.kept_bytes -= len(self.lines.popleft()[0])


@dataclass(frozen=True)
class Outcome:
    """How a captured process ended.

    ``stopped`` is None when it ran to its end, ``"deadline"``, ``"read_cap"`` or
    ``"cancelled"`` when it was killed; ``returncode`` is None when it was killed.
    ``error_tail`` is the end of its raw stderr, where the docker CLI writes its own failure.
    """

    returncode: int | None
    stopped: str | None
    elapsed_s: float
    bytes_read: int
    error_tail: bytes


def docker_command(client: DockerClient, args: Sequence[str]) -> list[str]:
    """Return ``docker <args>`` with ``client``'s binary, host, context and reaper."""
    return [str(word) for word in client.client_config.docker_cmd] + list(args)


def _spawn(command: list[str], pass_fds: Sequence[int]) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group with piped stdout and stderr."""
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=tuple(pass_fds),
        start_new_session=True,
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``proc``'s process group (the reaper and docker under it) and reap ``proc``."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_REAP_S)


def _pump(
    pipes: dict[int, tuple[Sink, bool]],
    deadline_at: float,
    max_read: int | None,
    cancel: threading.Event | None,
) -> tuple[str | None, int, bytes]:
    """Read the pipes into their sinks until all end, or the deadline, max_read or a cancel."""
    total, tail = 0, bytearray()
    with selectors.DefaultSelector() as selector:
        for fd, (sink, is_err) in pipes.items():
            selector.register(fd, selectors.EVENT_READ, (sink, is_err))
        while selector.get_map():
            if cancel is not None and cancel.is_set():
                return "cancelled", total, bytes(tail)
            remaining = deadline_at - time.monotonic()
            if remaining <= 0:
                return "deadline", total, bytes(tail)
            for key, _ in selector.select(min(remaining, POLL_S)):
                sink, is_err = key.data
                # Never past max_read + 1 (the byte that shows there was more): a bound
                # the caller can add up across readers (the log search's read cap).
                ask = CHUNK if max_read is None else max(1, min(CHUNK, max_read + 1 - total))
                data = os.read(key.fd, ask)
                if not data:
                    selector.unregister(key.fd)
                    sink.close()
                    continue
                total += len(data)
                if is_err:
                    tail += data
                    del tail[: max(0, len(tail) - _ERROR_TAIL)]
                sink.feed(data)
                if max_read is not None and total > max_read:
                    return "read_cap", total, bytes(tail)
    return None, total, bytes(tail)


def _wait(
    proc: subprocess.Popen[bytes], deadline_at: float, cancel: threading.Event | None
) -> str | None:
    """Wait for ``proc`` to exit; return ``"deadline"`` or ``"cancelled"`` if it did not."""
    while True:
        if cancel is not None and cancel.is_set():
            return "cancelled"
        remaining = deadline_at - time.monotonic()
        try:
            proc.wait(timeout=max(min(remaining, POLL_S), 0.01))
        except subprocess.TimeoutExpired:
            if remaining <= POLL_S:
                return "deadline"
            continue
        return None


def capture(
    command: list[str],
    *,
    stdout: Sink,
    stderr: Sink,
    deadline_at: float,
    max_read: int | None = None,
    pass_fds: Sequence[int] = (),
    cancel: threading.Event | None = None,
) -> Outcome:
    """Run ``command``, feeding its output to the sinks; kill it at ``deadline_at`` (monotonic).

    More than ``max_read`` bytes on both pipes together also kills it (it reads at most
    ``max_read + 1``: the byte past it shows the output was cut), and so does
    ``cancel`` being set (seen within ``POLL_S``; set before the start, the process is
    killed as soon as it started). Errors starting it leave as operator-core errors.
    """
    began = time.monotonic()
    try:
        proc = _spawn(command, pass_fds)
    except OSError as exc:
        raise _engine.translate(exc) from exc
    out, err = cast(IO[bytes], proc.stdout), cast(IO[bytes], proc.stderr)
    try:
        pipes = {out.fileno(): (stdout, False), err.fileno(): (stderr, True)}
        stopped, total, tail = _pump(pipes, deadline_at, max_read, cancel)
        if stopped is None:
            stopped = _wait(proc, deadline_at, cancel)
        if stopped is not None:
            _kill(proc)
    finally:
        if proc.poll() is None:
            _kill(proc)
        out.close()
        err.close()
    code = None if stopped is not None else proc.returncode
    return Outcome(code, stopped, time.monotonic() - began, total, tail)


def daemon_error(outcome: Outcome) -> str | None:
    """Return the docker CLI's own error line when the engine refused, else None.

    The CLI writes ``Error response from daemon: ...`` as the last line of its stderr. For
    ``docker exec`` that stderr is shared with the command's, so only that exact prefix
    counts, never a command's own ``Error: ...``; and since a command can print that
    prefix too, ``execution`` confirms such a line by reading the container again.
    """
    if outcome.returncode in (None, 0):
        return None
    last = _last_line(outcome.error_tail)
    return last if last.startswith(_DAEMON_PREFIX) else None


def cli_failure(
    outcome: Outcome, verb: str, *, container: str | None = None, service: str | None = None
) -> OperatorError:
    """Return the operator-core error for a docker CLI that exited non-zero.

    The python-on-whales exception kept as the cause carries ``docker <verb>`` only, never
    the command line, and as stderr only the CLI's last line.
    """
    line = _last_line(outcome.error_tail)
    stderr = line.encode()
    kind = get_docker_exception_type(stderr)
    cause = kind(["docker", verb], outcome.returncode or 1, None, stderr)
    error = _engine.translate(cause, container=container, service=service)
    error.__cause__ = cause
    return error


def _last_line(raw: bytes) -> str:
    """Return the last non-empty line of ``raw``, decoded."""
    for line in reversed(raw.decode("utf-8", errors="replace").splitlines()):
        if line.strip():
            return line.strip()
    return ""


@contextlib.contextmanager
def env_file(values: Mapping[str, str]) -> Iterator[int]:
    """Yield a descriptor of an in-memory ``KEY=VALUE`` file, for ``--env-file /dev/fd/N``.

    The values touch no disk, no command line and no host process's environment. The
    caller passes the descriptor to the child (``pass_fds``); it is closed on exit. Needs
    Linux's ``memfd_create``.
    """
    if not hasattr(os, "memfd_create"):  # pragma: no cover - every supported host is Linux
        raise EngineError("passing env values safely needs memfd_create (Linux)")
    fd = os.memfd_create("operator-core-env", os.MFD_CLOEXEC)
    try:
        view = memoryview("".join(f"{k}={v}\n" for k, v in values.items()).encode())
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
        yield fd
    finally:
        os.close(fd)
