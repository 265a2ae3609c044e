"""Protection and scope are judged again, on the same id, once approval and the lock are had.

A container renamed into a protected pattern, or labelled protected, while a call waits
for its approver or for the per-container lock must not be acted on: the call is denied
as ``changed.protection`` (or ``changed.identity`` for a plain rename) and nothing runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor, container_id

PROTECTED = {"patterns": ["prod-*"], "labels": ["keep"]}
MUTATIONS = {"stop_container", "restart_container", "kill_container"}


def _runner(fake: FakeExecutor, approver: Any = None, **policy: Any) -> ToolRunner:
    """Return a runner in execute mode, protecting prod-* and the label keep."""
    settings: dict[str, Any] = {"mode": "execute", "protected": PROTECTED, **policy}
    return ToolRunner(fake, policy=Policy(**settings), approver=approver, own_container_id=None)


def _ran(fake: FakeExecutor) -> list[str]:
    """Return the mutating executor calls made."""
    return [name for name, _ in fake.calls if name in MUTATIONS]


async def test_a_rename_into_a_protected_pattern_during_approval_is_denied():
    """The approver sees 'web'; meanwhile it becomes 'prod-web': changed.protection."""
    fake = FakeExecutor("web")

    async def rename_then_approve(request: Any) -> bool:
        fake.containers[container_id("web")]["name"] = "prod-web"
        return True

    run = _runner(fake, rename_then_approve)
    envelope = await run.execute_tool("docker_stop_container", {"container_id": "web"})
    assert envelope["ok"] is False
    error = envelope["error"]
    assert error["rule"] == "changed.protection"
    assert error["details"]["now_refused_by"] == "protected.patterns"
    assert error["details"]["target"]["name"] == "prod-web"
    assert error["details"]["judged"]["name"] == "web"
    assert _ran(fake) == []
    (record,) = run.audit.query()
    assert (record.decision, record.rule) == ("denied", "changed.protection")


async def test_a_label_added_during_approval_is_denied():
    """A protecting label that appears while approval is pending denies the call."""
    fake = FakeExecutor("web")

    async def label_then_approve(request: Any) -> bool:
        fake.containers[container_id("web")]["labels"]["keep"] = "1"
        return True

    run = _runner(fake, label_then_approve)
    envelope = await run.execute_tool("docker_kill_container", {"container_id": "web"})
    assert envelope["error"]["rule"] == "changed.protection"
    assert envelope["error"]["details"]["now_refused_by"] == "protected.labels"
    assert _ran(fake) == []


async def test_a_plain_rename_during_approval_is_denied_as_changed_identity():
    """Renamed to an unprotected name: still denied, the approver approved another name."""
    fake = FakeExecutor("web")

    async def rename_then_approve(request: Any) -> bool:
        fake.containers[container_id("web")]["name"] = "web-old"
        return True

    run = _runner(fake, rename_then_approve)
    envelope = await run.execute_tool("docker_restart_container", {"container_id": "web"})
    assert envelope["error"]["rule"] == "changed.identity"
    assert "web-old" in envelope["error"]["message"]
    assert _ran(fake) == []


async def test_a_rename_while_waiting_for_the_lock_is_denied():
    """A call queued behind another on the same container is judged again once it has the lock."""
    fake = FakeExecutor("web")
    fake.hold = asyncio.Event()
    run = _runner(fake, approval={"risks": []})
    first = asyncio.create_task(
        run.execute_tool("docker_restart_container", {"container_id": "web"})
    )
    await fake.entered.wait()
    second = asyncio.create_task(
        run.execute_tool("docker_stop_container", {"container_id": container_id("web")})
    )
    for _ in range(20):  # let the second call resolve, judge and queue on the lock
        await asyncio.sleep(0)
    fake.containers[container_id("web")]["name"] = "prod-web"
    fake.hold.set()
    assert (await first)["ok"] is True
    denied = await second
    assert denied["error"]["rule"] == "changed.protection"
    assert _ran(fake) == ["restart_container"]


async def test_an_unchanged_container_is_acted_on_after_approval():
    """Nothing changed: the second judgement lets the approved action run."""
    fake = FakeExecutor("web")

    async def approve(request: Any) -> bool:
        return True

    run = _runner(fake, approve)
    assert (await run.execute_tool("docker_stop_container", {"container_id": "web"}))["ok"]
    assert _ran(fake) == ["stop_container"]
