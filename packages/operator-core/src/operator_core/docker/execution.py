"""Run a command inside a running container, bounded in time and output."""

from __future__ import annotations

from operator_core.docker._core import ExecutorCore

__all__ = ["ExecActions"]


class ExecActions(ExecutorCore):
    """Run a command inside a running container, bounded in time and output."""
