"""Every tool an agent gets: one ``ToolSpec`` per ``DockerActionExecutor`` method.

Risk follows what a wrong call costs: reads are low; start, network connect and unpause
(which only add) are medium; stop, restart, kill, pause, network disconnect and exec
(which interrupt a service or run arbitrary code) are high.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

from operator_core.limits import DEFAULT_TAIL, MAX_TAIL
from operator_core.tools import inputs
from operator_core.tools.diagnosis import DIAGNOSIS_TOOLS
from operator_core.tools.spec import Risk, ToolSpec
from operator_core.tools.spec import read_spec as _read
from operator_core.tools.swarm import SWARM_TOOLS

__all__ = ["REGISTRY", "TOOLS", "get_tool", "suggest_tools"]


def _act(
    name: str,
    title: str,
    description: str,
    model: type,
    method: str,
    risk: Risk,
    *,
    destructive: bool,
    idempotent: bool,
    requires_approval: bool = False,
    interruptible: bool = False,
) -> ToolSpec:
    """Return the spec of a tool that changes a container."""
    return ToolSpec(
        name=name,
        title=title,
        description=description,
        input_model=model,
        method=method,
        risk=risk,
        read_only=False,
        destructive=destructive,
        idempotent=idempotent,
        requires_approval=requires_approval,
        interruptible=interruptible,
    )


TOOLS: tuple[ToolSpec, ...] = (
    _read(
        "docker_list_containers",
        "List containers",
        "List containers with their id, name, image, status, health, labels, Docker Compose "
        "project and service, networks and start time. Use it first to find the container "
        "to look at (filter by name, label, status, health or compose project/service); "
        "running containers only unless all=true. Changes nothing.",
        inputs.ListInput,
        "list_containers",
        None,
    ),
    _read(
        "docker_inspect_container",
        "Inspect a container",
        "Read one container's identity, state (status, running, paused, restarting, "
        "oom_killed, exit_code, started_at, finished_at, health), restart count, networks "
        "and labels. Use it to check a container before acting on it and to confirm what "
        "an action did. Changes nothing.",
        inputs.ContainerInput,
        "inspect_container",
        "container_id",
    ),
    _read(
        "docker_inspect_containers",
        "Inspect several containers",
        "Read the same facts as docker_inspect_container for several containers in one "
        "call. Use it when you need the state of a handful of known containers at once. "
        "Changes nothing.",
        inputs.InspectManyInput,
        "inspect_containers",
        None,
    ),
    _read(
        "docker_get_container_logs",
        "Read container logs",
        f"Return the last lines a container wrote (default {DEFAULT_TAIL}, at most {MAX_TAIL}), "
        "optionally "
        "only between since and until, from stdout, stderr or both kept apart. Use it to "
        "learn why a container is failing. Returns the lines, line_count and truncated "
        "(true when anything was cut). Never follows; changes nothing.",
        inputs.LogsInput,
        "get_container_logs",
        "container_id",
    ),
    _read(
        "docker_wait_for_container",
        "Wait for a container",
        "Wait until a container is running, healthy, exited or removed, up to timeout "
        "seconds. Use it after a start or restart to confirm the fix held. Returns met "
        "(false when the timeout passed first), the final state and the time waited. "
        "Changes nothing.",
        inputs.WaitInput,
        "wait_for_container",
        "container_id",
    ),
    _act(
        "docker_start_container",
        "Start a container",
        "Start a stopped (exited or created) container. Use it when a container that "
        "should run is down. A running container is left alone (changed=false); a paused "
        "one must be unpaused instead. Returns the new state and whether anything changed.",
        inputs.ContainerInput,
        "start_container",
        Risk.MEDIUM,
        destructive=False,
        idempotent=True,
    ),
    _act(
        "docker_unpause_container",
        "Unpause a container",
        "Resume a paused container's processes. Use it when a container is paused and "
        "should serve again. An unpaused container is left alone (changed=false). "
        "Returns the new state and whether anything changed.",
        inputs.ContainerInput,
        "unpause_container",
        Risk.MEDIUM,
        destructive=False,
        idempotent=True,
    ),
    _act(
        "docker_connect_container_to_network",
        "Connect to a network",
        "Connect a container to a network, optionally with an extra DNS alias. Use it to "
        "restore connectivity a container lost. Already connected is success with "
        "changed=false. Returns the container's networks after the change.",
        inputs.ConnectNetworkInput,
        "connect_container_to_network",
        Risk.MEDIUM,
        destructive=False,
        idempotent=True,
    ),
    _act(
        "docker_stop_container",
        "Stop a container",
        "Stop a running container: the stop signal (usually SIGTERM), then SIGKILL after "
        "timeout seconds. The service it runs goes down. Use it only to take a broken or "
        "runaway container out of service. A stopped container is left alone "
        "(changed=false). Returns exit_code and whether it shut down gracefully, was "
        "killed or was OOM-killed.",
        inputs.StopInput,
        "stop_container",
        Risk.HIGH,
        destructive=True,
        idempotent=True,
    ),
    _act(
        "docker_restart_container",
        "Restart a container",
        "Stop a container (stop signal, then SIGKILL after timeout seconds) and start it "
        "again. The service is briefly down. Use it when a container is unhealthy or hung "
        "and its logs suggest a restart will help; check with docker_wait_for_container "
        "afterwards. Returns the new started_at, the previous one and how the old process "
        "ended.",
        inputs.StopInput,
        "restart_container",
        Risk.HIGH,
        destructive=True,
        idempotent=False,
    ),
    _act(
        "docker_kill_container",
        "Send a signal to a container",
        "Send a signal to a container's main process: SIGKILL (default) ends it at once "
        "with no clean shutdown; SIGHUP often reloads configuration. Use docker_stop_container "
        "for an ordinary stop. Returns the container's state after the signal.",
        inputs.KillInput,
        "kill_container",
        Risk.HIGH,
        destructive=True,
        idempotent=False,
    ),
    _act(
        "docker_pause_container",
        "Pause a container",
        "Freeze all processes of a container (they keep their memory but get no CPU), so "
        "it stops serving until unpaused. Use it to halt a runaway container while keeping "
        "its state for inspection. Already paused is success with changed=false.",
        inputs.ContainerInput,
        "pause_container",
        Risk.HIGH,
        destructive=True,
        idempotent=True,
    ),
    _act(
        "docker_disconnect_container_from_network",
        "Disconnect from a network",
        "Cut a container off a network, e.g. to isolate a misbehaving or compromised "
        "container. Other containers lose contact with it there. Already disconnected is "
        "success with changed=false. Returns the container's networks after the change.",
        inputs.DisconnectNetworkInput,
        "disconnect_container_from_network",
        Risk.HIGH,
        destructive=True,
        idempotent=True,
    ),
    _act(
        "docker_execute_command",
        "Run a command in a container",
        "Run a command (a list of strings, not a shell line) inside a running container, "
        "bounded by timeout seconds. Use it to look inside (ps, cat a config, query a "
        "health endpoint) when logs and inspect are not enough; it can change anything "
        "the command can. Returns exit_code, stdout, stderr (each capped, with truncated), "
        "success, duration_s and timed_out.",
        inputs.ExecInput,
        "execute_command",
        Risk.HIGH,
        destructive=True,
        idempotent=False,
        requires_approval=True,
        interruptible=True,
    ),
    *DIAGNOSIS_TOOLS,
    *SWARM_TOOLS,
)

#: Each tool by name.
REGISTRY: Mapping[str, ToolSpec] = MappingProxyType({spec.name: spec for spec in TOOLS})


def get_tool(name: str) -> ToolSpec | None:
    """Return the tool called ``name``, or None."""
    return REGISTRY.get(name)


def suggest_tools(name: str, limit: int = 3) -> list[str]:
    """Return the tool names closest to ``name`` (for an unknown-tool error)."""
    text = str(name).strip().lower()
    close = difflib.get_close_matches(text, list(REGISTRY), n=limit, cutoff=0.5)
    if close:
        return close
    words = [w for w in text.replace("-", "_").split("_") if w and w != "docker"]
    return [tool for tool in REGISTRY if any(w in tool for w in words)][:limit]
