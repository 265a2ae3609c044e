"""Send signals to containers; pause and unpause them."""

from __future__ import annotations

from operator_core.docker._core import ExecutorCore

__all__ = ["SignalActions"]


class SignalActions(ExecutorCore):
    """Send signals to containers; pause and unpause them."""
