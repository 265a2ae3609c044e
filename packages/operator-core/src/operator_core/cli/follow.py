"""``operator docker logs -f``: print a container's new lines as it writes them.

The follow runs as the tool ``docker_get_container_logs`` through the runner, so the
policy decides on it and the audit trail holds one record for the whole follow (its
result says how many lines came, how long it ran and how it ended). ``FollowingExecutor``
is the executor with that one method swapped: it checks the container exists (a typo gets
the usual not-found answer), then runs one ``docker logs --follow`` that prints the last
``tail`` lines and every new one, until the container stops (the process ends) or the
person presses Ctrl-C (``stop`` is set; the process is killed).

Bounded memory: each line is printed and forgotten; a line longer than
``MAX_LINE_BYTES`` is cut there (the rest is read and dropped). The docker process runs in
its own session, so the terminal's Ctrl-C reaches operator only, which ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Literal

from operator_core.docker.containers.logs import MAX_LINE_BYTES, split_stamp
from operator_core.runner.executor import ContainerExecutor
from operator_core.words import JSONObject

__all__ = ["FollowingExecutor", "follow_logs", "read_capped_line"]

#: How long docker may take to exit after closing its pipes before it is killed.
_EXIT_WAIT_S = 5.0
#: Called with (stream, text) for each line: stream is "stdout" or "stderr".
LineSink = Callable[[str, str], None]


async def read_capped_line(reader: asyncio.StreamReader, cap: int) -> tuple[bytes, bool] | None:
    """Return the next line (without its newline) cut at ``cap`` bytes, and whether it was cut.

    None at end of input. A longer line is read to its end and the excess dropped, so no
    more than ``cap`` bytes (plus the reader's buffer) is ever held.
    """
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return (exc.partial[:cap], len(exc.partial) > cap) if exc.partial else None
    except asyncio.LimitOverrunError as exc:
        head = await reader.readexactly(exc.consumed)
        while True:
            try:
                await reader.readuntil(b"\n")
                break
            except asyncio.LimitOverrunError as more:
                await reader.readexactly(more.consumed)
            except asyncio.IncompleteReadError:
                break
        return head[:cap], True
    body = line[:-1]
    return body[:cap], len(body) > cap


async def _pump(
    reader: asyncio.StreamReader | None,
    stream: str,
    keep: bool,
    sink: LineSink,
    counts: dict[str, int],
) -> None:
    """Pass every line of one pipe to ``sink`` (or drain it, when ``keep`` is false)."""
    if reader is None:
        return
    while (read := await read_capped_line(reader, MAX_LINE_BYTES)) is not None:
        raw, cut = read
        if not keep:
            continue
        counts[stream] += 1
        text = raw.decode("utf-8", "replace")
        sink(stream, text + (" [line cut]" if cut else ""))


async def follow_logs(
    command: list[str],
    container: str,
    *,
    tail: int,
    since: str | None,
    stream: str,
    timestamps: bool,
    sink: LineSink,
    stop: asyncio.Event,
    clock: Callable[[], float] = time.monotonic,
) -> JSONObject:
    """Follow ``container``'s logs with ``command`` (the docker CLI and its engine options).

    Returns once the process ends (the container stopped, or the engine went away) or
    ``stop`` is set (then the process is killed): ``line_count``, ``duration_s``, ``ended``
    (``container_stopped``, ``interrupted`` or ``docker_failed``) and docker's exit code.
    """
    args = [*command, "logs", "--follow", "--tail", str(tail)]
    args += ["--since", since] if since else []
    args += ["--timestamps"] if timestamps else []
    started = clock()
    process = await asyncio.create_subprocess_exec(
        *args,
        "--",
        container,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=MAX_LINE_BYTES + 1,
    )
    counts = {"stdout": 0, "stderr": 0}
    pumps: asyncio.Future[tuple[None, None]] = asyncio.gather(
        _pump(process.stdout, "stdout", stream in ("both", "stdout"), sink, counts),
        _pump(process.stderr, "stderr", stream in ("both", "stderr"), sink, counts),
    )
    stopped = asyncio.ensure_future(stop.wait())
    waiting: set[asyncio.Future[tuple[None, None]] | asyncio.Task[Literal[True]]]
    waiting = {pumps, stopped}
    try:
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if pumps in done:
            # Both pipes closed: docker is exiting; give it a moment to say how.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), _EXIT_WAIT_S)
    finally:
        stopped.cancel()
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        code = await process.wait()
        pumps.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pumps
    ended = "interrupted" if stop.is_set() else "container_stopped"
    if not stop.is_set() and code != 0:
        ended = "docker_failed"
    return {
        "followed": True,
        "line_count": counts["stdout"] + counts["stderr"],
        "stdout_lines": counts["stdout"],
        "stderr_lines": counts["stderr"],
        "duration_s": round(clock() - started, 3),
        "ended": ended,
        "docker_exit_code": None if stop.is_set() else code,
    }


def printable(stream: str, text: str) -> str:
    """Return a followed line as ``logs`` prints it: the stamp, then [stderr], then the text."""
    stamp, body = split_stamp(text.encode())
    marker = "[stderr] " if stream == "stderr" else ""
    return f"{stamp} {marker}{body}" if stamp else f"{marker}{body}"


class FollowingExecutor:
    """An executor whose ``get_container_logs`` follows; every other method is the inner one's."""

    def __init__(
        self,
        inner: ContainerExecutor,
        command: list[str],
        sink: LineSink,
        stop: asyncio.Event,
    ) -> None:
        self._inner = inner
        self._command = command
        self._sink = sink
        self._stop = stop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def get_container_logs(
        self,
        container_id: str,
        tail: int,
        since: str | None = None,
        until: str | None = None,
        stream: str = "both",
        timestamps: bool = True,
    ) -> JSONObject:
        """Follow the logs (``until`` is refused before this by the command)."""
        found = await self._inner.inspect_container(container_id)
        result = await follow_logs(
            self._command,
            str(found.get("id") or container_id),
            tail=tail,
            since=since,
            stream=stream,
            timestamps=timestamps,
            sink=self._sink,
            stop=self._stop,
        )
        return {**result, "container_id": found.get("id"), "name": found.get("name")}
