"""The demo on an engine without its image: it builds it, or says exactly how."""

from __future__ import annotations

import asyncio
import io

import pytest
from python_on_whales import docker
from rich.console import Console

from operator_core.demo import image as demo_image
from operator_core.demo import scene
from operator_core.demo.story import run_demo_cli
from operator_core.testing import unique_name


@pytest.fixture
def missing_tag(engine):
    """An image tag nothing has; the image is removed (by this tag) if a test built it."""
    tag = f"opc-demo-test/busybox:{unique_name('b')}"
    yield tag
    if docker.image.exists(tag):
        docker.image.remove(tag, force=True)


def _run(monkeypatch, tag):
    """Run the demo with ``tag`` as its image; return (exit code, text printed)."""
    monkeypatch.setattr(scene, "TEST_IMAGE", tag)
    buffer = io.StringIO()
    code = run_demo_cli(Console(file=buffer, width=200, color_system=None))
    return code, " ".join(buffer.getvalue().split())


def test_the_demo_builds_its_missing_image_and_runs(monkeypatch, missing_tag):
    """No image: built from the static busybox with docker import, then the story runs."""
    if demo_image.static_busybox() is None:
        pytest.skip("no static busybox on this machine (setup-engine.sh installs one)")
    code, text = _run(monkeypatch, missing_tag)
    assert code == 0, text
    assert f"built {missing_tag} from this machine's static busybox" in text
    assert docker.image.exists(missing_tag)


def test_without_busybox_the_demo_says_how_and_blames_no_engine(monkeypatch, missing_tag):
    """No image and no static busybox: exit 1, how to get it, no 'Is the engine answering'."""
    monkeypatch.setattr(scene, "build_image", _no_busybox)
    code, text = _run(monkeypatch, missing_tag)
    assert code == 1
    assert f"demo failed: the demo needs the image {missing_tag}" in text
    assert "apt-get install busybox-static" in text
    assert "Is the Docker engine answering" not in text


async def _no_busybox(engine, **options):
    raise demo_image.ImageMissing(demo_image.build_instructions(scene.TEST_IMAGE))


def test_a_run_that_fails_for_another_reason_says_that_reason(containers):
    """A name already in use: the engine's own words, no engine hint."""
    name = containers.run("sleep", "60")
    with pytest.raises(scene.DemoFailed) as failed:
        asyncio.run(scene.start_service(docker, name))
    message = str(failed.value)
    assert f"docker run {name}" in message
    assert "already in use" in message
    assert "Is the Docker engine answering" not in message
