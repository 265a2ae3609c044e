"""The shape an agent's arguments may have, checked before anything parses or walks them.

Arguments reach the tool layer as a dict (an SDK already parsed them) or as a JSON
string, and some fields (``command``, ``env``, ``refs``) may themselves be JSON strings.
Before any of that is parsed, validated, redacted or stored, its nesting depth and size
are checked here without recursion, so that no input can exhaust Python's recursion limit
(a ``RecursionError`` would otherwise escape as an internal error, with no audit record)
or make the operator copy megabytes around:

* ``shape_problem`` measures a value already in memory (dicts, lists, strings);
* ``loads`` parses a JSON string after measuring the nesting of its brackets, and refuses
  ``NaN`` and ``Infinity``, which are not JSON;
* ``finite`` spells non-finite floats as strings, for echoing what was sent.

The bounds are far above what any tool takes (its deepest input is an object of strings
inside the arguments: depth 2) and what ``docker exec`` would accept on a command line.
"""

from __future__ import annotations

import json
import math
import re
from typing import NoReturn

from operator_core.words import JSONValue

__all__ = ["MAX_ARGUMENT_CHARS", "MAX_DEPTH", "finite", "loads", "shape_problem"]

#: How deeply lists and objects may nest, the arguments object itself being depth 1.
MAX_DEPTH = 16
#: The most characters (string contents and keys, plus one per value) in one call's
#: arguments: 1 MiB of text.
MAX_ARGUMENT_CHARS = 1 << 20

_SURROGATE = re.compile("[\ud800-\udfff]")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def shape_problem(value: object) -> str | None:
    """Return what makes ``value`` too deep or too large, or None when it is within bounds.

    Walks with an explicit stack and stops as soon as a bound is passed, so a value of any
    depth or size (even one that contains itself) costs at most the bounds to look at.
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    size = 0
    while stack:
        item, depth = stack.pop()
        size += 1
        if isinstance(item, str | bytes):
            size += len(item)
            if isinstance(item, str) and _SURROGATE.search(item):
                return "holds text that is not valid Unicode (a lone surrogate)"
        elif isinstance(item, dict | list | tuple):
            if depth > MAX_DEPTH:
                return f"nests deeper than {MAX_DEPTH} levels"
            size += len(item)
            if size > MAX_ARGUMENT_CHARS:
                break
            if isinstance(item, dict):
                for key, child in item.items():
                    size += len(key) if isinstance(key, str) else 1
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        if size > MAX_ARGUMENT_CHARS:
            break
    if size > MAX_ARGUMENT_CHARS:
        return f"is larger than {MAX_ARGUMENT_CHARS} characters in all"
    return None


def _text_problem(text: str) -> str | None:
    """Return what makes the JSON ``text`` too large or too deeply nested to parse, or None."""
    if len(text) > MAX_ARGUMENT_CHARS:
        return f"is larger than {MAX_ARGUMENT_CHARS} characters in all"
    depth = 0
    for bracket in _BRACKETS.findall(_STRING.sub('""', text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            return f"nests deeper than {MAX_DEPTH} levels"
    return None


def _no_constant(name: str) -> NoReturn:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity``, which Python's parser would take."""
    raise ValueError(f"{name} is not a JSON number; send a finite number")


def loads(text: str) -> JSONValue:
    """Return the JSON value ``text`` holds, or raise ValueError saying what is wrong.

    The size and nesting are checked before parsing; a non-finite number is refused.
    """
    problem = _text_problem(text)
    if problem is not None:
        raise ValueError(problem)
    value: JSONValue = json.loads(text, parse_constant=_no_constant)
    problem = shape_problem(value)  # "\ud800" escapes decode to lone surrogates
    if problem is not None:
        raise ValueError(problem)
    return value


def finite(value: JSONValue) -> JSONValue:
    """Return ``value`` with each non-finite float spelled as a string ("NaN", "Infinity").

    Lists and dicts are copied; call it only on a value within bounds (``shape_problem``).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: finite(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [finite(child) for child in value]
    return value
