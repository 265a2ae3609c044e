"""The demo's image: found on the engine, or built there from a static busybox.

An installed wheel has no ``scripts/setup-engine.sh``, so ``operator demo`` does what that
script does when ``operator-core/busybox:test`` is missing: it takes a statically linked
busybox from this machine (``/bin/busybox`` or ``/usr/bin/busybox``, as Debian's
``busybox-static`` installs it), lays out a root file system with its applets, and
imports it with ``docker import`` (no registry is needed). Without a static busybox it stops and
says exactly how to get one, or how to build the image by hand.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Literal

from python_on_whales import DockerClient

from operator_core._local_image import TEST_IMAGE
from operator_core.docker import run_on_client

__all__ = [
    "BUILD_DEADLINE_S",
    "BUSYBOX_CANDIDATES",
    "IMAGE_CHANGES",
    "ImageMissing",
    "build_image",
    "build_instructions",
    "root_filesystem",
    "static_busybox",
]

#: Where a static busybox is looked for, in this order.
BUSYBOX_CANDIDATES = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
#: The bound on importing the image.
BUILD_DEADLINE_S = 120.0
#: The Dockerfile instructions the import applies (as setup-engine.sh does).
IMAGE_CHANGES = (
    "ENV PATH=/bin",
    'CMD ["sh"]',
    "LABEL org.opencontainers.image.title=operator-core-test",
)
_ELF_INTERP = 3  # PT_INTERP: the program header of a dynamically linked executable


class ImageMissing(Exception):
    """The demo's image is not on the engine and cannot be built here (message: how)."""


def _is_static(path: Path) -> bool:
    """Whether ``path`` is an ELF executable without a dynamic loader (PT_INTERP)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit ELF only
        return False
    order: Literal["little", "big"] = "little" if data[5] == 1 else "big"
    start = int.from_bytes(data[32:40], order)
    size = int.from_bytes(data[54:56], order)
    count = int.from_bytes(data[56:58], order)
    for index in range(count):
        offset = start + index * size
        if int.from_bytes(data[offset : offset + 4], order) == _ELF_INTERP:
            return False
    return True


def static_busybox(candidates: tuple[Path, ...] = BUSYBOX_CANDIDATES) -> Path | None:
    """Return the first statically linked busybox among ``candidates``, or None."""
    return next((path for path in candidates if path.is_file() and _is_static(path)), None)


def _applets(busybox: Path) -> list[str]:
    """Return the applet names busybox provides (``busybox --list``)."""
    listed = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, timeout=30, check=True
    )
    return [name for name in listed.stdout.split() if name and name != "busybox"]


def root_filesystem(busybox: Path, applets: list[str]) -> bytes:
    """Return the image's root file system as a tar: busybox, its applets, passwd, /www."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add(name: str, *, mode: int = 0o755, data: bytes | None = None, link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = mode, int(time.time())
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

        for directory in ("bin", "etc", "www", "root"):
            add(directory)
        add("tmp", mode=0o1777)
        add("bin/busybox", data=busybox.read_bytes())
        for applet in applets:
            add(f"bin/{applet}", link="busybox")
        add(
            "etc/passwd",
            mode=0o644,
            data=b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        )
        add("etc/group", mode=0o644, data=b"root:x:0:\nnogroup:x:65534:\n")
        add("www/index.html", mode=0o644, data=b"<h1>operator-core test page</h1>\n")
    return buffer.getvalue()


def build_instructions(image: str = TEST_IMAGE) -> str:
    """Return how a person gets the image without this machine's busybox."""
    return (
        f"the demo needs the image {image}, and this machine has no statically linked "
        "busybox to build it from. Install one (Debian/Ubuntu: apt-get install "
        "busybox-static) and run operator demo again: it builds the image itself. Or build "
        "it by hand from any static busybox:\n"
        "  mkdir -p rootfs/bin && cp /path/to/static/busybox rootfs/bin/ && "
        "for a in $(rootfs/bin/busybox --list); do ln -sf busybox rootfs/bin/$a; done\n"
        f"  tar -C rootfs -c . | docker import -c 'ENV PATH=/bin' -c 'CMD [\"sh\"]' - {image}"
    )


async def build_image(
    engine: DockerClient, *, image: str = TEST_IMAGE, deadline: float = BUILD_DEADLINE_S
) -> Path:
    """Build ``image`` on the engine from this machine's static busybox; return its path.

    Raises ImageMissing (saying how to get one) when there is no static busybox, and
    OperatorError when the engine refuses the import or does not finish it in ``deadline``.
    """
    busybox = static_busybox()
    if busybox is None:
        raise ImageMissing(build_instructions(image))
    rootfs = root_filesystem(busybox, _applets(busybox))
    with tempfile.TemporaryDirectory(prefix="operator-demo-image-") as tmp:
        archive = Path(tmp) / "rootfs.tar"
        archive.write_bytes(rootfs)

        def build(client: DockerClient) -> None:
            client.image.import_(str(archive), tag=image, changes=list(IMAGE_CHANGES))

        await run_on_client(engine, build, deadline=deadline, what=f"docker import {image}")
    return busybox
