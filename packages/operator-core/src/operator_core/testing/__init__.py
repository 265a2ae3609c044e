"""Helpers for testing code that uses operator-core, shipped with the library.

* ``TEST_IMAGE``: the local busybox image ``scripts/setup-engine.sh`` builds (no registry),
  ``TEST_LABEL``, ``unique_name``, ``HANDLES_SIGTERM`` and ``IGNORES_SIGTERM``: defined in
  ``operator_core._local_image`` (the demo uses them too) and re-exported here unchanged.
* ``count_docker_processes``: counts the docker processes started inside a block.
* ``record_requests``: the Engine API requests made inside a block (``[]``: none made).
* ``inspect_result``: a python-on-whales inspect result for fakes and mocks.
* ``HungEngine``: a Docker API socket that accepts and never answers
  (``operator_core.testing.hung_engine``), for tests of what a hung engine does.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from python_on_whales.components.container.models import ContainerInspectResult

from operator_core._local_image import (
    HANDLES_SIGTERM,
    IGNORES_SIGTERM,
    TEST_IMAGE,
    TEST_LABEL,
    unique_name,
)
from operator_core.docker import Request, record_requests
from operator_core.testing.hung_engine import HungEngine

__all__ = [
    "HANDLES_SIGTERM",
    "IGNORES_SIGTERM",
    "TEST_IMAGE",
    "TEST_LABEL",
    "HungEngine",
    "ProcessCount",
    "Request",
    "count_docker_processes",
    "inspect_result",
    "record_requests",
    "unique_name",
]


@dataclass
class ProcessCount:
    """The docker processes started inside ``count_docker_processes``."""

    commands: list[list[str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many docker processes were started."""
        return len(self.commands)

    def verbs(self) -> list[str]:
        """Return the docker sub-command of each process, e.g. ``container stop``."""
        return [_verb(command) for command in self.commands]


def _verb(command: list[str]) -> str:
    """Return the docker sub-command words of a command line (skipping wrappers and options)."""
    words = [w for w in command if not w.startswith("-")]
    start = next((i for i, w in enumerate(words) if os.path.basename(w) == "docker"), -1)
    rest = words[start + 1 :]
    return " ".join(rest[:2]) if rest[:1] in (["container"], ["network"]) else " ".join(rest[:1])


@contextmanager
def count_docker_processes() -> Iterator[ProcessCount]:
    """Count the docker CLI processes started (by any thread) while the block runs."""
    seen = ProcessCount()
    lock = threading.Lock()
    real_popen = subprocess.Popen.__init__

    def counting_popen(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        command = [str(a) for a in args] if isinstance(args, list | tuple) else [str(args)]
        if any(os.path.basename(w) == "docker" for w in command):
            with lock:
                seen.commands.append(command)
        real_popen(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = counting_popen  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        subprocess.Popen.__init__ = real_popen  # type: ignore[method-assign]


def inspect_result(
    *,
    id: str = "0123456789ab" * 5 + "cdef",
    name: str = "web",
    image: str = "operator-core/busybox:test",
    status: str = "running",
    exit_code: int = 0,
    oom_killed: bool = False,
    started_at: str = "2026-11-29T10:00:00.000000000Z",
    finished_at: str = "0001-01-01T00:00:00Z",
    health: str | None = None,
    networks: tuple[str, ...] = ("bridge",),
    labels: dict[str, str] | None = None,
    restart_count: int = 0,
) -> ContainerInspectResult:
    """Return what ``docker inspect`` would say of a container in this state."""
    state: dict[str, Any] = {
        "Status": status,
        "Running": status in ("running", "paused", "restarting"),
        "Paused": status == "paused",
        "Restarting": status == "restarting",
        "OOMKilled": oom_killed,
        "Dead": status == "dead",
        "Pid": 4242 if status == "running" else 0,
        "ExitCode": exit_code,
        "StartedAt": started_at,
        "FinishedAt": finished_at,
    }
    if health is not None:
        state["Health"] = {"Status": health, "FailingStreak": 0, "Log": []}
    return ContainerInspectResult.model_validate(
        {
            "Id": id,
            "Name": f"/{name}",
            "Image": "sha256:" + "f" * 64,
            "State": state,
            "RestartCount": restart_count,
            "Config": {"Image": image, "Labels": labels or {}},
            "NetworkSettings": {"Networks": {n: {} for n in networks}},
        }
    )
