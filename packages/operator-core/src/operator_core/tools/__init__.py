"""Tool definitions for agents: one ``ToolSpec`` per executor action.

From each spec come the input JSON Schema, the Anthropic / OpenAI / MCP tool lists and
input validation. Running a tool (policy, audit, the executor call) is
``operator_core.runner.ToolRunner.execute_tool``.
"""

from operator_core.tools.formats import (
    Shape,
    anthropic_tools,
    mcp_tools,
    openai_tools,
    tool_list,
)
from operator_core.tools.registry import REGISTRY, TOOLS, get_tool, suggest_tools
from operator_core.tools.spec import Risk, ToolSpec
from operator_core.tools.validation import describe_expected, lookup_tool, validate_arguments

__all__ = [
    "REGISTRY",
    "TOOLS",
    "Risk",
    "Shape",
    "ToolSpec",
    "anthropic_tools",
    "describe_expected",
    "get_tool",
    "lookup_tool",
    "mcp_tools",
    "openai_tools",
    "suggest_tools",
    "tool_list",
    "validate_arguments",
]
