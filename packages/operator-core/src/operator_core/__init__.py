"""operator-core: the layer that lets an operator agent act on Docker containers safely.

``DockerActionExecutor`` is loaded on first use, so that importing a room that does not
need the docker layer (``operator_core.policy``, ``operator_core.audit``) does not load
python-on-whales.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from operator_core.errors import (
    ContainerNotFound,
    ContainerStateError,
    EngineError,
    EngineUnreachable,
    InvalidInput,
    NetworkNotFound,
    OperationTimeout,
    OperatorError,
)

if TYPE_CHECKING:
    from operator_core.docker import DockerActionExecutor

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
    """Load ``DockerActionExecutor`` when it is first asked for."""
    if name == "DockerActionExecutor":
        from operator_core.docker import DockerActionExecutor

        return DockerActionExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
