"""Shell completion of container names, read from the engine.

``operator --install-completion`` (typer's) installs the completion script for the
running shell; container arguments then complete from the names on the engine that the
command line points at (``--host``/``--context`` are honoured). Reading them costs two
short docker processes, bounded by ``runtime.NAMES_DEADLINE_S``; when the engine does not
answer, nothing is offered and the shell goes on.
"""

from __future__ import annotations

import asyncio

import typer

from operator_core.cli.runtime import container_names
from operator_core.cli.settings import Settings

__all__ = ["complete_container", "matching"]


def matching(incomplete: str, names: list[str]) -> list[str]:
    """Return the names that start with ``incomplete``, sorted."""
    return sorted(name for name in names if name.startswith(incomplete))


def complete_container(ctx: typer.Context, incomplete: str) -> list[str]:
    """Return the container names on the engine that start with ``incomplete``."""
    params = ctx.find_root().params
    host, context = params.get("host"), params.get("context")
    settings = Settings(
        host=host if isinstance(host, str) else None,
        context=context if isinstance(context, str) else None,
    )
    return matching(incomplete, asyncio.run(container_names(settings)))
