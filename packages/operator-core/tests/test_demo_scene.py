"""The demo's scene: bounded on a wedged engine, and set up without the test helpers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Runs the demo against the engine at argv[1], each scene call bounded by one second.
DEMO_WITH_SHORT_DEADLINE = """
import sys
from python_on_whales import DockerClient
from rich.console import Console
from operator_core import demo
from operator_core.demo import scene as _demo_scene
_demo_scene.SCENE_DEADLINE_S = 1.0
console = Console(width=200, color_system=None)
sys.exit(demo.run_demo_cli(console, client=DockerClient(host=sys.argv[1])))
"""


@pytest.fixture
def wedged_engine() -> Iterator[str]:
    """The host address of an 'engine' that accepts connections and never answers."""
    if shutil.which("docker") is None:
        pytest.skip("needs the docker CLI (not an engine)")
    folder = Path(tempfile.mkdtemp(prefix="opc-wedged-", dir="/tmp"))
    path = folder / "docker.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(16)
    held: list[socket.socket] = []

    def hold() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:  # the server was closed: the test is over
                return

    threading.Thread(target=hold, daemon=True).start()
    try:
        yield f"unix://{path}"
    finally:
        server.close()
        for connection in held:
            connection.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_wedged_engine_fails_the_demo_within_its_deadline(wedged_engine):
    """Docker run on an engine that never answers: exit 1 in seconds, naming the call.

    Before, the scene-setting calls ran without a bound and the demo hung for ever; the
    clean-up, bounded too, reports that it could not remove the container.
    """
    began = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-c", DEMO_WITH_SHORT_DEADLINE, wedged_engine],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the demo still ran after 60s on a wedged engine: {exc.stdout!r}")
    elapsed = time.monotonic() - began
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    # Each call's deadline is 1 s here; broken, the demo hangs until killed at 60 s. 30 s
    # is slack for a loaded machine (interpreter start-up, the bounded clean-up).
    assert elapsed < 30
    text = " ".join(output.split())
    assert "demo failed: docker run opc-demo-web-" in text
    assert "did not finish within its deadline of 1s" in text
    assert "Is the Docker engine answering?" in text
    assert "not cleaned up" in text
    assert "Step 2/9" not in output


def test_the_demo_does_not_load_the_test_helpers_which_still_export_the_same_names():
    """Production code (the demo, the CLI) imports no test helper; testing re-exports them."""
    probe = (
        "import sys, operator_core.demo, operator_core.cli; "
        "print('operator_core.testing' in sys.modules)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert loaded.stdout.strip() == "False"
    from operator_core import _local_image, testing

    for name in ("TEST_IMAGE", "TEST_LABEL", "unique_name", "HANDLES_SIGTERM", "IGNORES_SIGTERM"):
        assert getattr(testing, name) is getattr(_local_image, name)
        assert name in testing.__all__
