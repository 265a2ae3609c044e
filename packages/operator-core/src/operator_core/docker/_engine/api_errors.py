"""The one boundary where Engine API failures become ``operator_core.errors`` types.

``translate_api`` reads what the engine answered (aiodocker's ``DockerError``: the HTTP
status and the engine's message) or how the connection failed (aiohttp's connection
errors, an OS error of the socket) and returns the same typed errors the CLI transport
gave: a 404 names the object the path (or the engine's message) names, a 409 is a state
conflict, 503 "not a swarm manager" is ``NotSwarmManager``, a refused or missing socket is
``EngineUnreachable``. ``API_SIDE`` is all it maps; anything else is our bug and
propagates unchanged (``translate_api`` refuses it with TypeError).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import aiohttp
from aiodocker.exceptions import DockerError

from operator_core.errors import (
    ContainerNotFound,
    ContainerStateError,
    EngineError,
    EngineUnreachable,
    NetworkNotFound,
    NodeNotFound,
    NotSwarmManager,
    OperatorError,
    ServiceNotFound,
)

__all__ = ["API_SIDE", "CONNECT_FAILED", "Subject", "subject_of", "translate_api"]

#: What the engine side raises through aiodocker: the engine's refusals, and connection
#: failures (aiohttp's, and the OS's on the socket).
API_SIDE = (DockerError, aiohttp.ClientError, OSError)
ApiSideError = DockerError | aiohttp.ClientError | OSError
#: The status aiodocker gives a request that reached no engine.
CONNECT_FAILED = 900
_NOT_MANAGER = "this node is not a swarm manager"
#: How the engine says an object is missing, by kind, checked in this order.
_MISSING = (
    ("container", re.compile(r"no such container")),
    ("network", re.compile(r"no such network|network \S+ not found")),
    ("service", re.compile(r"no such (?:task or )?service|service \S+ not found")),
    ("node", re.compile(r"no such node|node \S+ not found")),
)
_MAKE: dict[str, Callable[[str], OperatorError]] = {
    "container": ContainerNotFound,
    "network": NetworkNotFound,
    "service": ServiceNotFound,
    "node": NodeNotFound,
}
_KINDS = {"containers": "container", "networks": "network", "services": "service", "nodes": "node"}


class Subject:
    """The object a request's path names: its kind (``container``...) and reference."""

    __slots__ = ("kind", "reference")

    def __init__(self, kind: str, reference: str) -> None:
        self.kind = kind
        self.reference = reference


def subject_of(path: str) -> Subject | None:
    """Return the object ``/containers/ID/...``-style ``path`` is about, if it names one."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 2 and parts[0] in _KINDS and parts[1] not in ("json", "create", "prune"):
        return Subject(_KINDS[parts[0]], parts[1])
    return None


def _not_found(message: str, subject: Subject | None) -> OperatorError | None:
    """Return the not-found error the engine's ``message`` means, naming the object asked for.

    The engine's words decide the kind (a connect on ``/networks/N`` can miss the
    container); the reference is the path's when the kinds agree, else the message's.
    """
    lowered = message.lower()
    for kind, pattern in _MISSING:
        if pattern.search(lowered):
            same = subject is not None and subject.kind == kind
            return _MAKE[kind](subject.reference if same and subject else _named(message))
    if subject is not None:
        return _MAKE[subject.kind](subject.reference)
    return None


def _named(message: str) -> str:
    """Return the reference at the end of an engine message (``No such container: web``)."""
    return message.rsplit(":", 1)[-1].strip() or message.strip()


def _refused(exc: DockerError) -> OperatorError:
    """Return the error for a request the engine answered with a failure status."""
    message = str(exc.message or "").strip()
    lowered = message.lower()
    if _NOT_MANAGER in lowered:
        return NotSwarmManager("worker nodes" in lowered)
    if exc.status == 409:
        return ContainerStateError(message or "the engine refused: conflict")
    return EngineError(f"the engine answered {exc.status}: {message or 'no message'}")


def translate_api(exc: ApiSideError, *, path: str = "", label: str = "") -> OperatorError:
    """Return the operator-core error for an Engine API failure (``API_SIDE`` only).

    ``path`` is the request's path: a 404 on ``/containers/web/...`` is
    ``ContainerNotFound("web")`` unless the engine's message names another object (a
    network's connect naming the missing container). ``label`` names the engine in an
    unreachable error (never a secret). Messages carry the engine's own reason.
    """
    if isinstance(exc, DockerError):
        if exc.status == CONNECT_FAILED:
            return _unreachable(str(exc.message), label)
        if exc.status == 404:
            found = _not_found(str(exc.message or ""), subject_of(path))
            if found is not None:
                return found
        return _refused(exc)
    if isinstance(exc, aiohttp.ClientConnectionError | ConnectionError | FileNotFoundError):
        return _unreachable(str(exc) or type(exc).__name__, label)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return EngineError(f"the engine's answer could not be read: {exc}")
    raise TypeError(f"not an engine-side error: {type(exc).__name__}") from exc


def _unreachable(reason: str, label: str) -> EngineUnreachable:
    """Return the error of a request that reached no engine, with the transport's reason."""
    where = f" at {label}" if label else ""
    return EngineUnreachable(f"could not reach the Docker engine{where}: {reason}")
