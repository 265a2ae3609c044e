"""Read a container's logs, bounded in lines and bytes."""

from __future__ import annotations

from operator_core.docker._core import ExecutorCore

__all__ = ["LogActions"]


class LogActions(ExecutorCore):
    """Read a container's logs, bounded in lines and bytes."""
