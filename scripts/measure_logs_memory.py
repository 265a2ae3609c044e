#!/usr/bin/env python3
"""Measure the peak memory of reading a container's log tail: operator-core vs python-on-whales.

Makes two containers from the local test image and waits for them to exit:

* ``big``: 1,100,000 lines of 100 bytes (110 MB of logs), then one line on each stream;
* ``one-line``: a single line of 50 MiB, then a short one.

Each reading runs in a fresh Python process, so one reading's memory cannot hide another's.
That process reports its peak resident set (``ru_maxrss``) after the imports and after the
read, the traced Python peak (``tracemalloc``) of the read alone, and the peak resident set
of the docker CLI it started. Both containers are removed at the end, even on failure.

Run from the repository root with the project's virtualenv::

    .venv/bin/python scripts/measure_logs_memory.py
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from python_on_whales import docker

from operator_core.docker import DockerActionExecutor
from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name

__all__ = ["main"]

LINE = "0123456789 the quick brown fox jumps over the lazy dog " + "x" * 44
SCRIPTS = {
    "big (110 MB)": f'yes "{LINE}" | head -n 1100000; echo LAST-OUT; echo LAST-ERR >&2',
    "one 50 MiB line": "head -c 52428800 /dev/zero | tr '\\0' x; echo; echo after-line",
}
READERS = [
    ("operator-core", 100),
    ("operator-core", 10_000),
    ("python-on-whales", 100),
    ("python-on-whales", 10_000),
    ("python-on-whales", None),
]
MIB = 1024 * 1024


def read_once(reader: str, name: str, tail: int | None) -> dict[str, Any]:
    """Read the logs of ``name`` one way; return what it cost (runs in the child process)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    began = time.monotonic()
    if reader == "operator-core":
        result = asyncio.run(DockerActionExecutor().get_container_logs(name, tail=tail or 100))
        lines, held = result["line_count"], result["bytes"]
        note = ",".join(result["truncation"]) or "-"
    else:
        text = str(docker.container.logs(name, tail=tail, timestamps=True))
        lines, held, note = len(text.splitlines()), len(text), "-"
    seconds = time.monotonic() - began
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    docker_cli = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "rss_before_kib": before,
        "rss_peak_kib": after,
        "traced_peak_bytes": traced,
        "docker_cli_rss_kib": docker_cli,
        "seconds": seconds,
        "lines": lines,
        "bytes_held": held,
        "truncation": note,
    }


def measure(reader: str, name: str, tail: int | None) -> dict[str, Any]:
    """Run one reading in a fresh Python process and return its report."""
    command = [sys.executable, __file__, "--child", reader, name, str(tail)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def make_container(script: str) -> str:
    """Run ``script`` in a new container of the test image, wait for it to exit, return it."""
    name = unique_name("opc-measure")
    run = ["docker", "run", "--name", name, "--label", f"{TEST_LABEL}=1", "--detach"]
    subprocess.run(
        [*run, TEST_IMAGE, "sh", "-c", script],
        capture_output=True,
        timeout=120,
        check=True,
    )
    subprocess.run(["docker", "wait", name], capture_output=True, timeout=600, check=True)
    return name


def log_size(name: str) -> str:
    """Return the size of a container's log file in MB, or '?' where it cannot be read."""
    path = subprocess.run(
        ["docker", "inspect", "--format", "{{.LogPath}}", name],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    try:
        with open(path, "rb") as log:
            return f"{log.seek(0, 2) / 1e6:.0f} MB on disk (json-file)"
    except OSError:
        return "size on disk unreadable"


def main() -> None:
    """Make the containers, measure every reader on each, print a table, clean up."""
    names: list[str] = []
    try:
        header = (
            f"{'container':<16} {'reader':<17} {'tail':>6} {'lines':>7} {'held MB':>8} "
            f"{'RSS +MiB':>8} {'traced MiB':>10} {'docker MiB':>10} {'seconds':>7}  cut"
        )
        print(
            "RSS +MiB: growth of the reading process's peak RSS; traced: tracemalloc peak of "
            "the read; docker: peak RSS of the docker CLI; held: bytes of log text returned"
        )
        print(header)
        print("-" * len(header))
        for label, script in SCRIPTS.items():
            name = make_container(script)
            names.append(name)
            print(f"# {label}: {log_size(name)}")
            for reader, tail in READERS:
                r = measure(reader, name, tail)
                grown = (r["rss_peak_kib"] - r["rss_before_kib"]) / 1024
                cli = r["docker_cli_rss_kib"] / 1024
                print(
                    f"{label[:16]:<16} {reader:<17} {tail or 'all'!s:>6} {r['lines']:>7} "
                    f"{r['bytes_held'] / 1e6:>8.2f} {grown:>8.1f} "
                    f"{r['traced_peak_bytes'] / MIB:>10.1f} {cli:>10.1f} "
                    f"{r['seconds']:>7.2f}  {r['truncation']}"
                )
    finally:
        if names:
            subprocess.run(["docker", "rm", "-f", "-v", *names], capture_output=True, timeout=120)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _, _, who, container, tail_arg = sys.argv
        print(json.dumps(read_once(who, container, None if tail_arg == "None" else int(tail_arg))))
    else:
        main()
