"""Measure the operator's image: its size, and the time from ``docker run`` to the first MCP answer.

Prints:
* the image's size and the size of its layers above the base (scripts/build-image.sh's
  local base unless ``OPERATOR_BASE_IMAGE`` names another);
* for each of ``ROUNDS`` runs, the seconds from ``docker run`` of ``operator mcp
  --transport streamable-http`` (the socket mounted, the host's network) to the first
  answer to an MCP ``initialize`` (the check ``operator health --mcp`` makes), and the median.

Run: ``.venv/bin/python scripts/measure_image.py`` (after ``scripts/build-image.sh``).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import time

from operator_core.cli.commands.health import check_mcp
from operator_core.testing import TEST_LABEL, unique_name

__all__ = ["main"]

IMAGE = os.environ.get("OPERATOR_IMAGE") or "operator-core/operator:local"
BASE = os.environ.get("OPERATOR_BASE_IMAGE") or "operator-core/python-base:bookworm"
ROUNDS = 3
#: Seconds a run may take before it counts as failed.
BOUND_S = 120.0


def _size(image: str) -> int:
    """Return an image's size in bytes, as the engine reports it."""
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(done.stdout.strip())


def _free_port() -> int:
    """Return a loopback port nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_answer_s() -> float:
    """Return the seconds from ``docker run`` to the server's first MCP answer."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    name = unique_name("opc-measure")
    command = [
        "docker", "run", "-d", "--rm", "--name", name, "--label", f"{TEST_LABEL}=1",
        "--network", "host", "-v", "/var/run/docker.sock:/var/run/docker.sock",
        IMAGE, "mcp", "--transport", "streamable-http", "--port", str(port),
    ]  # fmt: skip
    started = time.monotonic()
    subprocess.run(command, capture_output=True, timeout=60, check=True)
    try:
        while check_mcp(url, None, timeout=5) is not None:
            if time.monotonic() - started > BOUND_S:
                raise SystemExit(f"no MCP answer within {BOUND_S:g}s")
            time.sleep(0.05)
        return time.monotonic() - started
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60, check=False)


def main() -> None:
    """Print the sizes, then each run's time to the first MCP answer and their median."""
    size, base = _size(IMAGE), _size(BASE)
    print(f"image {IMAGE}: {size / 1e6:.1f} MB; above {BASE}: {(size - base) / 1e6:.1f} MB")
    times = [first_answer_s() for _ in range(ROUNDS)]
    shown = ", ".join(f"{t:.2f}" for t in times)
    print(f"docker run -> first MCP answer: {shown} s (median {statistics.median(times):.2f} s)")


if __name__ == "__main__":
    main()
