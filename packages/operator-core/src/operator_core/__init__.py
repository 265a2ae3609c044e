"""operator-core: the layer that lets an operator agent act on Docker containers safely."""

from operator_core.docker import DockerActionExecutor
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
