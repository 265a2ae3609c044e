"""Connect containers to networks and cut them off."""

from __future__ import annotations

from operator_core.docker._core import ExecutorCore

__all__ = ["NetworkActions"]


class NetworkActions(ExecutorCore):
    """Connect containers to networks and cut them off."""
