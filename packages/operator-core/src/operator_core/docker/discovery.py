"""Find containers: listings and batch reads in a constant number of processes."""

from __future__ import annotations

from operator_core.docker._core import ExecutorCore

__all__ = ["DiscoveryActions"]


class DiscoveryActions(ExecutorCore):
    """Find containers: listings and batch reads in a constant number of processes."""
