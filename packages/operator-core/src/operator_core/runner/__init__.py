"""Run agents' tool calls: validation, policy, executor, audit, one JSON-able envelope.

Build a ``ToolRunner`` with an executor, a policy and an audit sink, then call
``await runner.execute_tool(name, arguments, actor=..., reason=...)``. Building one does
no I/O; its start-up reads (``await runner.start()``, else on the first call) run in a
worker thread. There is no process-wide runner: each caller owns the runner it built, and
with it the policy and audit trail its calls go through.
"""

from __future__ import annotations

from operator_core.runner.core import ToolRunner
from operator_core.runner.envelope import ERROR_TYPES, error_type
from operator_core.runner.executor import ContainerExecutor

__all__ = ["ERROR_TYPES", "ContainerExecutor", "ToolRunner", "error_type"]
