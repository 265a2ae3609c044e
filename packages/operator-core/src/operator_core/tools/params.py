"""Each action's parameters, written once: in its tool's input model, read back from there.

An action's parameters are named in four places: the tool's pydantic input model
(``tools/inputs.py``, ``tools/swarm.py``), the executor's protocol
(``runner/executor.py`` ``ContainerExecutor``), ``DockerActionExecutor``'s method and the
command line's options (``cli/commands``). The input model is the definition: name,
the types it admits, default and bounds. ``parameters`` reads that table from a model;
the other three places are checked against it (``tests/test_params_agree.py``), so a
name, type, default or bound that drifts fails a test.

The field types more than one input model uses live here too, so each is written once:
``NO_BOOL`` (a number, never true/false) and ``LabelFilters`` (a list of ``key`` or
``key=value``, checked by the executor's own rule).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from pydantic_core import PydanticUndefined

from operator_core.errors import InvalidInput
from operator_core.limits import MAX_LABEL_FILTER_LENGTH, MAX_LABEL_FILTERS
from operator_core.tools.bounds import loads
from operator_core.validate import validate_label_filters

__all__ = [
    "NO_BOOL",
    "REQUIRED",
    "Bounds",
    "LabelFilters",
    "Param",
    "kinds_of",
    "parameters",
]

#: The default of a parameter that has none (the caller must give it).
REQUIRED = "<required>"

#: The bounds a parameter may carry: ``ge``, ``gt``, ``le``, ``lt`` (numbers) and
#: ``min_length``, ``max_length`` (text and lists), by name.
Bounds = dict[str, float]

_BOUND_NAMES = ("ge", "gt", "le", "lt", "min_length", "max_length")


def _no_bool(value: object) -> object:
    """Refuse a bool where a number belongs (pydantic would read ``true`` as 1)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


#: A number field's guard: true/false is refused, not read as 1/0.
NO_BOOL = BeforeValidator(_no_bool)


def _one_as_list(value: object) -> object:
    """Take one filter given as a plain string as a list of one (models often send one).

    A string that is a JSON list (``'["a", "b=c"]'``) is that list, as for every list
    argument.
    """
    if not isinstance(value, str):
        return value
    if value.startswith("["):
        try:
            parsed = loads(value)
        except ValueError:  # JSONDecodeError included: then it is one (odd) filter
            return [value]
        return parsed
    return [value]


def _label_rule(value: list[str] | None) -> list[str] | None:
    """Run the executor's own label rule; its InvalidInput is a ValueError for pydantic."""
    if value is None:
        return None
    try:
        return validate_label_filters(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


#: Label filters: a list of ``key`` or ``key=value``, all of which must match (one plain
#: string is taken as a list of one). Containers, services and the log search share it.
LabelFilters = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=MAX_LABEL_FILTER_LENGTH)]] | None,
    Field(
        max_length=MAX_LABEL_FILTERS,
        description="Only those with every one of these labels, each 'key' or 'key=value'.",
    ),
    BeforeValidator(_one_as_list),
    AfterValidator(_label_rule),
]


@dataclass(frozen=True)
class Param:
    """One parameter of an action: its name, the types it admits, default and bounds.

    ``kinds`` names each Python type a value may have (``str``, ``int``, ``float``,
    ``bool``, ``list``, ``dict``, ``None``, ``datetime``); ``choices`` the values a
    ``Literal`` allows (empty: any); ``default`` is ``REQUIRED`` when there is none.
    """

    name: str
    kinds: frozenset[str]
    choices: frozenset[str | int]
    default: object
    bounds: Bounds

    @property
    def required(self) -> bool:
        """Whether a call must give this parameter."""
        return self.default == REQUIRED

    @property
    def many(self) -> bool:
        """Whether the parameter takes a list of values."""
        return "list" in self.kinds


_PLAIN: dict[object, str] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    list: "list",
    tuple: "list",
    dict: "dict",
    type(None): "None",
    None: "None",
    datetime: "datetime",
}


def kinds_of(annotation: object) -> tuple[frozenset[str], frozenset[str | int]]:
    """Return the kinds of value ``annotation`` admits, and a ``Literal``'s choices."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return kinds_of(get_args(annotation)[0])
    if origin is Literal:
        values = get_args(annotation)
        return frozenset(_PLAIN[type(v)] for v in values), frozenset(values)
    if origin in (Union, types.UnionType):
        kinds: set[str] = set()
        choices: set[str | int] = set()
        for arm in get_args(annotation):
            arm_kinds, arm_choices = kinds_of(arm)
            kinds |= arm_kinds
            choices |= arm_choices
        return frozenset(kinds), frozenset(choices)
    plain = _PLAIN.get(origin if origin is not None else annotation)
    if plain is None:
        raise TypeError(f"no kind for the annotation {annotation!r}")
    return frozenset({plain}), frozenset()


def _bounds(metadata: list[object]) -> Bounds:
    """Return the numeric and length bounds among a field's metadata."""
    found: Bounds = {}
    for item in metadata:
        for name in _BOUND_NAMES:
            value = getattr(item, name, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[name] = float(value)
    return found


def parameters(model: type[BaseModel]) -> tuple[Param, ...]:
    """Return the parameters a tool's input ``model`` defines, in its field order."""
    found = []
    for name, field in model.model_fields.items():
        kinds, choices = kinds_of(field.annotation)
        default = REQUIRED if field.default is PydanticUndefined else field.default
        found.append(Param(name, kinds, choices, default, _bounds(list(field.metadata))))
    return tuple(found)
