"""The main demonstration, for a person watching: a service breaks and an agent heals it.

Run with ``operator demo`` (or ``python -m operator_core.demo``; the README's
``./dev demo``). Against the local engine, with the local test image and no registry:

1. start a small web service (busybox httpd) with a health check, and wait until healthy;
2. break it: its web server dies, the container keeps running, the health check fails
   and the service writes why to its logs;
3. find it with ``ps`` filtered on ``health=unhealthy``;
4. read its logs, which say why;
5. try a restart in observe mode: the policy denies it (nothing happens);
6. restart it under an execute-mode policy with a rate limit and an approval gate;
7. wait until it is healthy again;
8. try a second restart, as a looping agent would: the rate limit denies it;
9. show the audit trail (a temporary SQLite file), then clean up, even on failure or
   Ctrl-C.

Steps 3 to 8 are tool calls through ``ToolRunner.execute_tool``, exactly what an agent
sends; steps 1 and 2 (setting the scene) use the engine directly.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient, docker
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table

from operator_core.audit import AuditQuery, SQLiteAuditSink
from operator_core.cli.audit_cmds import records_table
from operator_core.cli.render import HEALTH_STYLES, compact, log_lines
from operator_core.docker import DockerActionExecutor
from operator_core.errors import OperatorError
from operator_core.policy import ApprovalRequest, Policy, policy_from_dict
from operator_core.runner import ToolRunner
from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name

__all__ = ["DEMO_LABEL", "SERVICE_SCRIPT", "DemoFailed", "main", "run_demo", "run_demo_cli"]

#: The label every demo container carries (value: the run's name), for cleanup checks.
DEMO_LABEL = "org.operator-core.demo"

#: PID 1 of the demo service: serves /www with httpd, says in its logs when httpd dies.
SERVICE_SCRIPT = r"""
say() { echo "$(date -Iseconds) web: $*"; }
trap 'say "SIGTERM received, shutting down"; kill $pid 2>/dev/null; exit 0' TERM
mkdir -p /www && echo '<h1>hello from the demo service</h1>' > /www/index.html
httpd -f -p 8080 -h /www &
pid=$!
say "httpd started (pid $pid), serving /www on port 8080"
while kill -0 $pid 2>/dev/null; do sleep 1 & wait $!; done
say "ERROR httpd (pid $pid) exited unexpectedly; nothing serves port 8080" >&2
say "health checks will fail until the container is restarted" >&2
while true; do sleep 1 & wait $!; done
"""
HEALTH_CMD = "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"

#: The policy the agent acts under once a person has switched it to execute mode.
DEMO_POLICY: dict[str, Any] = {
    "mode": "execute",
    "approval": {"risks": ["high"]},
    "rate_limits": [
        {"tools": ["docker_restart_container"], "per": "container", "max": 1, "window_s": 600}
    ],
}
ACTOR = "demo-agent"
STEPS = 9


class DemoFailed(Exception):
    """A step of the demo did not go as the story needs (the message says which)."""


class _Story:
    """Prints numbered steps, what each call returned and how long it took."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.number = 0
        self.began = time.monotonic()

    def step(self, title: str) -> None:
        """Start the next numbered step."""
        self.number += 1
        self.console.print()
        self.console.rule(
            f"[bold]Step {self.number}/{STEPS}[/bold] · {escape(title)}", align="left"
        )

    def note(self, text: str) -> None:
        """Print a line of explanation."""
        self.console.print(f"  {text}")

    def took(self, began: float) -> None:
        """Print how long the step's action took."""
        self.console.print(f"  [dim]took {time.monotonic() - began:.2f}s[/dim]")

    async def call(
        self,
        runner: ToolRunner,
        tool: str,
        arguments: dict[str, Any],
        *,
        reason: str,
        show: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Make a tool call as the agent, print the call, a compact result and its time."""
        shown = escape(json.dumps(arguments))
        self.console.print(f"  [cyan]→ {tool}[/cyan] {shown}  [dim]({escape(reason)})[/dim]")
        began = time.monotonic()
        envelope = await runner.execute_tool(tool, arguments, actor=ACTOR, reason=reason)
        elapsed = time.monotonic() - began
        if show is not None and envelope.get("ok"):
            show(envelope["result"])
        elif envelope.get("ok"):
            self.console.print(f"  [green]← ok[/green] {escape(_compact_result(envelope))}")
        else:
            error = envelope.get("error") or {}
            self.console.print(
                f"  [yellow]← {escape(str(error.get('type')))}[/yellow] "
                f"rule [bold]{escape(str(error.get('rule')))}[/bold]: "
                f"{escape(str(error.get('message')))}"
            )
        self.console.print(f"  [dim]took {elapsed:.2f}s[/dim]")
        return envelope


_RESULT_KEYS = (
    "state",
    "running",
    "health",
    "previous_started_at",
    "started_at",
    "met",
    "waited_s",
    "changed",
)


def _compact_result(envelope: dict[str, Any]) -> str:
    """Return the few facts of a result a person wants to see, on one line."""
    result = envelope.get("result") or {}
    parts = [f"{key}={compact(result[key], 80)}" for key in _RESULT_KEYS if key in result]
    stop = result.get("stop")
    if isinstance(stop, dict):
        how = (
            "gracefully"
            if stop.get("graceful_shutdown")
            else "killed"
            if stop.get("killed")
            else "?"
        )
        parts.append(f"old process exited {stop.get('exit_code')} ({how})")
    return ", ".join(parts) or compact(result, 160)


def _start_service(client: DockerClient, name: str, run_id: str) -> None:
    """Start the demo web service with its health check (detached)."""
    client.run(
        TEST_IMAGE,
        ["sh", "-c", SERVICE_SCRIPT],
        name=name,
        detach=True,
        labels={TEST_LABEL: "demo", DEMO_LABEL: run_id},
        health_cmd=HEALTH_CMD,
        health_interval=1,
        health_timeout=2,
        health_retries=2,
    )


def _health(client: DockerClient, name: str) -> str | None:
    """Return the engine's health status of the container (None without one)."""
    state = client.container.inspect(name).state
    return state.health.status if state.health is not None else None


async def _until_unhealthy(client: DockerClient, name: str, limit: float = 30.0) -> float:
    """Wait until the engine says the container is unhealthy; return the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if await asyncio.to_thread(_health, client, name) == "unhealthy":
            return time.monotonic() - began
        await asyncio.sleep(0.3)
    raise DemoFailed(f"{name} did not turn unhealthy within {limit:g}s")


def _expect(envelope: dict[str, Any], what: str) -> dict[str, Any]:
    """Return the result of a call that had to work, or stop the demo saying what failed."""
    if not envelope.get("ok"):
        error = envelope.get("error") or {}
        raise DemoFailed(f"{what}: {error.get('type')}: {error.get('message')}")
    result: dict[str, Any] = envelope["result"]
    return result


def _expect_denied(envelope: dict[str, Any], rule_prefix: str, what: str) -> None:
    """Stop the demo unless the call was denied by a rule starting with ``rule_prefix``."""
    error = envelope.get("error") or {}
    if envelope.get("ok") or not str(error.get("rule", "")).startswith(rule_prefix):
        raise DemoFailed(f"{what} should have been denied by {rule_prefix}, got {envelope}")


async def run_demo(
    console: Console,
    *,
    client: DockerClient | None = None,
    keep: bool = False,
    workdir: Path | None = None,
) -> None:
    """Tell the whole story on the engine of ``client`` (default: the local one)."""
    engine = client if client is not None else docker
    story = _Story(console)
    name = unique_name("opc-demo-web")
    with tempfile.TemporaryDirectory(prefix="operator-demo-") as tmp:
        audit_path = (workdir or Path(tmp)) / "audit.sqlite3"
        audit = SQLiteAuditSink(audit_path)
        executor = DockerActionExecutor(client)
        console.print(
            Panel(
                f"A web service breaks and an agent heals it, through operator-core's tools.\n"
                f"Container [bold]{name}[/bold] · image {TEST_IMAGE} · audit trail "
                f"{audit_path}",
                title="operator-core demo",
                title_align="left",
                expand=False,
            )
        )
        try:
            await _tell(story, engine, executor, audit, name)
            _show_audit(story, audit)
        finally:
            await audit.close()
            if keep:
                console.print(f"\n[yellow]kept[/yellow] {name} (remove: docker rm -f {name})")
            else:
                await asyncio.to_thread(_remove, engine, name)
                console.print(f"\n[dim]cleaned up: removed {name} and the audit file[/dim]")
        console.print(
            f"[bold green]Done[/bold green] in {time.monotonic() - story.began:.1f}s: found, "
            "diagnosed, restarted under the policy, confirmed healthy, audited."
        )


def _remove(engine: DockerClient, name: str) -> None:
    """Remove the demo container whatever its state (quietly if it is already gone)."""
    engine.remove([name], force=True, volumes=True)


async def _tell(
    story: _Story,
    engine: DockerClient,
    executor: DockerActionExecutor,
    audit: SQLiteAuditSink,
    name: str,
) -> None:
    """Steps 1 to 8: the scene, the incident, and the agent's tool calls."""
    observer = ToolRunner(executor, policy=Policy(), audit=audit)

    async def approve(request: ApprovalRequest) -> bool:
        target = (request.container or {}).get("name")
        story.note(
            f"[magenta]approval[/magenta] asked for {request.tool} on {target} "
            f"({request.risk} risk, reason: {request.reason!r}) → approved by the on-call person"
        )
        return True

    operator = ToolRunner(
        executor, policy=policy_from_dict(DEMO_POLICY, "demo policy"), audit=audit, approver=approve
    )

    story.step("Start a web service with a health check")
    began = time.monotonic()
    await asyncio.to_thread(_start_service, engine, name, name)
    story.note(f"docker run {name}: busybox httpd on :8080, health check `{HEALTH_CMD}` every 1s")
    await story.call(
        observer,
        "docker_wait_for_container",
        {"container_id": name, "condition": "healthy", "timeout": 30},
        reason="confirm the service came up",
    )
    story.note(f"[dim]step took {time.monotonic() - began:.2f}s (docker run included)[/dim]")

    story.step("Break it: the web server dies, the container keeps running")
    began = time.monotonic()
    await asyncio.to_thread(engine.execute, name, ["killall", "httpd"])
    story.note("docker exec killall httpd  (the incident; not an agent action)")
    waited = await _until_unhealthy(engine, name)
    story.note(
        f"the engine marks it [bold red]unhealthy[/bold red] after {waited:.1f}s "
        "of failed checks, while `docker ps` still says Up"
    )
    story.took(began)

    story.step("Find it: ps, filtered on health=unhealthy")
    found = await story.call(
        observer,
        "docker_list_containers",
        {"health": "unhealthy", "label": f"{DEMO_LABEL}={name}"},
        reason="look for unhealthy services",
        show=lambda result: _show_ps(story.console, result),
    )
    if not any(c.get("name") == name for c in _expect(found, "ps").get("containers", [])):
        raise DemoFailed(f"ps did not find {name} among the unhealthy containers")

    story.step("Read its logs: they say why")
    logs = await story.call(
        observer,
        "docker_get_container_logs",
        {"container_id": name, "tail": 10, "timestamps": False},
        reason="find out why it is unhealthy",
        show=lambda result: _show_logs(story.console, result),
    )
    if "exited unexpectedly" not in json.dumps(_expect(logs, "logs")):
        raise DemoFailed("the logs do not say that httpd died")

    story.step("Restart it in observe mode: the policy says no")
    denied = await story.call(
        observer,
        "docker_restart_container",
        {"container_id": name, "timeout": 5},
        reason="httpd died; a restart should bring it back",
    )
    _expect_denied(denied, "mode", "a restart in observe mode")
    story.note("nothing was done: observe mode runs read-only tools only")

    story.step("Restart it under the execute policy (approval + rate limit 1 per 10 min)")
    restarted = await story.call(
        operator,
        "docker_restart_container",
        {"container_id": name, "timeout": 5},
        reason="httpd died; a restart should bring it back",
    )
    _expect(restarted, "restart")

    story.step("Wait until it is healthy again")
    healed = await story.call(
        operator,
        "docker_wait_for_container",
        {"container_id": name, "condition": "healthy", "timeout": 30},
        reason="confirm the fix held",
    )
    if not _expect(healed, "wait").get("met"):
        raise DemoFailed(f"{name} did not become healthy again: {healed}")

    story.step("A looping agent restarts again: the rate limit says no")
    again = await story.call(
        operator,
        "docker_restart_container",
        {"container_id": name, "timeout": 5},
        reason="restart once more, to be sure",
    )
    _expect_denied(again, "rate_limits", "a second restart within the window")


def _show_logs(console: Console, result: dict[str, Any]) -> None:
    """Print the log lines, indented, stderr lines marked."""
    console.print(f"  [green]← ok[/green] {result.get('line_count', '?')} line(s):")
    for line in log_lines(result):
        style = "red" if "[stderr]" in line or "ERROR" in line else "dim"
        console.print(f"    {escape(line)}", style=style, soft_wrap=True)


def _show_ps(console: Console, result: dict[str, Any]) -> None:
    """Print the containers ps found, compactly."""
    table = Table(box=None, pad_edge=False, padding=(0, 2))
    for column in ("NAME", "ID", "STATUS", "HEALTH"):
        table.add_column(column, style="bold" if column == "NAME" else "")
    for row in result.get("containers", []):
        health = row.get("health") or "-"
        table.add_row(
            row.get("name", ""),
            str(row.get("id", ""))[:12],
            row.get("status", ""),
            f"[{HEALTH_STYLES.get(health, '')}]{health}[/]",
        )
    console.print(f"  [green]← ok[/green] {result.get('count', 0)} unhealthy container(s):")
    console.print(Padding(table, (0, 0, 0, 4)))


def _show_audit(story: _Story, audit: SQLiteAuditSink) -> None:
    """Step 9: print the audit trail the calls left, oldest first."""
    story.step("The audit trail: every call, allowed or denied, with who and why")
    records = list(reversed(audit.query(AuditQuery(limit=None))))
    story.console.print(Padding(records_table(records, brief=True), (0, 0, 0, 2)))
    restart = next(
        (r for r in records if r.tool == "docker_restart_container" and r.outcome == "ok"), None
    )
    if restart is not None and restart.before and restart.after:
        before, after = restart.before, restart.after
        story.note(
            f"the restart's record ({restart.id}) keeps the state around it: before "
            f"{before.get('status')}/{before.get('health')} since {before.get('started_at')}; "
            f"after {after.get('status')}/{after.get('health')} since {after.get('started_at')}"
        )


def run_demo_cli(
    console: Console, *, client: DockerClient | None = None, keep: bool = False
) -> int:
    """Run the demo for the command line; return the exit code (0 when the story held)."""
    try:
        asyncio.run(run_demo(console, client=client, keep=keep))
    except (DemoFailed, OperatorError) as exc:
        console.print(f"\n[bold red]demo failed[/bold red]: {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        console.print("\n[yellow]interrupted[/yellow]; the demo container was removed")
        return 130
    return 0


def main() -> int:
    """Run the demo (``python -m operator_core.demo``); return a process exit code."""
    from operator_core.cli.app import OUT

    return run_demo_cli(OUT)


if __name__ == "__main__":
    sys.exit(main())
