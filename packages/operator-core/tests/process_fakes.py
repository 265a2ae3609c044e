"""Stand-ins for the docker processes the executor starts, for unit tests without an engine."""

from __future__ import annotations

import os
import sys
from typing import Any

from operator_core.docker._engine import capture as _capture

__all__ = ["REAL_SPAWN", "FakeDocker"]

REAL_SPAWN = _capture._spawn


class FakeDocker:
    """Stands in for docker processes: each spawn runs the next scripted Python program.

    A script is ``(stdout, stderr, code)`` or a source string run with ``python -c``.
    Records every command, and the env file handed to an exec (read from its descriptor).
    """

    def __init__(self) -> None:
        self.scripts: list[tuple[bytes, bytes, int] | str] = []
        self.commands: list[list[str]] = []
        self.env_files: list[str] = []

    def __call__(self, command: list[str], pass_fds: Any) -> Any:
        self.commands.append(command)
        for fd in pass_fds:
            self.env_files.append(os.pread(fd, 1 << 20, 0).decode())
        script = self.scripts.pop(0) if self.scripts else (b"", b"", 0)
        if not isinstance(script, str):
            out, err, code = script
            script = (
                f"import sys; sys.stdout.buffer.write({out!r}); "
                f"sys.stderr.buffer.write({err!r}); sys.exit({code})"
            )
        return REAL_SPAWN([sys.executable, "-c", script], ())
