"""No ``Any`` in a new public signature (issue 20).

Public: a name in ``__all__`` of a module whose dotted path has no ``_private`` part, and
the public methods of such a class. No public signature says ``Any`` (the known list is
empty; an entry would need a comment saying why it cannot be typed): a public function,
method or ``TypedDict`` added with ``Any`` in it fails this test.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import operator_core

# What still says Any, as ``module:Name`` or ``module:Class.method`` (without the package),
# each with a comment saying why it cannot be typed. None does now.
KNOWN: set[str] = set()


def _public_modules() -> Iterator[str]:
    """Yield every module of the package whose dotted path has no private part."""
    for found in pkgutil.walk_packages(operator_core.__path__, "operator_core."):
        parts = found.name.split(".")[1:]
        if not any(part.startswith("_") for part in parts):
            yield found.name


def _hints(target: Callable[..., object] | type) -> dict[str, object]:
    """Return the annotations of ``target`` (as text where a name cannot be resolved)."""
    try:
        return typing.get_type_hints(target)
    except NameError:  # a name imported only for the type checker
        return dict(getattr(target, "__annotations__", {}))


def _mentions_any(target: Callable[..., object] | type) -> bool:
    """Whether an annotation of ``target`` mentions ``Any``."""
    return any("Any" in repr(hint) for hint in _hints(target).values())


def _members(name: str, obj: object) -> Iterator[tuple[str, Callable[..., object] | type]]:
    """Yield a public name and, for a class, its public methods (``__init__`` too)."""
    if inspect.isfunction(obj) or inspect.isclass(obj):
        yield name, obj
    if inspect.isclass(obj):
        for key, value in vars(obj).items():
            if key.startswith("_") and key != "__init__":
                continue
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                value = value.fget
            if inspect.isfunction(value):
                yield f"{name}.{key}", value


def public_signatures_with_any() -> set[str]:
    """Return every public signature that mentions ``Any``, as ``module:name``."""
    found = set()
    for module_name in _public_modules():
        if module_name.endswith("__main__"):
            continue
        module = importlib.import_module(module_name)
        for public in getattr(module, "__all__", []):
            obj = getattr(module, public, None)
            if getattr(obj, "__module__", module_name) != module_name:
                continue  # re-exported: checked where it is defined
            for label, target in _members(public, obj):
                if _mentions_any(target):
                    found.add(f"{module_name.removeprefix('operator_core.')}:{label}")
    return found


def test_no_new_public_signature_says_any():
    """A public function, method or TypedDict outside the known list never says ``Any``."""
    new = public_signatures_with_any() - KNOWN
    assert not new, f"public signatures with Any (use JSONObject, a TypedDict or object): {new}"


def test_the_known_list_names_only_what_still_says_any():
    """An entry of the known list whose signature no longer says ``Any`` is taken out.

    So the list shrinks as signatures are typed, and an entry cannot stay behind to let
    a later ``Any`` back in unnoticed.
    """
    stale = KNOWN - public_signatures_with_any()
    assert not stale, f"no longer say Any (remove from KNOWN): {sorted(stale)}"


def _nested_any(value: dict[str, Any] | None) -> None:
    """A sample: ``Any`` deep inside a parameter's annotation."""


def _returns_any() -> list[Any]:
    """A sample: ``Any`` in the return annotation."""
    return []


def _typed(value: Mapping[str, object]) -> dict[str, object]:
    """A sample without ``Any``."""
    return dict(value)


def test_the_scan_sees_any_where_it_is():
    """The scan finds ``Any`` in a parameter or a result, however deep, and only there.

    So the tests above cannot pass by seeing nothing.
    """
    assert _mentions_any(_nested_any)
    assert _mentions_any(_returns_any)
    assert not _mentions_any(_typed)
