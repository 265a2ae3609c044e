"""The operator's own container, found by its root filesystem layer through the engine.

Under a private cgroup namespace (cgroup v2's default) and ``--network container:X``,
every file the operator reads names X; only the overlay mounted on ``/`` is its own. Its
``upperdir`` is the container's writable layer, which the engine maps to a container.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from operator_core.docker import DockerActionExecutor
from operator_core.errors import EngineUnreachable, InvalidInput
from operator_core.policy import AutoDetect, Policy
from operator_core.policy.self_container import rootfs_upper_dirs
from operator_core.runner import ToolRunner
from operator_core.testing import count_docker_processes
from tool_fakes import FakeExecutor, container_id

LAYER = "/var/lib/docker/overlay2/1c31c21c6018550792f4a817782d61a2096b1254971c7c5f943bf8a5ae19043a"
ROOT_MOUNT = (
    "147 70 0:50 / / rw,relatime master:12 - overlay overlay rw,"
    "lowerdir=/var/lib/docker/overlay2/l/FKD3EGNY:/var/lib/docker/overlay2/l/2UKOEUP3,"
    f"upperdir={LAYER}/diff,workdir={LAYER}/work"
)
OTHER = container_id("other")
OPERATOR = container_id("operator")


def _network_files(owner: str) -> list[str]:
    """Return the mountinfo lines of /etc/hostname, hosts and resolv.conf from ``owner``."""
    return [
        f"16{i} 147 254:0 /var/lib/docker/containers/{owner}/{name} /etc/{name} "
        "rw - ext4 /dev/vda rw"
        for i, name in enumerate(("resolv.conf", "hostname", "hosts"))
    ]


def test_the_overlay_on_root_gives_its_upper_dir():
    """The line mounted on '/' with fstype overlay gives its upperdir; other lines nothing."""
    mountinfo = "\n".join([ROOT_MOUNT, *_network_files(OTHER)]) + "\n"
    assert rootfs_upper_dirs(mountinfo) == {f"{LAYER}/diff"}


def test_no_upper_dir_outside_a_container():
    """A host's ext4 root, and an overlay mounted elsewhere (an engine inside), give none."""
    host = (
        "25 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
        f"300 25 0:60 / {LAYER}/merged rw - overlay overlay rw,upperdir={LAYER}/diff\n"
        "26 25 0:5 / /dev rw - devtmpfs udev rw\n"
        "broken line\n"
    )
    assert rootfs_upper_dirs(host) == frozenset()
    assert rootfs_upper_dirs("") == frozenset()


def test_escaped_paths_are_read_as_the_kernel_meant_them():
    r"""\040 (space) and \054 (comma) in mountinfo are undone; optional fields are skipped."""
    line = (
        r"1 0 0:1 / / rw shared:1 master:2 - overlay overlay rw,"
        r"lowerdir=/data/my\040docker/l/A,upperdir=/data/my\040docker/x\054y/diff,"
        r"workdir=/data/my\040docker/x\054y/work"
    )
    assert rootfs_upper_dirs(line) == {"/data/my docker/x,y/diff"}


async def test_bad_upper_dirs_start_no_docker_process():
    """The executor refuses a string, too many paths or an empty one before any process."""
    executor = DockerActionExecutor()
    with count_docker_processes() as started:
        for bad in ("/x/diff", ["/x"] * 9, [""], [1]):
            with pytest.raises(InvalidInput):
                await executor.containers_with_upper_dirs(bad)  # type: ignore[arg-type]
        assert await executor.containers_with_upper_dirs([]) == []
    assert started.count == 0


class LayerExecutor(FakeExecutor):
    """A fake engine that knows which container's writable layer is ``LAYER``."""

    def __init__(self, *names: str, fail: bool = False) -> None:
        super().__init__(*names)
        self.fail = fail
        self.asked: list[list[str]] = []

    async def containers_with_upper_dirs(self, upper_dirs: list[str]) -> list[str]:
        self.asked.append(list(upper_dirs))
        if self.fail:
            raise EngineUnreachable("the engine did not answer")
        return [OPERATOR] if f"{LAYER}/diff" in upper_dirs else []


def _captured(root: Path) -> Path:
    """Write what a container with a private cgroupns behind X's network reads."""
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/self/mountinfo").write_text("\n".join([ROOT_MOUNT, *_network_files(OTHER)]))
    (root / "proc/self/cgroup").write_text("0::/\n")
    (root / ".dockerenv").touch()
    return root


def _runner(executor: FakeExecutor, root: Path, **policy: Any) -> ToolRunner:
    """Return a runner in dry-run execute mode, detecting its own container under ``root``."""
    return ToolRunner(
        executor,
        policy=Policy(mode="execute", dry_run=True, **policy),
        own_container_id=AutoDetect(root=root, hostname=lambda: OTHER[:12]),
    )


async def _stop(run: ToolRunner, name: str) -> dict[str, Any]:
    return await run.execute_tool("docker_stop_container", {"container_id": name})


async def test_the_first_action_protects_the_container_the_engine_names_for_our_layer(
    tmp_path,
):
    """The files name only X; the engine, asked once, names our layer's: both are refused.

    Start-up and read-only calls ask the engine nothing (no docker process for them).
    """
    fake = LayerExecutor("operator", "other", "web")
    run = _runner(fake, _captured(tmp_path))
    await run.start()
    await run.execute_tool("docker_inspect_container", {"container_id": "operator"})
    assert fake.asked == []
    assert run.guard.own_container_ids == {OTHER}
    for name in ("operator", "other"):
        assert (await _stop(run, name))["error"]["rule"] == "protected.self"
    assert (await _stop(run, "web"))["ok"] is True
    assert fake.asked == [[f"{LAYER}/diff"]]
    assert run.guard.own_container_ids == {OTHER, OPERATOR}


async def test_a_failed_lookup_keeps_the_other_candidates_and_is_asked_again(tmp_path, caplog):
    """Engine down: X stays protected, a warning is logged, the next call asks again."""
    fake = LayerExecutor("operator", "other", fail=True)
    run = _runner(fake, _captured(tmp_path))
    with caplog.at_level(logging.WARNING, logger="operator_core.runner"):
        assert (await _stop(run, "other"))["error"]["rule"] == "protected.self"
    assert run.guard.own_container_ids == {OTHER}
    assert any("root filesystem" in r.getMessage() for r in caplog.records)
    fake.fail = False
    assert (await _stop(run, "operator"))["error"]["rule"] == "protected.self"
    assert len(fake.asked) == 2


async def test_no_lookup_without_self_protection_or_with_a_given_id(tmp_path):
    """protect_self = false, or an own id given, asks the engine nothing."""
    root = _captured(tmp_path)
    off = LayerExecutor("operator")
    assert (await _stop(_runner(off, root, protect_self=False), "operator"))["ok"] is True
    given = LayerExecutor("operator")
    run = ToolRunner(given, policy=Policy(mode="execute", dry_run=True), own_container_id=OTHER)
    assert (await _stop(run, "operator"))["ok"] is True
    assert off.asked == given.asked == []
