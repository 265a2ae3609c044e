"""The tool list in the shapes model APIs and MCP expect, derived from the specs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from operator_core.tools.registry import TOOLS
from operator_core.tools.spec import ToolSpec
from operator_core.words import JSONObject

__all__ = ["Shape", "anthropic_tools", "mcp_tools", "openai_tools", "tool_list"]

Shape = Literal["anthropic", "openai", "mcp"]

_SHAPES: dict[str, Callable[[ToolSpec], JSONObject]] = {
    "anthropic": ToolSpec.anthropic,
    "openai": ToolSpec.openai,
    "mcp": ToolSpec.mcp,
}


def tool_list(shape: Shape, specs: Iterable[ToolSpec] = TOOLS) -> list[JSONObject]:
    """Return ``specs`` (default: every tool) in ``shape``."""
    render = _SHAPES[shape]
    return [render(spec) for spec in specs]


def anthropic_tools(specs: Iterable[ToolSpec] = TOOLS) -> list[JSONObject]:
    """Return the ``tools`` parameter of an Anthropic Messages API request."""
    return tool_list("anthropic", specs)


def openai_tools(specs: Iterable[ToolSpec] = TOOLS) -> list[JSONObject]:
    """Return the ``tools`` parameter of an OpenAI chat completions request."""
    return tool_list("openai", specs)


def mcp_tools(specs: Iterable[ToolSpec] = TOOLS) -> list[JSONObject]:
    """Return the ``tools`` of an MCP ``tools/list`` result."""
    return tool_list("mcp", specs)
