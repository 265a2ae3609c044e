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

from operator_core.words import JSONObject, JSONValue, ToolsetName, json_list, json_object

__all__ = [
    "Risk",
    "TargetKind",
    "ToolSpec",
    "ToolsetName",
    "clean_schema",
    "lean_schema",
    "read_spec",
]


#: What a tool's ``target`` field names.
TargetKind = Literal["container", "service", "node"]


class Risk(StrEnum):
    """How much harm a wrong call of a tool can do."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


#: How a read-only tool's description ends (the MCP list says it with readOnlyHint).
_CHANGES_NOTHING = " Changes nothing."


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

    @cached_property
    def listed_schema(self) -> JSONObject:
        """Return the input schema as tool lists give it to a model: ``lean_schema``'s."""
        return lean_schema(self.input_schema)

    def anthropic(self) -> JSONObject:
        """Return the tool as Anthropic's Messages API takes it in ``tools``."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.listed_schema,
        }

    def openai(self) -> JSONObject:
        """Return the tool as OpenAI's function calling takes it in ``tools``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.listed_schema,
            },
        }

    def mcp(self) -> JSONObject:
        """Return the tool as an MCP server lists it in ``tools/list``.

        A read-only tool's hints say it changes nothing, so its description need not,
        and the destructive and idempotent hints (meaningful only for a tool that
        changes something, the MCP specification says) are left out.
        """
        hints: dict[str, bool] = {"readOnlyHint": self.read_only}
        if not self.read_only:
            hints |= {"destructiveHint": self.destructive, "idempotentHint": self.idempotent}
        description = self.description
        if self.read_only:
            description = description.removesuffix(_CHANGES_NOTHING)
        return {
            "name": self.name,
            "title": self.title,
            "description": description,
            "inputSchema": self.listed_schema,
            "annotations": {**hints, "openWorldHint": False},
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


def lean_schema(schema: JSONObject) -> JSONObject:
    """Return ``schema`` as a model reads it: an optional field's null branch left out.

    ``anyOf: [X, {"type": "null"}]`` with ``default: null`` becomes ``X``: a field that is
    not required may be left out, which is all null says. A list's items lose their own
    description when the list has one (it said the same). Every enum, bound, pattern,
    default and required field stays; validation still uses the full ``input_schema``
    (null is still accepted).
    """
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return schema
    leaned: JSONObject = {name: _lean(json_object(sub)) for name, sub in properties.items()}
    return {**schema, "properties": leaned}


def _lean(schema: JSONObject) -> JSONObject:
    """Return one property's schema without its null branch and its items' description."""
    lean = _not_null(schema)
    items = lean.get("items")
    if isinstance(items, dict) and "description" in items and "description" in lean:
        lean = {**lean, "items": {k: v for k, v in items.items() if k != "description"}}
    return lean


def _not_null(schema: JSONObject) -> JSONObject:
    """Return an optional property's schema without its null branch and null default."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or schema.get("default", 0) is not None:
        return schema
    kept = [option for option in options if option != {"type": "null"}]
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    if len(kept) == 1:
        return {**json_object(kept[0]), **rest}
    return {"anyOf": kept, **rest}


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
