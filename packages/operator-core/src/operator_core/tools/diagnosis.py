"""The diagnosis tools: read-only looks an agent takes before it acts.

Events (what died, with which code, when), a resource snapshot, a container's processes.
Each input model checks what the executor would refuse, so a bad call starts no docker
process.
"""

from __future__ import annotations

from operator_core.tools.inputs import ContainerInput, EventsInput, SearchLogsInput, StatsInput
from operator_core.tools.spec import ToolSpec, read_spec

__all__ = ["DIAGNOSIS_TOOLS"]

DIAGNOSIS_TOOLS: tuple[ToolSpec, ...] = (
    read_spec(
        "docker_get_events",
        "Read engine events",
        "The engine's events in a window (never follows): time, type, action (die, oom, "
        "kill, health_status, ...), actor, exit_code. Learn when and how a container died. "
        "`sources` and `may_be_missing` say what the window covers. Changes nothing.",
        EventsInput,
        "get_events",
        None,
    ),
    read_spec(
        "docker_container_stats",
        "Read resource use",
        "One-shot CPU %, memory (bytes, limit, %), network and block I/O, pids of the "
        "given containers or every running one. Changes nothing.",
        StatsInput,
        "container_stats",
        None,
    ),
    read_spec(
        "docker_container_top",
        "List a container's processes",
        "The processes in a container (pid, user, elapsed, command). Changes nothing.",
        ContainerInput,
        "container_top",
        "container_id",
    ),
    read_spec(
        "docker_search_logs",
        "Search many containers' logs",
        "Find lines matching a pattern in many containers' logs (refs, or by label or "
        "compose project/service): container, time, stream, line, context. Changes nothing.",
        SearchLogsInput,
        "search_logs",
        None,
    ),
)
