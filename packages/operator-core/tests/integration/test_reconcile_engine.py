"""Pins issue 9 item 9 on a real engine: a process killed mid-stop, its record closed later."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

from operator_core.audit import AuditQuery, open_audit
from operator_core.docker import DockerActionExecutor
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.testing import IGNORES_SIGTERM

#: Run in a child process: stop a container that ignores SIGTERM, with a long grace.
_STOPPER = textwrap.dedent(
    """
    import asyncio, sys
    from operator_core.audit import open_audit
    from operator_core.docker import DockerActionExecutor
    from operator_core.policy import Policy
    from operator_core.runner import ToolRunner

    async def main():
        runner = ToolRunner(
            DockerActionExecutor(),
            policy=Policy(mode="execute", approval={"risks": []}),
            audit=open_audit(sys.argv[1]),
            own_container_id=None,
        )
        await runner.execute_tool(
            "docker_stop_container", {"container_id": sys.argv[2], "timeout": 20}
        )

    asyncio.run(main())
    """
)
#: A hang guard for waiting on the child (never a measured budget).
_GUARD_S = 60.0


def _wait_for_pending(path: str, child: subprocess.Popen[bytes]) -> None:
    """Return once the child's pending record is in the trail (it is then mid-stop)."""
    given_up = time.monotonic() + _GUARD_S
    while time.monotonic() < given_up:
        assert child.poll() is None, "the child ended before its action was under way"
        if os.path.exists(path):
            reader = open_audit(path)
            try:
                if reader.query(AuditQuery(outcome="pending")):
                    return
            finally:
                reader.close_now()  # type: ignore[union-attr]
        time.sleep(0.05)
    raise AssertionError("no pending record appeared")


def _kill_mid_stop(path: str, name: str) -> int:
    """Start the stopper on ``name``, SIGKILL it once its stop is under way; its exit code."""
    child = subprocess.Popen([sys.executable, "-c", _STOPPER, path, name])
    try:
        _wait_for_pending(path, child)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=_GUARD_S)
    return child.returncode


async def test_a_record_left_pending_by_a_killed_process_is_closed_by_the_next(
    containers, tmp_path
):
    """SIGKILL the operator process mid-stop; a runner started later marks it interrupted.

    Its ``after`` is the container's state read by the new runner (from the engine), and
    ``operator audit list --outcome interrupted`` would find it.
    """
    name = containers.run(*IGNORES_SIGTERM)
    path = str(tmp_path / "audit.sqlite3")
    assert await asyncio.to_thread(_kill_mid_stop, path, name) == -signal.SIGKILL
    trail = open_audit(path)
    (left,) = trail.query()
    assert left.outcome == "pending"
    # A new runner starts an hour later (by its wall clock): the stop's bound is long past.
    later = time.time() + 3600
    runner = ToolRunner(
        DockerActionExecutor(),
        policy=Policy(),
        audit=trail,
        own_container_id=None,
        wall_clock=lambda: later,
    )
    await runner.start()
    (closed,) = trail.query()
    await trail.close()
    assert closed.id == left.id
    assert closed.outcome == "interrupted"
    assert closed.after is not None
    assert "unavailable" not in closed.after
    assert closed.after["status"] in ("running", "exited")
    assert closed.before is not None
    assert closed.before["status"] == "running"
