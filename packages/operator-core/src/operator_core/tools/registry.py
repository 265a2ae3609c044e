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
        "Find containers (compact: verbose or fields for more). Running ones unless "
        "all=true. Changes nothing.",
        inputs.ListInput,
        "list_containers",
        None,
    ),
    _read(
        "docker_inspect_container",
        "Inspect a container",
        "Read one container: state (status, health, exit_code, oom_killed, times), "
        "restarts, networks, labels. Check before acting; confirm after. Changes nothing.",
        inputs.ContainerInput,
        "inspect_container",
        "container_id",
    ),
    _read(
        "docker_inspect_containers",
        "Inspect several containers",
        "Inspect several containers in one call (as docker_inspect_container). Changes nothing.",
        inputs.InspectManyInput,
        "inspect_containers",
        None,
    ),
    _read(
        "docker_get_container_logs",
        "Read container logs",
        f"A container's last lines (default {DEFAULT_TAIL}, at most {MAX_TAIL}), optionally "
        "between since and until, stdout/stderr apart; truncated says if cut. Use it to learn "
        "why it fails. Changes nothing.",
        inputs.LogsInput,
        "get_container_logs",
        "container_id",
    ),
    _read(
        "docker_wait_for_container",
        "Wait for a container",
        "Wait until a container is running, healthy, exited or removed (up to timeout s); "
        "confirm a start or restart held. Returns met, the state, the time waited. Changes "
        "nothing.",
        inputs.WaitInput,
        "wait_for_container",
        "container_id",
    ),
    _act(
        "docker_start_container",
        "Start a container",
        "Start a stopped container (running: changed=false; paused: unpause instead). "
        "Returns the new state and changed.",
        inputs.ContainerInput,
        "start_container",
        Risk.MEDIUM,
        destructive=False,
        idempotent=True,
    ),
    _act(
        "docker_unpause_container",
        "Unpause a container",
        "Resume a paused container (not paused: changed=false). Returns the new state and changed.",
        inputs.ContainerInput,
        "unpause_container",
        Risk.MEDIUM,
        destructive=False,
        idempotent=True,
    ),
    _act(
        "docker_connect_container_to_network",
        "Connect to a network",
        "Connect a container to a network, optionally with a DNS alias (connected already: "
        "changed=false). Returns its networks after.",
        inputs.ConnectNetworkInput,
        "connect_container_to_network",
        Risk.MEDIUM,
        destructive=False,
        idempotent=True,
    ),
    _act(
        "docker_stop_container",
        "Stop a container",
        "Stop a container: stop signal, SIGKILL after timeout s; its service goes down "
        "(stopped already: changed=false). Returns exit_code and how it ended.",
        inputs.StopInput,
        "stop_container",
        Risk.HIGH,
        destructive=True,
        idempotent=True,
    ),
    _act(
        "docker_restart_container",
        "Restart a container",
        "Stop (signal, SIGKILL after timeout s) and start a container; briefly down. Then "
        "docker_wait_for_container. Returns started_at before and after, how it ended.",
        inputs.StopInput,
        "restart_container",
        Risk.HIGH,
        destructive=True,
        idempotent=False,
    ),
    _act(
        "docker_kill_container",
        "Send a signal to a container",
        "Signal a container's main process: SIGKILL (default) ends it at once, SIGHUP "
        "often reloads config. Returns the state after.",
        inputs.KillInput,
        "kill_container",
        Risk.HIGH,
        destructive=True,
        idempotent=False,
    ),
    _act(
        "docker_pause_container",
        "Pause a container",
        "Freeze a container's processes (memory kept, no CPU) until unpaused (paused "
        "already: changed=false).",
        inputs.ContainerInput,
        "pause_container",
        Risk.HIGH,
        destructive=True,
        idempotent=True,
    ),
    _act(
        "docker_disconnect_container_from_network",
        "Disconnect from a network",
        "Cut a container off a network, e.g. to isolate it (not connected: "
        "changed=false). Returns its networks after.",
        inputs.DisconnectNetworkInput,
        "disconnect_container_from_network",
        Risk.HIGH,
        destructive=True,
        idempotent=True,
    ),
    _act(
        "docker_execute_command",
        "Run a command in a container",
        "Run a command (a list, not a shell line) in a running container, up to timeout s; "
        "it can change anything. Returns exit_code, stdout, stderr (capped), timed_out.",
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
