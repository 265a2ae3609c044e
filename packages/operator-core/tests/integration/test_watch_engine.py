"""The watch against a real engine: incidents printed as they happen."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from typing import Any

from cli_helpers import OPERATOR, clean_env

#: How long the watch may take to print an expected line; generous for a loaded machine.
LINE_WAIT_S = 60.0


class Lines:
    """The lines a process prints, read by a thread so a wait for one is bounded."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        for line in process.stdout or ():
            self.queue.put(line)

    def next_json(self, want: str, name: str | None = None) -> dict[str, Any]:
        """Return the next item of kind ``want`` (about ``name``), within LINE_WAIT_S."""
        ends = time.monotonic() + LINE_WAIT_S
        while (left := ends - time.monotonic()) > 0:
            try:
                item = json.loads(self.queue.get(timeout=left))
            except queue.Empty:
                break
            if item["kind"] == want and (name is None or item.get("name") == name):
                return dict(item)
        raise AssertionError(f"the watch printed no {want} for {name} within {LINE_WAIT_S}s")


def test_watch_prints_an_incident_for_a_killed_container(containers, tmp_path):
    """`operator watch --json` prints a died incident with exit code 137 for a SIGKILLed one."""
    name = containers.run("sleep", "300")
    process = subprocess.Popen(
        [*OPERATOR, "watch", "--json"],
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = Lines(process)
    try:
        lines.next_json("connected")
        subprocess.run(["docker", "kill", name], check=True, capture_output=True, timeout=60)
        incident = lines.next_json("died", name)
        assert incident["exit_code"] == 137
        assert incident["message"] == f"{name} died with exit code 137"
    finally:
        process.kill()
        process.wait(timeout=30)
