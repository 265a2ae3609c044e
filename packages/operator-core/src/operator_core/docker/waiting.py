"""Wait until a container is running, healthy, exited or removed."""

from __future__ import annotations

from operator_core.docker._core import ExecutorCore

__all__ = ["WaitActions"]


class WaitActions(ExecutorCore):
    """Wait until a container is running, healthy, exited or removed."""
