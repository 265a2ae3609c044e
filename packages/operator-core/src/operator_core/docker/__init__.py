"""Docker actions for operator agents: ``DockerActionExecutor``."""

from operator_core.docker.actions import DockerActionExecutor

__all__ = ["DockerActionExecutor"]
