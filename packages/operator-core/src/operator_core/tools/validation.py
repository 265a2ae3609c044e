"""Turn what an agent sent into a tool's validated input, or say exactly what is wrong.

Each problem names the field, what is wrong with it, what was sent (for scalars) and how
to fix it, the fix being written from the field's JSON Schema so it can never disagree
with the schema the agent was given.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from typing import NoReturn

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from operator_core.audit.redact import redact_value
from operator_core.errors import InvalidArguments, Problem, UnknownTool
from operator_core.tools.bounds import finite, loads, shape_problem
from operator_core.tools.registry import REGISTRY, get_tool, suggest_tools
from operator_core.tools.spec import ToolSpec
from operator_core.words import JSONObject, json_list, json_object

__all__ = ["describe_expected", "lookup_tool", "validate_arguments"]

_ROOT = "(arguments)"
_MAX_PROBLEMS = 20
_GOT_MAX = 120
#: Fields whose values are never echoed back (they may hold secrets).
_SECRET_FIELDS = frozenset({"env"})


def lookup_tool(name: object) -> ToolSpec:
    """Return the tool called ``name``, or raise UnknownTool naming the closest ones."""
    spec = get_tool(name) if isinstance(name, str) else None
    if spec is not None:
        return spec
    suggestions = suggest_tools(str(name))
    hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownTool(
        f"There is no tool named {str(name)[:100]!r}.{hint} Call one of the available "
        f"tools by its exact name: {', '.join(REGISTRY)}.",
        suggestions,
    )


def validate_arguments(spec: ToolSpec, raw: object) -> BaseModel:
    """Return ``raw`` validated as ``spec``'s input, or raise InvalidArguments."""
    arguments = _as_object(spec, raw)
    try:
        return spec.input_model.model_validate(arguments)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = [_problem(spec, error) for error in errors[:_MAX_PROBLEMS]]
        if len(errors) > _MAX_PROBLEMS:
            problems.append(_more(len(errors) - _MAX_PROBLEMS))
        raise InvalidArguments(_message(spec, problems), problems) from None


def _more(count: int) -> Problem:
    """Return the problem standing for the ``count`` problems not listed."""
    return {
        "field": _ROOT,
        "problem": f"has {count} more problem(s) not listed",
        "fix": "fix the ones listed, then call again to see the rest",
    }


def _as_object(spec: ToolSpec, raw: object) -> JSONObject:
    """Return the arguments as a dict: None is {}, a JSON object string is parsed.

    Their nesting and size are bounded (``bounds``) before anything parses or walks them.
    """
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            raw = None
        except ValueError as exc:  # too large, too deep, or NaN: said before parsing on
            _refuse_shape(spec, str(exc))
    elif (too_big := shape_problem(raw)) is not None:
        _refuse_shape(spec, too_big)
    if isinstance(raw, dict):
        return json_object(raw)
    problem: Problem = {
        "field": _ROOT,
        "problem": f"must be a JSON object, got {type(raw).__name__}",
        "fix": f"send an object such as {_example(spec)}",
    }
    raise InvalidArguments(_message(spec, [problem]), [problem])


def _refuse_shape(spec: ToolSpec, problem: str) -> NoReturn:
    """Raise InvalidArguments for arguments too deep, too large or with a non-finite number."""
    fault: Problem = {
        "field": _ROOT,
        "problem": problem,
        "fix": f"send a flat object such as {_example(spec)}",
    }
    raise InvalidArguments(_message(spec, [fault]), [fault])


def _example(spec: ToolSpec) -> str:
    """Return an example argument object holding the tool's required fields."""
    required = json_list(spec.input_schema.get("required"))
    return json.dumps({str(name): "..." for name in required}, allow_nan=False)


def _problem(spec: ToolSpec, error: ErrorDetails) -> Problem:
    """Return one structured problem for one pydantic error."""
    loc = tuple(error["loc"])
    field = ".".join(str(part) for part in loc) or _ROOT
    top = str(loc[0]) if loc else ""
    kind = error["type"]
    properties = json_object(spec.input_schema.get("properties"))
    schema = json_object(properties.get(top))
    if kind == "extra_forbidden":
        return {
            "field": field,
            "problem": f"is not a parameter of {spec.name}",
            "fix": _unknown(spec, top),
        }
    expected = describe_expected(schema)
    if kind == "missing":
        about = str(schema.get("description") or "")
        return {
            "field": field,
            "problem": "is required but missing",
            "fix": f"add `{field}`: {expected} ({about.rstrip('.')})"
            if about
            else f"add `{field}`: {expected}",
        }
    problem: Problem = {"field": field, "problem": _reword(error["msg"]), "fix": ""}
    got = error.get("input")
    if top not in _SECRET_FIELDS and isinstance(got, str | int | float | bool):
        problem["got"] = redact_value(got)[:_GOT_MAX] if isinstance(got, str) else finite(got)
    problem["fix"] = f"set `{top or field}` to {expected}"
    return problem


def _unknown(spec: ToolSpec, key: str) -> str:
    """Return the fix for an unknown key: the closest real parameter, and the list of them."""
    names = list(json_object(spec.input_schema.get("properties")))
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return f"remove `{key}`{hint} ({spec.name} takes: {', '.join(names)})"


def _reword(message: str) -> str:
    """Return pydantic's message phrased about the field ("should be ...")."""
    for prefix in ("Value error, ", "Input should", "Assertion failed, "):
        if message.startswith(prefix):
            rest = message[len(prefix) :]
            return f"should{rest}" if prefix == "Input should" else rest
    return message[:1].lower() + message[1:]


def _message(spec: ToolSpec, problems: list[Problem]) -> str:
    """Return one sentence per problem, then how to fix them all."""
    count = len(problems)
    faults = "; ".join(f"`{p['field']}` {p['problem']}" for p in problems)
    fixes = "; ".join(p["fix"] for p in problems)
    noun = "problem" if count == 1 else "problems"
    return f"Invalid arguments for {spec.name} ({count} {noun}): {faults}. To fix: {fixes}."


def describe_expected(schema: JSONObject) -> str:
    """Return what a JSON Schema accepts, in words ("an integer from 0 to 3600 (default 10)")."""
    text = _describe(schema)
    if "default" in schema and schema["default"] is not None:
        text += f" (default {json.dumps(schema['default'], allow_nan=False)})"
    return text


def _describe(schema: JSONObject) -> str:
    """Return the words for one schema, without its default."""
    if "anyOf" in schema:
        arms = [json_object(arm) for arm in json_list(schema["anyOf"])]
        options = [arm for arm in arms if arm.get("type") != "null"]
        nullable = len(options) < len(arms)
        text = " or ".join(_describe(s) for s in options)
        return f"{text}, or null" if nullable else text
    if "enum" in schema:
        return "one of " + ", ".join(
            json.dumps(v, allow_nan=False) for v in json_list(schema["enum"])
        )
    kind = schema.get("type")
    describe = _DESCRIBERS.get(kind) if isinstance(kind, str) else None
    return describe(schema) if describe else "a valid value"


def _number(schema: JSONObject) -> str:
    """Return the words for an integer or number schema with its bounds."""
    noun = "an integer" if schema.get("type") == "integer" else "a number"
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum")
    if low is not None and high is not None:
        above = "above" if "exclusiveMinimum" in schema else "from"
        return f"{noun} {above} {low} {'up ' if above == 'above' else ''}to {high}"
    return noun


def _string(schema: JSONObject) -> str:
    """Return the words for a string schema."""
    if "pattern" in schema:
        return "a name or id made of letters, digits, '_', '.', '-' (not starting with '-')"
    return "a string"


def _array(schema: JSONObject) -> str:
    """Return the words for a list schema with its length bounds."""
    kind = json_object(schema.get("items")).get("type")
    noun = f"a JSON list of {kind}s" if isinstance(kind, str) else "a JSON list"
    if "maxItems" in schema:
        return f"{noun} with {schema.get('minItems', 0)} to {schema['maxItems']} items"
    return noun


def _boolean(_schema: JSONObject) -> str:
    """Return the words for a boolean schema."""
    return "true or false"


def _object(_schema: JSONObject) -> str:
    """Return the words for an object schema (only ``env`` has one)."""
    return 'a JSON object of string values such as {"LEVEL": "debug"}'


_DESCRIBERS: dict[str, Callable[[JSONObject], str]] = {
    "integer": _number,
    "number": _number,
    "string": _string,
    "boolean": _boolean,
    "array": _array,
    "object": _object,
}
