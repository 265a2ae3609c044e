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
        "Return the engine's events in a window (never follows): time, type, action "
        "(die, oom, kill, health_status, restart, start, stop, ...), the actor's id and "
        "name, exit_code where the engine gives it, and attributes. Use it to learn when "
        "a container died, with which exit code, whether it was OOM-killed and how often "
        "it restarted. Filter by container, swarm service, types and actions. The engine "
        "keeps only its newest 256 events; where a watch records this engine, older ones "
        "come from its history. `sources` says which span each source covers, "
        "`may_be_missing` whether part of the window may lack events. Changes nothing.",
        EventsInput,
        "get_events",
        None,
    ),
    read_spec(
        "docker_container_stats",
        "Read resource use",
        "Return a one-shot snapshot of CPU %, memory (bytes, limit, %), network and block "
        "I/O bytes and pids for the given containers, or every running one. Use it to "
        "find what is eating memory or CPU. Sizes are as precise as docker's own rounding. "
        "Changes nothing.",
        StatsInput,
        "container_stats",
        None,
    ),
    read_spec(
        "docker_container_top",
        "List a container's processes",
        "Return the processes running in a container (pid, user, elapsed, command). Use "
        "it to see what a container is doing. Changes nothing.",
        ContainerInput,
        "container_top",
        "container_id",
    ),
    read_spec(
        "docker_search_logs",
        "Search many containers' logs",
        "Find the lines matching a pattern (a substring, or an RE2 regular expression with "
        "regex=true) in the logs of many containers at once: the named refs, or those with "
        "a label or of a Docker Compose project or service. Returns each match with its "
        "container, time, stream, line and optional context lines, up to max_matches. Use "
        "it to learn which containers logged an error. Changes nothing.",
        SearchLogsInput,
        "search_logs",
        None,
    ),
)
