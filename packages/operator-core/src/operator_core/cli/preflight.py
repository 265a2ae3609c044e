"""Checks made before a command talks to the engine, so a person's mistake reads as one.

Without them, a missing docker CLI and a misspelt ``--context`` both surface as "the
Docker engine is not answering" (exit 6), which sends a person to look at a daemon that
is fine. Here a missing CLI says so (and how to get one), and an unknown context is a
usage error (exit 2) that lists the contexts there are. Each check costs at most one
short docker process, and only when its option is given.
"""

from __future__ import annotations

import shutil
import subprocess

from operator_core.errors import EngineUnreachable, InvalidInput

__all__ = ["CHECK_TIMEOUT_S", "check_docker_cli", "check_engine_options", "known_contexts"]

#: The bound on each docker process a check runs.
CHECK_TIMEOUT_S = 10.0


def check_docker_cli(command: str = "docker") -> str:
    """Return the path of the docker CLI; raise EngineUnreachable when there is none."""
    found = shutil.which(command)
    if found is None:
        # The executor words it the same way, so one message reaches agents and people.
        raise EngineUnreachable("the docker CLI was not found on PATH")
    return found


def known_contexts(docker: str) -> list[str] | None:
    """Return the names of the docker CLI's contexts, or None when they cannot be read."""
    try:
        listed = subprocess.run(
            [docker, "context", "ls", "--format", "{{.Name}}"],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if listed.returncode != 0:
        return None
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def check_engine_options(context: str | None, *, command: str = "docker") -> None:
    """Raise before anything runs when the docker CLI is missing or ``context`` is unknown.

    EngineUnreachable: no docker CLI on PATH. InvalidInput: no context named ``context``
    (the message lists the known ones). A check that cannot tell (the CLI hangs) lets the
    command go on, to fail or succeed on its own.
    """
    docker = check_docker_cli(command)
    if context is None:
        return
    names = known_contexts(docker)
    if names is None or context in names:
        return
    raise InvalidInput(
        f"no Docker context named {context!r}; known contexts: {', '.join(names) or 'none'} "
        "(`docker context ls` shows where each points)"
    )
