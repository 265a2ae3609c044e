"""``operator watch`` sending alerts to a real local webhook receiver, on lab spare engine 95.

The spare engine is this file's own (scripts/lab.sh spare 95): no other test's containers
die there, so what the receiver gets is this test's alone.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_helpers import OPERATOR, clean_env
from python_on_whales import DockerClient

from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name
from operator_core.watch.alerts import AlertReceiver, Received

LAB = Path(__file__).resolve().parents[4] / "scripts" / "lab.sh"
SPARE = "95"
#: How long a line or an alert may take to come; generous for a loaded machine.
WAIT_S = 60.0


@pytest.fixture(scope="module")
def spare(request: pytest.FixtureRequest) -> DockerClient:
    """Lab spare engine 95 (started if needed), which only this file uses."""
    started = subprocess.run(
        ["bash", str(LAB), "spare", SPARE], capture_output=True, text=True, timeout=300, check=False
    )
    if started.returncode != 0:
        problem = f"lab.sh spare {SPARE} failed: {started.stderr.strip()[-500:]}"
        if request.config.getoption("--require-engine"):
            pytest.fail(problem)
        pytest.skip(problem)
    return DockerClient(host=started.stdout.strip().splitlines()[-1])


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    """A webhook receiver on 127.0.0.1."""
    with AlertReceiver() as started:
        yield started


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """Return a queue of the lines ``process`` prints, filled by a thread."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout or ():
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_connected(lines: queue.Queue[str]) -> None:
    """Return once the watch printed its ``connected`` notice."""
    ends = time.monotonic() + WAIT_S
    while (left := ends - time.monotonic()) > 0:
        if json.loads(lines.get(timeout=left))["kind"] == "connected":
            return
    raise AssertionError("the watch never connected")


def _about(name: str) -> Callable[[list[Received]], bool]:
    """Return a test of the received requests: one is an alert about ``name``."""
    return lambda got: any(r.body.get("name") == name for r in got)


def test_a_death_reaches_the_webhook_once(spare, receiver, tmp_path):
    """A container exits 3 under `operator watch`: the receiver gets one firing alert for it.

    A second death afterwards (the sentinel) is waited for, so a duplicate of the first
    would have arrived by then (one sink sends in order).
    """
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[alerts.hook]\nkind = "webhook"\nurl = "{receiver.url}/hook"\n')
    host = spare.client_config.host
    process = subprocess.Popen(
        [*OPERATOR, "--host", str(host), "--policy", str(policy), "watch", "--json"],
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    names = [unique_name(), unique_name()]
    try:
        _wait_connected(_lines(process))
        for name, code in zip(names, (3, 4), strict=True):
            spare.run(
                TEST_IMAGE,
                ["sh", "-c", f"exit {code}"],
                name=name,
                detach=True,
                labels={TEST_LABEL: "1"},
            )
            assert receiver.wait_for(_about(name), WAIT_S), f"no alert for {name}"
    finally:
        process.kill()
        process.wait(timeout=30)
        made = [name for name in names if spare.container.exists(name)]
        if made:
            spare.remove(made, force=True)
    first: list[Received] = [r for r in receiver.received if r.body.get("name") == names[0]]
    assert len(first) == 1
    body = first[0].body
    assert (body["kind"], body["status"], body["exit_code"]) == ("died", "firing", 3)
    assert first[0].path == "/hook"
    assert names[0] in body["summary"]
