"""Tools over a fleet: every tool's input gains ``host``, an enum of the inventory's names.

``ToolRunner`` uses these when its executor routes calls to hosts (an executor whose class
sets ``routes_hosts = True``, as ``operator_core.fleet.FleetExecutor`` does, and which has
``names``, ``default`` and ``host_labels()``). A host that is not in the inventory is then
refused by validation like any other bad argument, before anything runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from pydantic import Field, create_model

from operator_core.tools.registry import REGISTRY
from operator_core.tools.spec import ToolSpec
from operator_core.words import JSONObject

__all__ = ["LIST_METHOD", "host_of", "routes_hosts", "tools_with_host"]

#: The one method that, without a host, covers every host.
LIST_METHOD = "list_containers"


def routes_hosts(executor: object) -> bool:
    """Whether ``executor`` takes a ``host`` on every call (its class says so)."""
    return getattr(type(executor), "routes_hosts", False) is True


def tools_with_host(names: tuple[str, ...], default: str) -> Mapping[str, ToolSpec]:
    """Return every tool's spec with a ``host`` argument naming one of ``names``."""
    specs = {name: _with_host(spec, names, default) for name, spec in REGISTRY.items()}
    return MappingProxyType(specs)


def _with_host(spec: ToolSpec, names: tuple[str, ...], default: str) -> ToolSpec:
    """Return ``spec`` whose input model also takes ``host`` (one of ``names``, or null)."""
    if spec.method == LIST_METHOD:
        about = "Default: every host."
    elif spec.target_kind in ("service", "node") or "_service" in spec.name or "node" in spec.name:
        about = f"A swarm manager; default {default!r}."
    else:
        about = f"Default {default!r}."
    host_type = Literal[names]  # type: ignore[valid-type]
    model = create_model(
        spec.input_model.__name__,
        __base__=spec.input_model,
        __doc__=spec.input_model.__doc__,
        host=(host_type | None, Field(default=None, description=about)),
    )
    return dataclasses.replace(spec, input_model=model)


def host_of(spec: ToolSpec, arguments: JSONObject, default: str) -> str | None:
    """Return the host a validated call acts on: its ``host``, else the default (None: all)."""
    chosen = arguments.get("host")
    if chosen is None and spec.method != LIST_METHOD:
        return default
    return chosen if isinstance(chosen, str) else None
