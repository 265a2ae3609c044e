"""What a person at the command line is told when a command fails, and what to run next.

The tool layer speaks to agents: its envelope messages end with advice such as "call
docker_list_containers with all=true". A person typed ``operator docker ...``, so the CLI
keeps the envelope's facts, drops the agent's advice and says what to type instead:
a container name that does not exist gets the nearest names on the engine ("did you
mean nc-web?"), a timeout says which command shows how the action ended, a declined
approval says only that nothing ran. ``--json`` output is never changed: scripts and
agents get the envelope as the tool wrote it.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Iterable
from typing import Any

from operator_core.runner.envelope import AGENT_HINTS

__all__ = [
    "DOCKER_CLI_MISSING",
    "did_you_mean",
    "for_person",
    "nearest_names",
    "strip_agent_hint",
]

#: What a person is told when there is no ``docker`` command to run.
DOCKER_CLI_MISSING = (
    "operator runs the docker command-line client, and there is none on PATH. Install it "
    "(Debian/Ubuntu: apt-get install docker.io, or docker-ce-cli from Docker's own "
    "repository; elsewhere see https://docs.docker.com/engine/install/), or add the "
    "directory that holds it to PATH."
)


def strip_agent_hint(error_type: str | None, message: str) -> str:
    """Return an envelope message without the advice the tool layer adds for agents."""
    hint = AGENT_HINTS.get(error_type or "")
    if hint and message.endswith(" " + hint):
        return message[: -len(hint) - 1]
    return message


def nearest_names(wanted: str, names: Iterable[str], limit: int = 3) -> list[str]:
    """Return up to ``limit`` names close to ``wanted``: near spellings, then containing it."""
    pool = sorted(set(names))
    close = difflib.get_close_matches(wanted, pool, n=limit, cutoff=0.6)
    folded = wanted.lower()
    containing = [n for n in pool if folded and folded in n.lower() and n not in close]
    return (close + containing)[:limit]


def did_you_mean(wanted: str, names: Iterable[str]) -> str:
    """Return 'did you mean a?' (or 'a or b?') for ``wanted``, or how to list the names."""
    near = nearest_names(wanted, names)
    if not near:
        return "`operator docker ps -a` lists every container."
    if len(near) == 1:
        return f"Did you mean {near[0]}?"
    return f"Did you mean {', '.join(near[:-1])} or {near[-1]}?"


def _inspect_command(container: object) -> str:
    """Return the command that shows a container's state now."""
    if isinstance(container, str) and container:
        return f"operator docker inspect {shlex.quote(container)}"
    return "operator docker ps -a"


def _denial(error: dict[str, Any], message: str) -> tuple[str, str | None] | None:
    """Return a person's message for the denials that need one, or None to keep the policy's."""
    rule = str(error.get("rule") or "")
    if rule == "approval.rejected":
        return "not run: you declined", None
    details = error.get("details")
    # The host whose mode denied: the call's own, or the one a swarm node is the engine of.
    host = (details.get("node_host") or details.get("host")) if isinstance(details, dict) else None
    if rule.startswith("mode") and host is not None:
        return (
            f"not run: the policy is in observe mode on host {host}, where only read-only "
            "commands run",
            None,
        )
    if rule.startswith("mode"):
        return "not run: the policy is in observe mode, where only read-only commands run", None
    if rule == "approval.unavailable":
        return (
            "not run: the policy wants a person's approval for this, and there is no "
            "terminal to ask on",
            None,
        )
    return None


def for_person(
    tool: str,
    arguments: dict[str, Any],
    error: dict[str, Any],
    *,
    names: Iterable[str] | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Return ``error`` reworded for a person, and a hint saying what to run next (or None).

    ``names`` are the container names on the engine, for "did you mean" (None: not read).
    The hint of a denial that a policy change would allow is the caller's (it knows the
    command line); this one covers what the error alone tells.
    """
    kind = str(error.get("type") or "")
    message = strip_agent_hint(kind, str(error.get("message") or ""))
    container = arguments.get("container_id")
    hint: str | None = None
    if kind == "container_not_found" and isinstance(container, str):
        message = f"no container named {container}"
        hint = did_you_mean(container, names or ())
    elif kind == "network_not_found":
        hint = "`docker network ls` lists the networks; `operator docker inspect` shows a "
        hint += "container's."
    elif kind == "container_state":
        hint = f"See its state: {_inspect_command(container)}"
    elif kind == "timeout":
        hint = (
            "The engine may still finish what it was asked. See how it ended before "
            f"running it again: {_inspect_command(container)}"
        )
    elif kind == "engine_unreachable":
        if "docker CLI was not found" in message:
            message, hint = "the docker CLI is missing", DOCKER_CLI_MISSING
        else:
            hint = "Check the engine with `docker info` (and --host or --context if it is remote)."
    elif kind == "denied":
        reworded = _denial(error, message)
        if reworded is not None:
            message, hint = reworded
    return {**error, "message": message}, hint
