"""Setting the demo's scene on the engine: the service, the incident, the clean-up.

These are not the agent's actions (those go through ``ToolRunner``) but every one is
bounded in time like them: ``docker run`` and ``docker rm`` through a bounded client
(``operator_core.docker.run_on_client``), the incident and the health checks through
``DockerActionExecutor``. A wedged engine makes the demo fail within seconds, saying
which call did not finish, instead of hanging the README's first command.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from python_on_whales import DockerClient

from operator_core._local_image import TEST_IMAGE, TEST_LABEL
from operator_core.demo.image import BUILD_DEADLINE_S, build_image
from operator_core.docker import DockerActionExecutor, run_on_client
from operator_core.errors import EngineError, EngineUnreachable, OperationTimeout, OperatorError

__all__ = [
    "DEMO_LABEL",
    "HEALTH_CMD",
    "SCENE_DEADLINE_S",
    "SERVICE_SCRIPT",
    "DemoFailed",
    "break_service",
    "remove_service",
    "start_service",
    "until_unhealthy",
]

T = TypeVar("T")

#: The label every demo container carries (value: the run's name), for cleanup checks.
DEMO_LABEL = "org.operator-core.demo"
#: The bound on each scene-setting call (docker run, exec, rm).
SCENE_DEADLINE_S = 30.0

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

_ENGINE_HINT = "Is the Docker engine answering? Try: docker info"


class DemoFailed(Exception):
    """A step of the demo did not go as the story needs (the message says which)."""


async def _on_engine(engine: DockerClient, what: str, work: Callable[[DockerClient], T]) -> T:
    """Run ``work(client)`` within ``SCENE_DEADLINE_S``; a failure is a DemoFailed saying so.

    Only a call that found no engine, or got no answer in time, suggests checking the
    engine; any other failure (a missing image, a name in use) is said as the engine said it.
    """
    try:
        return await run_on_client(engine, work, deadline=SCENE_DEADLINE_S, what=what)
    except OperationTimeout as exc:  # its message names the call
        raise DemoFailed(f"{exc}. {_ENGINE_HINT}") from exc
    except EngineUnreachable as exc:
        raise DemoFailed(f"{what} failed: {exc}. {_ENGINE_HINT}") from exc
    except OperatorError as exc:
        raise DemoFailed(f"{what} failed: {exc}") from exc


async def start_service(engine: DockerClient, name: str) -> str | None:
    """Start the demo web service with its health check (detached; the local image only).

    When ``docker run`` fails because the image is missing, the image is built from this
    machine's static busybox (``operator_core.demo.image``) and the run tried once more.
    Returns the image it had to build (None: it was there). ImageMissing says how to get
    it when it cannot be built here.
    """

    def run(client: DockerClient) -> None:
        client.run(
            TEST_IMAGE,
            ["sh", "-c", SERVICE_SCRIPT],
            name=name,
            detach=True,
            pull="never",
            labels={TEST_LABEL: "demo", DEMO_LABEL: name},
            health_cmd=HEALTH_CMD,
            health_interval=1,
            health_timeout=2,
            health_retries=2,
        )

    what = f"docker run {name} ({TEST_IMAGE})"
    try:
        await _on_engine(engine, what, run)
    except DemoFailed as failed:
        if not isinstance(failed.__cause__, EngineError) or isinstance(
            failed.__cause__, EngineUnreachable
        ):
            raise
        present = await _on_engine(
            engine, f"docker image inspect {TEST_IMAGE}", lambda c: c.image.exists(TEST_IMAGE)
        )
        if present:
            raise
        await _on_engine(engine, f"docker rm -f {name}", lambda c: c.remove([name], force=True))
        await build_image(
            engine, image=TEST_IMAGE, deadline=max(SCENE_DEADLINE_S, BUILD_DEADLINE_S)
        )
        await _on_engine(engine, what, run)
        return TEST_IMAGE
    return None


async def remove_service(engine: DockerClient, name: str) -> None:
    """Remove the demo container whatever its state (quietly if it is already gone)."""
    await _on_engine(
        engine,
        f"docker rm -f {name}",
        lambda client: client.remove([name], force=True, volumes=True),
    )


async def break_service(executor: DockerActionExecutor, name: str) -> None:
    """The incident: kill the service's web server; the container keeps running."""
    try:
        result = await executor.execute_command(name, ["killall", "httpd"], timeout=10)
    except OperatorError as exc:
        raise DemoFailed(f"docker exec {name} killall httpd failed: {exc}") from exc
    if result.get("exit_code") != 0:
        why = (result.get("stderr") or result.get("stdout") or "").strip() or "no output"
        raise DemoFailed(f"killall httpd exited {result.get('exit_code')} in {name}: {why}")


async def until_unhealthy(
    executor: DockerActionExecutor, name: str, limit: float = SCENE_DEADLINE_S
) -> float:
    """Wait until the engine says the container is unhealthy; return the seconds waited."""
    began = time.monotonic()

    async def poll() -> None:
        while True:
            result = await executor.inspect_container(name)
            if (result.get("state") or {}).get("health") == "unhealthy":
                return
            await asyncio.sleep(0.3)

    try:
        await asyncio.wait_for(poll(), limit)
    except TimeoutError:
        raise DemoFailed(f"{name} did not turn unhealthy within {limit:g}s") from None
    except OperatorError as exc:
        raise DemoFailed(f"inspecting {name} failed: {exc}. {_ENGINE_HINT}") from exc
    return time.monotonic() - began
