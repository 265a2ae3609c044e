"""What Ctrl-C does while a command runs: acknowledged at once, a second one leaves.

A stop or restart that the engine has begun cannot be taken back halfway, so the first
Ctrl-C does not abandon it: the command says at once what it is waiting for (``finishing
the stop already under way (up to 8 s); Ctrl-C again to leave it running``) and cancels
the call, which the runner lets finish and records. A second Ctrl-C leaves at once,
saying what is now unknown and how to find out; the audit record stays ``pending``.

A follow (``logs -f``) has its own first Ctrl-C: it ends the follow (``on_first``).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

__all__ = ["EXIT_INTERRUPTED", "Interrupt", "default_interrupt", "handling_interrupts"]

#: The shell's code for a command ended by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Interrupt:
    """The messages of the first and second Ctrl-C, and what the first does instead."""

    first: str
    second: str
    on_first: Callable[[], None] | None = None


def default_interrupt(what: str, check: str) -> Interrupt:
    """Return the Ctrl-C handling of a call doing ``what``; ``check`` shows how it ended."""
    return Interrupt(
        first=f"finishing {what} already under way; Ctrl-C again to leave without waiting",
        second=f"left without waiting: how {what} ended is unknown, and its audit record "
        f"stays pending. See: {check}",
    )


@contextmanager
def handling_interrupts(console: Console, interrupt: Interrupt) -> Iterator[None]:
    """Handle Ctrl-C as ``interrupt`` says while the block runs in the current task.

    First Ctrl-C: print ``first`` and run ``on_first`` (default: cancel the task). Second:
    print ``second`` and end the process at once (exit 130), waiting for nothing.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    presses = 0

    def pressed() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            console.print(f"[yellow]Ctrl-C[/yellow]: {escape(interrupt.first)}")
            if interrupt.on_first is not None:
                interrupt.on_first()
            elif task is not None:
                task.cancel()
            return
        console.print(f"[yellow]Ctrl-C[/yellow]: {escape(interrupt.second)}")
        console.show_cursor(True)
        console.file.flush()
        os._exit(EXIT_INTERRUPTED)

    try:
        loop.add_signal_handler(signal.SIGINT, pressed)
    except (NotImplementedError, RuntimeError):  # no signal handling here (not main thread)
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
