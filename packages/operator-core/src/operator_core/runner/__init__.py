"""Run agents' tool calls: validation, policy, executor, audit, one JSON-able envelope.

Build a ``ToolRunner`` with an executor, a policy and an audit sink, then call
``await runner.execute_tool(name, arguments, actor=..., reason=...)``. The module-level
``execute_tool`` uses a process-wide runner (``set_default_runner``; by default one in
observe mode with an in-memory audit trail).
"""

from __future__ import annotations

from typing import Any

from operator_core.runner.core import ToolRunner
from operator_core.runner.envelope import ERROR_TYPES, error_type

__all__ = [
    "ERROR_TYPES",
    "ToolRunner",
    "default_runner",
    "error_type",
    "execute_tool",
    "set_default_runner",
]

_default: ToolRunner | None = None


def set_default_runner(runner: ToolRunner | None) -> None:
    """Make ``runner`` the one the module-level ``execute_tool`` uses (None: reset)."""
    global _default
    _default = runner


def default_runner() -> ToolRunner:
    """Return the process-wide runner, creating an observe-mode one on first use."""
    global _default
    if _default is None:
        from operator_core.docker import DockerActionExecutor

        _default = ToolRunner(DockerActionExecutor())
    return _default


async def execute_tool(
    name: str, arguments: Any = None, *, actor: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """Run a tool with the process-wide runner; see ``ToolRunner.execute_tool``."""
    return await default_runner().execute_tool(name, arguments, actor=actor, reason=reason)
