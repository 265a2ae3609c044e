"""The errors that are also python-on-whales' own (``except NoSuchContainer`` catches ours).

Kept apart from ``operator_core.errors`` so that importing that module does not load
python-on-whales (64 modules); it loads these on first use (its ``__getattr__``).
"""

from __future__ import annotations

from python_on_whales.exceptions import (
    DockerException,
    NoSuchContainer,
    NoSuchNetwork,
    NoSuchService,
    NotASwarmManager,
)

from operator_core.errors import EngineError

__all__ = ["ContainerNotFound", "NetworkNotFound", "NotSwarmManager", "ServiceNotFound"]


def _cli_details(
    cause: DockerException | None,
) -> tuple[list[str], int, bytes | None, bytes | None]:
    """Return the constructor arguments python-on-whales' exceptions expect."""
    if cause is None:
        return [], 1, None, None
    stdout = cause.stdout.encode() if cause.stdout is not None else None
    stderr = cause.stderr.encode() if cause.stderr is not None else None
    return list(cause.docker_command), cause.return_code, stdout, stderr


class ContainerNotFound(EngineError, NoSuchContainer):
    """No container has this name or id; ``reference`` holds what was asked for."""

    def __init__(self, reference: str, cause: DockerException | None = None) -> None:
        NoSuchContainer.__init__(self, *_cli_details(cause))
        self.reference = reference
        self.args = (f"no such container: {reference!r}",)

    def __str__(self) -> str:
        return str(self.args[0])


class NetworkNotFound(EngineError, NoSuchNetwork):
    """No network has this name or id; ``reference`` holds what was asked for."""

    def __init__(self, reference: str, cause: DockerException | None = None) -> None:
        NoSuchNetwork.__init__(self, *_cli_details(cause))
        self.reference = reference
        self.args = (f"no such network: {reference!r}",)

    def __str__(self) -> str:
        return str(self.args[0])


class ServiceNotFound(EngineError, NoSuchService):
    """No swarm service has this name or id; ``reference`` holds what was asked for."""

    def __init__(self, reference: str, cause: DockerException | None = None) -> None:
        NoSuchService.__init__(self, *_cli_details(cause))
        self.reference = reference
        self.args = (f"no such service: {reference!r}",)

    def __str__(self) -> str:
        return str(self.args[0])


class NotSwarmManager(EngineError, NotASwarmManager):
    """The engine is not a swarm manager, so it can neither show nor change the cluster.

    ``worker`` is True when the engine is a swarm worker (run the call on a manager), False
    when it is in no swarm at all (``docker swarm init`` or ``join`` first).
    """

    def __init__(self, worker: bool, cause: DockerException | None = None) -> None:
        NotASwarmManager.__init__(self, *_cli_details(cause))
        self.worker = worker
        where = (
            "this engine is a swarm worker; swarm calls must go to a manager of the swarm"
            if worker
            else "this engine is in no swarm (run `docker swarm init` or `docker swarm join`)"
        )
        self.args = (f"not a swarm manager: {where}",)

    def __str__(self) -> str:
        return str(self.args[0])
