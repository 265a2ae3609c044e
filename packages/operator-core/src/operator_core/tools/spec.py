"""``ToolSpec``: the one definition of a tool, and everything derived from it.

A spec names the tool, describes it for a model, points at the pydantic model of its
input and at the ``DockerActionExecutor`` method it calls, and carries its risk and
hints. The JSON Schema and the Anthropic, OpenAI and MCP shapes are computed from it;
nothing about a tool is written down twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import BaseModel

from operator_core.words import JSONObject, JSONValue, json_list, json_object

__all__ = ["Risk", "TargetKind", "ToolSpec", "clean_schema", "read_spec"]

#: What a tool's ``target`` field names.
TargetKind = Literal["container", "service", "node"]


class Risk(StrEnum):
    """How much harm a wrong call of a tool can do."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its name, description, input model, executor method, risk and hints.

    ``target`` names the input field that holds the container a mutating tool acts on
    (the policy resolves it, locks it and records its state before and after);
    ``target_kind`` says what that field names: a container, a swarm service or a node.
    """

    name: str
    title: str
    description: str
    input_model: type[BaseModel]
    method: str
    risk: Risk
    read_only: bool
    destructive: bool
    idempotent: bool
    requires_approval: bool = False
    #: A cancel of the call may stop the action early (its executor call kills its work,
    #: as an exec does), so the runner passes a cancel on; other actions run to their end.
    interruptible: bool = False
    target: str | None = "container_id"
    target_kind: TargetKind = "container"

    @property
    def mutating(self) -> bool:
        """Whether the tool changes anything (the opposite of read-only)."""
        return not self.read_only

    @cached_property
    def input_schema(self) -> JSONObject:
        """Return the JSON Schema of the tool's input, derived from ``input_model``."""
        schema = clean_schema(self.input_model.model_json_schema())
        schema.pop("description", None)  # the model's docstring; the tool has its own
        return schema

    def anthropic(self) -> JSONObject:
        """Return the tool as Anthropic's Messages API takes it in ``tools``."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
        }

    def openai(self) -> JSONObject:
        """Return the tool as OpenAI's function calling takes it in ``tools``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.input_schema,
            },
        }

    def mcp(self) -> JSONObject:
        """Return the tool as an MCP server lists it in ``tools/list``."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            "annotations": {
                "title": self.title,
                "readOnlyHint": self.read_only,
                "destructiveHint": self.destructive,
                "idempotentHint": self.idempotent,
                "openWorldHint": False,
            },
        }


def clean_schema(schema: JSONObject) -> JSONObject:
    """Return ``schema`` without pydantic's generated titles (noise to a model)."""
    cleaned = {key: value for key, value in schema.items() if key != "title"}
    for key in ("properties", "$defs"):
        if key in cleaned:
            named = json_object(cleaned[key]).items()
            cleaned[key] = {name: _clean(sub) for name, sub in named}
    for key in ("items", "additionalProperties"):
        if key in cleaned:
            cleaned[key] = _clean(cleaned[key])
    if "anyOf" in cleaned:
        cleaned["anyOf"] = [_clean(sub) for sub in json_list(cleaned["anyOf"])]
    return cleaned


def _clean(value: JSONValue) -> JSONValue:
    """Return a sub-schema cleaned (anything but an object as it is)."""
    return clean_schema(value) if isinstance(value, dict) else value


def read_spec(
    name: str,
    title: str,
    description: str,
    model: type[BaseModel],
    method: str,
    target: str | None,
) -> ToolSpec:
    """Return the spec of a read-only tool (low risk, idempotent)."""
    return ToolSpec(
        name=name,
        title=title,
        description=description,
        input_model=model,
        method=method,
        risk=Risk.LOW,
        read_only=True,
        destructive=False,
        idempotent=True,
        target=target,
    )
