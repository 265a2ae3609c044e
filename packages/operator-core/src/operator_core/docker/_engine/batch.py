"""Reads of many containers in one docker process each, built on ``_engine.run_cli``.

python-on-whales starts one ``docker inspect`` per container in
``docker.container.inspect([...])`` and its ``Container`` objects re-inspect lazily, so a
listing through it costs a process per container. Here a listing is one
``docker container ls -q`` and one ``docker container inspect id1 id2 ...``.

``docker container inspect`` with some unknown references prints the containers it found
on stdout and exits 1; that is a partial answer, not a failure, and is kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from python_on_whales.components.container.models import ContainerInspectResult
from python_on_whales.exceptions import DockerException

from operator_core.docker._engine import cli as _engine

__all__ = ["inspect_many", "list_ids", "match"]

_MISSING_MARKER = "no such container"


def list_ids(client: Any, *, include_stopped: bool, filters: Sequence[str]) -> list[str]:
    """Return the full ids of the containers ``docker container ls`` shows, newest first."""
    args = ["container", "ls", "--quiet", "--no-trunc"]
    if include_stopped:
        args.append("--all")
    for spec in filters:
        args += ["--filter", spec]
    output = _engine.run_cli(client, args)
    return [line.strip() for line in output.splitlines() if line.strip()]


def inspect_many(
    client: Any, references: Sequence[str]
) -> tuple[list[ContainerInspectResult], list[str]]:
    """Inspect ``references`` in one process; return the results found and the refs missing.

    Any failure other than unknown containers (an unreachable engine, an ambiguous id
    prefix) is raised for ``run_bounded`` to translate.
    """
    if not references:
        return [], []
    unknown: set[str] = set()
    try:
        output = _engine.run_cli(client, ["container", "inspect", *references])
    except DockerException as exc:
        unknown = _unknown_references(exc.stderr)
        if not unknown:
            raise
        output = exc.stdout or "[]"
    models = [ContainerInspectResult.model_validate(item) for item in json.loads(output or "[]")]
    missing = [ref for ref in references if ref in unknown or match(ref, models) is None]
    return models, missing


def _unknown_references(stderr: str | None) -> set[str]:
    """Return the references docker said it does not know; empty if it said anything else.

    Each line reads ``Error response from daemon: No such container: <reference>``.
    """
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    if not lines or not all(_MISSING_MARKER in line.lower() for line in lines):
        return set()
    return {line.rsplit(":", 1)[-1].strip() for line in lines}


def match(
    reference: str, models: Sequence[ContainerInspectResult]
) -> ContainerInspectResult | None:
    """Return the result ``reference`` names, resolved as docker does: full id, name, id prefix."""
    for model in models:
        if model.id == reference:
            return model
    for model in models:
        if str(model.name or "").lstrip("/") == reference:
            return model
    for model in models:
        if str(model.id or "").startswith(reference):
            return model
    return None
