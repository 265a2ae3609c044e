"""The demo's story: the scene, the incident and the agent's tool calls, step by step.

Steps 3 to 8 are tool calls through ``ToolRunner.execute_tool``, exactly what an agent
sends; steps 1 and 2 (setting the scene, ``operator_core.demo.scene``) use the engine
directly, each call bounded in time. ``operator_core.demo.show`` prints it all.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from python_on_whales import DockerClient, docker
from rich.console import Console
from rich.markup import escape

from operator_core._local_image import TEST_IMAGE, unique_name
from operator_core.audit import SQLiteAuditSink
from operator_core.demo.image import ImageMissing
from operator_core.demo.scene import (
    DEMO_LABEL,
    HEALTH_CMD,
    DemoFailed,
    break_service,
    remove_service,
    start_service,
    until_unhealthy,
)
from operator_core.demo.show import Story, intro, show_audit, show_logs, show_ps
from operator_core.docker import DockerActionExecutor
from operator_core.errors import OperatorError
from operator_core.policy import ApprovalRequest, Policy, policy_from_dict
from operator_core.runner import ToolRunner
from operator_core.words import JSONObject, json_object, json_objects

__all__ = ["DEMO_POLICY", "run_demo", "run_demo_cli"]

#: The policy the agent acts under once a person has switched it to execute mode.
DEMO_POLICY: JSONObject = {
    "mode": "execute",
    "approval": {"risks": ["high"]},
    "rate_limits": [
        {"tools": ["docker_restart_container"], "per": "container", "max": 1, "window_s": 600}
    ],
}
ACTOR = "demo-agent"
STEPS = 9
HEALTHY_WITHIN_S = 30
RESTART = "docker_restart_container"


def _expect(envelope: JSONObject, what: str) -> JSONObject:
    """Return the result of a call that had to work, or stop the demo saying what failed."""
    if not envelope.get("ok"):
        error = json_object(envelope.get("error"))
        raise DemoFailed(f"{what}: {error.get('type')}: {error.get('message')}")
    return json_object(envelope.get("result"))


def _expect_healthy(envelope: JSONObject, name: str, when: str) -> None:
    """Stop the demo unless the wait found the container healthy."""
    result = _expect(envelope, f"waiting for {name} to be healthy {when}")
    if not result.get("met"):
        why = result.get("reason") or f"not within {HEALTHY_WITHIN_S}s"
        raise DemoFailed(
            f"{name} did not become healthy {when}: {why} (state {result.get('state')}, "
            f"health {result.get('health')})"
        )


def _expect_denied(envelope: JSONObject, rule_prefix: str, what: str) -> None:
    """Stop the demo unless the call was denied by a rule starting with ``rule_prefix``."""
    error = json_object(envelope.get("error"))
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
    story = Story(console, steps=STEPS, actor=ACTOR)
    name = unique_name("opc-demo-web")
    with tempfile.TemporaryDirectory(prefix="operator-demo-") as tmp:
        audit_path = (workdir or Path(tmp)) / "audit.sqlite3"
        audit = SQLiteAuditSink(audit_path)
        intro(console, name, TEST_IMAGE, audit_path)
        try:
            await _tell(story, engine, DockerActionExecutor(client), audit, name)
            story.step("The audit trail: every call, allowed or denied, with who and why")
            show_audit(story, audit)
        finally:
            await audit.close()
            await _clean_up(console, engine, name, keep=keep)
        console.print(
            f"[bold green]Done[/bold green] in {time.monotonic() - story.began:.1f}s: found, "
            "diagnosed, restarted under the policy, confirmed healthy, audited."
        )


async def _clean_up(console: Console, engine: DockerClient, name: str, *, keep: bool) -> None:
    """Remove the demo container (unless kept), saying so; a failure is reported, not raised."""
    if keep:
        console.print(f"\n[yellow]kept[/yellow] {name} (remove: docker rm -f {name})")
        return
    try:
        await remove_service(engine, name)
    except DemoFailed as exc:
        console.print(f"\n[bold red]not cleaned up[/bold red]: {escape(str(exc))}")
        console.print(f"remove it yourself: docker rm -f {name}")
        return
    console.print(f"\n[dim]cleaned up: removed {name} and the audit file[/dim]")


def _runners(
    story: Story, executor: DockerActionExecutor, audit: SQLiteAuditSink
) -> tuple[ToolRunner, ToolRunner]:
    """Return the agent's runners: under the default (observe) policy, and the demo's."""

    async def approve(request: ApprovalRequest) -> bool:
        target = request.summary["name"] if request.summary else None
        story.note(
            f"[magenta]approval[/magenta] asked for {request.tool} on {target} "
            f"({request.risk} risk, reason: {request.reason!r}) → approved by the on-call person"
        )
        return True

    observer = ToolRunner(executor, policy=Policy(), audit=audit)
    policy = policy_from_dict(DEMO_POLICY, "demo policy")
    operator = ToolRunner(executor, policy=policy, audit=audit, approver=approve)
    return observer, operator


async def _tell(
    story: Story,
    engine: DockerClient,
    executor: DockerActionExecutor,
    audit: SQLiteAuditSink,
    name: str,
) -> None:
    """Steps 1 to 8: the scene, the incident, and the agent's tool calls."""
    observer, operator = _runners(story, executor, audit)
    await _start(story, engine, observer, name)
    await _break(story, executor, name)
    await _find(story, observer, name)
    await _heal(story, observer, operator, name)


async def _start(story: Story, engine: DockerClient, observer: ToolRunner, name: str) -> None:
    """Step 1: start the service and see it healthy (it must be, to be broken)."""
    story.step("Start a web service with a health check")
    began = time.monotonic()
    built = await start_service(engine, name)
    if built is not None:
        story.note(f"built {built} from this machine's static busybox (docker import)")
    story.note(f"docker run {name}: busybox httpd on :8080, health check `{HEALTH_CMD}` every 1s")
    came_up = await story.call(
        observer,
        "docker_wait_for_container",
        {"container_id": name, "condition": "healthy", "timeout": HEALTHY_WITHIN_S},
        reason="confirm the service came up",
    )
    _expect_healthy(came_up, name, "after it started")
    story.note(f"[dim]step took {time.monotonic() - began:.2f}s (docker run included)[/dim]")


async def _break(story: Story, executor: DockerActionExecutor, name: str) -> None:
    """Step 2: the incident (not an agent action), until the engine sees it unhealthy."""
    story.step("Break it: the web server dies, the container keeps running")
    began = time.monotonic()
    await break_service(executor, name)
    story.note("docker exec killall httpd  (the incident; not an agent action)")
    waited = await until_unhealthy(executor, name)
    story.note(
        f"the engine marks it [bold red]unhealthy[/bold red] after {waited:.1f}s "
        "of failed checks, while `docker ps` still says Up"
    )
    story.took(began)


async def _find(story: Story, observer: ToolRunner, name: str) -> None:
    """Steps 3 and 4: find the unhealthy container and read why in its logs."""
    story.step("Find it: ps, filtered on health=unhealthy")
    found = await story.call(
        observer,
        "docker_list_containers",
        {"health": "unhealthy", "label": f"{DEMO_LABEL}={name}"},
        reason="look for unhealthy services",
        show=lambda result: show_ps(story.console, result),
    )
    if not any(c.get("name") == name for c in json_objects(_expect(found, "ps").get("containers"))):
        raise DemoFailed(f"ps did not find {name} among the unhealthy containers")

    story.step("Read its logs: they say why")
    logs = await story.call(
        observer,
        "docker_get_container_logs",
        {"container_id": name, "tail": 10, "timestamps": False},
        reason="find out why it is unhealthy",
        show=lambda result: show_logs(story.console, result),
    )
    if "exited unexpectedly" not in json.dumps(_expect(logs, "logs"), allow_nan=False):
        raise DemoFailed("the logs do not say that httpd died")


async def _heal(story: Story, observer: ToolRunner, operator: ToolRunner, name: str) -> None:
    """Steps 5 to 8: denied in observe mode, restarted under the policy, healthy, limited."""
    restart: JSONObject = {"container_id": name, "timeout": 5}
    why = "httpd died; a restart should bring it back"
    story.step("Restart it in observe mode: the policy says no")
    denied = await story.call(observer, RESTART, restart, reason=why)
    _expect_denied(denied, "mode", "a restart in observe mode")
    story.note("nothing was done: observe mode runs read-only tools only")

    story.step("Restart it under the execute policy (approval + rate limit 1 per 10 min)")
    _expect(await story.call(operator, RESTART, restart, reason=why), "restart")

    story.step("Wait until it is healthy again")
    healed = await story.call(
        operator,
        "docker_wait_for_container",
        {"container_id": name, "condition": "healthy", "timeout": HEALTHY_WITHIN_S},
        reason="confirm the fix held",
    )
    _expect_healthy(healed, name, "again after the restart")

    story.step("A looping agent restarts again: the rate limit says no")
    again = await story.call(operator, RESTART, restart, reason="restart once more, to be sure")
    _expect_denied(again, "rate_limits", "a second restart within the window")


def run_demo_cli(
    console: Console, *, client: DockerClient | None = None, keep: bool = False
) -> int:
    """Run the demo for the command line; return the exit code (0 when the story held)."""
    try:
        asyncio.run(run_demo(console, client=client, keep=keep))
    except (DemoFailed, ImageMissing, OperatorError) as exc:
        console.print(f"\n[bold red]demo failed[/bold red]: {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        console.print("\n[yellow]interrupted[/yellow] (the clean-up above says what was removed)")
        return 130
    return 0
