"""Measure ``operator watch``'s alerts on a real engine: latency to a webhook, and an outage.

Runs ``operator watch --json`` (a subprocess, as a person would) on lab spare engine 95
(``scripts/lab.sh spare 95``) with a policy whose one sink is a generic webhook to a
receiver on 127.0.0.1 (``operator_core.watch.alerts.AlertReceiver``), then:

1. ``DEATHS`` containers exit non-zero one after another; for each, the time from its
   ``die`` event (the engine's own event time, same machine clock) to the receiver's
   arrival of its alert. Prints p50, p95 and the maximum.
2. The receiver goes down for ``OUTAGE_S`` seconds while ``OUTAGE_DEATHS`` containers die
   at even intervals; then it comes back. Prints how many alerts arrived during the
   outage (0 expected), how many arrived after it and how often each (once expected),
   and how long after the receiver came back the last one arrived.

Run: ``.venv/bin/python scripts/measure_alerts.py [DEATHS] [OUTAGE_S]`` (default 20, 30).
Takes about a minute and a half; touches only its own containers on eng95.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from python_on_whales import DockerClient

from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name
from operator_core.watch.alerts import AlertReceiver, Received

LAB = Path(__file__).resolve().parent / "lab.sh"
OUTAGE_DEATHS = 10
WAIT_S = 60.0


def _spare() -> DockerClient:
    """Return a client of spare engine 95, started if needed."""
    done = subprocess.run(
        ["bash", str(LAB), "spare", "95"], capture_output=True, text=True, timeout=300, check=True
    )
    return DockerClient(host=done.stdout.strip().splitlines()[-1])


def _watch(engine: DockerClient, policy: Path, state: Path) -> subprocess.Popen[str]:
    """Start ``operator watch --json`` on ``engine``; return once it says ``connected``."""
    env = {**os.environ, "OPERATOR_AUDIT_DB": str(state / "audit.sqlite3")}
    host = str(engine.client_config.host)
    command = ["--host", host, "--policy", str(policy), "watch", "--json"]
    process = subprocess.Popen(
        [sys.executable, "-m", "operator_core.cli", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(x) for x in process.stdout or ()], daemon=True
    ).start()
    while json.loads(lines.get(timeout=WAIT_S))["kind"] != "connected":
        pass
    return process


def _die(engine: DockerClient, made: list[str]) -> str:
    """Start a container that exits 3 at once; return its name."""
    name = unique_name()
    made.append(name)
    engine.run(TEST_IMAGE, ["sh", "-c", "exit 3"], name=name, detach=True, labels={TEST_LABEL: "1"})
    return name


def _about(name: str) -> Callable[[list[Received]], bool]:
    """Return a test of the received requests: one is an alert about ``name``."""
    return lambda got: any(r.body.get("name") == name for r in got)


def _unix(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


def _latencies(
    engine: DockerClient, receiver: AlertReceiver, deaths: int, made: list[str]
) -> list[float]:
    """Return seconds from each death's event to its alert's arrival."""
    found = []
    for _ in range(deaths):
        name = _die(engine, made)
        if not receiver.wait_for(_about(name), WAIT_S):
            raise SystemExit(f"no alert for {name} within {WAIT_S}s")
        alert = next(r for r in receiver.received if r.body.get("name") == name)
        found.append(alert.at - _unix(alert.body["item"]["time"]))
    return found


def _outage(
    engine: DockerClient, receiver: AlertReceiver, outage_s: float, made: list[str]
) -> dict[str, object]:
    """Stop the receiver for ``outage_s`` while containers die; say what arrived, and when."""
    before = len(receiver.received)
    receiver.stop()
    down_at = time.time()
    names = []
    for n in range(OUTAGE_DEATHS):
        names.append(_die(engine, made))
        time.sleep(max(0.0, down_at + (n + 1) * outage_s / OUTAGE_DEATHS - time.time()))
    receiver.start()
    up_at = time.time()
    wanted = set(names)
    receiver.wait_for(lambda got: wanted <= {r.body.get("name") for r in got}, WAIT_S)
    time.sleep(2)  # anything sent twice would have come by now
    after = receiver.received[before:]
    counts = Counter(r.body.get("name") for r in after if r.body.get("name") in wanted)
    return {
        "outage_s": round(up_at - down_at, 1),
        "deaths_during_outage": len(names),
        "arrived_during_outage": sum(1 for r in after if r.at < up_at),
        "arrived_after": sum(counts.values()),
        "each_exactly_once": sorted(counts.values()) == [1] * len(names),
        "in_order": [r.body.get("name") for r in after if r.body.get("name") in wanted] == names,
        "last_arrival_after_return_s": round(max(r.at for r in after) - up_at, 2),
    }


def main() -> None:
    """Run both measurements and print them as JSON."""
    deaths = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    outage_s = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    engine = _spare()
    made: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, AlertReceiver() as receiver:
        policy = Path(tmp) / "policy.toml"
        policy.write_text(f'[alerts.hook]\nkind = "webhook"\nurl = "{receiver.url}/hook"\n')
        process = _watch(engine, policy, Path(tmp))
        try:
            found = sorted(_latencies(engine, receiver, deaths, made))
            outage = _outage(engine, receiver, outage_s, made)
        finally:
            process.kill()
            process.wait(timeout=30)
            if made:
                engine.remove(made, force=True)
    p95 = found[min(len(found) - 1, round(0.95 * len(found)) - 1)]
    print(
        json.dumps(
            {
                "deaths": len(found),
                "latency_p50_s": round(statistics.median(found), 3),
                "latency_p95_s": round(p95, 3),
                "latency_max_s": round(found[-1], 3),
                "outage": outage,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
