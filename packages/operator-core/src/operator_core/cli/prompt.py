"""A yes/no question on the terminal that never holds the process after nobody answered.

``rich.prompt.Confirm.ask`` blocks in ``input()``; run in ``asyncio.to_thread`` it keeps a
worker thread reading stdin after the policy's approval timeout gave up on it, and
``asyncio.run`` waits for that thread at exit, so the command hangs until someone presses
Enter. Here the event loop watches stdin instead (``loop.add_reader``, i.e. select) and
reads a line only once one is there: a question that is given up on just stops being
watched. Where the loop cannot watch the descriptor, a daemon thread reads it; that
thread does not hold up the exit either.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading

from rich.console import Console

__all__ = ["ask_yes_no", "read_line"]

_YES = ("y", "yes")
_NO = ("n", "no")


async def read_line(fd: int) -> str | None:
    """Return the text typed on ``fd`` once there is some, or None at end of input.

    A terminal gives one line per read, a pipe may give several. Cancelling the wait
    leaves no thread reading and nothing watching ``fd``.
    """
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def mark() -> None:
        if not ready.done():
            ready.set_result(None)

    try:
        loop.add_reader(fd, mark)
    except (NotImplementedError, OSError, ValueError):
        return await _read_line_in_daemon(fd)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
    return _decoded(os.read(fd, 4096))


async def _read_line_in_daemon(fd: int) -> str | None:
    """Read a line in a daemon thread (for a loop that cannot watch ``fd``)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str | None] = loop.create_future()

    def deliver(line: str | None) -> None:
        if not answer.done():
            answer.set_result(line)

    def read() -> None:
        try:
            line = _decoded(os.read(fd, 4096))
        except OSError:
            line = None
        # RuntimeError: the loop closed meanwhile, so nobody waits for the answer.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver, line)

    threading.Thread(target=read, name="operator-prompt", daemon=True).start()
    return await answer


def _decoded(data: bytes) -> str | None:
    """Return the text of what was read, or None for end of input."""
    return data.decode("utf-8", "replace") if data else None


async def ask_yes_no(question: str, console: Console, fd: int) -> bool:
    """Ask ``question`` on ``console`` until the answer on ``fd`` is y or n; end of input is no.

    Give up on it by cancelling (``asyncio.wait_for``): nothing is left reading.
    """
    answered = False
    try:
        while True:
            console.print(f"{question} [prompt.choices]\\[y/n][/prompt.choices]: ", end="")
            typed = await read_line(fd)
            if typed is None:
                return False
            for line in typed.splitlines() or [""]:
                answer = line.strip().lower()
                if answer in _YES or answer in _NO:
                    answered = True
                    return answer in _YES
                console.print("[prompt.invalid]Please enter y or n")
    finally:
        if not answered:
            console.print()
