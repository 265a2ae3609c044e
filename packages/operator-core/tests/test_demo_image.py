"""The demo's own image builder: a static busybox found, its root file system laid out."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from operator_core.demo.image import build_instructions, root_filesystem, static_busybox


def test_a_dynamically_linked_binary_is_not_taken_for_a_static_busybox(tmp_path):
    """/bin/ls (dynamic) and a text file are refused; nothing found means None."""
    text = tmp_path / "busybox"
    text.write_text("#!/bin/sh\n")
    assert static_busybox((Path("/bin/ls"), text)) is None


def test_a_static_busybox_is_found_where_debian_puts_it():
    """busybox-static's /bin/busybox is found (where this machine has it)."""
    found = static_busybox()
    if found is None:
        pytest.skip("no static busybox on this machine")
    assert found.name == "busybox"


def test_the_root_file_system_has_busybox_its_applets_and_users(tmp_path):
    """The tar holds bin/busybox, a link per applet, /tmp 1777, passwd and the test page."""
    fake = tmp_path / "busybox"
    fake.write_bytes(b"\x7fELF-not-really")
    rootfs = root_filesystem(fake, ["sh", "httpd", "wget"])
    with tarfile.open(fileobj=io.BytesIO(rootfs)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("bin/busybox").read() == b"\x7fELF-not-really"
        assert {members[f"bin/{a}"].linkname for a in ("sh", "httpd", "wget")} == {"busybox"}
        assert members["tmp"].mode == 0o1777
        assert b"root:x:0:0" in tar.extractfile("etc/passwd").read()
        assert "www/index.html" in members


def test_without_a_static_busybox_the_demo_says_exactly_how_to_get_the_image():
    """The message names the package to install and the docker import line."""
    text = build_instructions("operator-core/busybox:test")
    assert "apt-get install busybox-static" in text
    assert "docker import" in text
    assert "operator-core/busybox:test" in text
    assert shutil.which("sh") is not None
