"""operator-core: the layer that lets an operator agent act on Docker containers safely.

``DockerActionExecutor`` is loaded on first use, so that importing a room that does not
need the docker layer (``operator_core.policy``, ``operator_core.audit``) does not load
python-on-whales; so are the two errors that subclass python-on-whales' own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from operator_core.errors import (
    ContainerStateError,
    EngineError,
    EngineUnreachable,
    InvalidInput,
    OperationTimeout,
    OperatorError,
)

if TYPE_CHECKING:
    from operator_core.docker import DockerActionExecutor
    from operator_core.errors import ContainerNotFound, NetworkNotFound

__all__ = [
    "ContainerNotFound",
    "ContainerStateError",
    "DockerActionExecutor",
    "EngineError",
    "EngineUnreachable",
    "InvalidInput",
    "NetworkNotFound",
    "OperationTimeout",
    "OperatorError",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Load ``DockerActionExecutor`` (and the errors that are python-on-whales') on first use."""
    if name == "DockerActionExecutor":
        from operator_core.docker import DockerActionExecutor

        return DockerActionExecutor
    if name in ("ContainerNotFound", "NetworkNotFound"):
        from operator_core import errors

        return getattr(errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
