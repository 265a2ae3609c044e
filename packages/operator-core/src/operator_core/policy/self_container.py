"""Find the container the operator itself runs in, so the policy can protect it.

Three sources, tried in order, all read relative to ``root`` (tests pass a fake tree):

* ``/proc/self/mountinfo``: Docker bind-mounts ``/var/lib/docker/containers/<id>/hostname``
  (and ``resolv.conf``, ``hosts``) onto ``/etc/...`` in every container, cgroup v1 or v2.
  Only those mount points count: on a host, other containers' ``shm`` mounts also show
  ``/containers/<id>/`` paths and must not be mistaken for our own;
* ``/proc/self/cgroup``: cgroup v1 paths such as ``/docker/<id>`` or ``docker-<id>.scope``;
* ``/.dockerenv`` with a 12-hex-digit hostname, which Docker sets to the short id unless
  ``--hostname`` overrides it.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

__all__ = ["detect_own_container_id"]

_FULL_ID = re.compile(r"(?:/containers/|/docker/|docker-)([0-9a-f]{64})")
_SHORT_ID = re.compile(r"[0-9a-f]{12}")


_OWN_MOUNTS = frozenset({"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"})


def _read(path: Path) -> str:
    """Return the text of ``path``, or "" when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _from_mountinfo(text: str) -> str | None:
    """Return the id in the source of our /etc/hostname, hosts or resolv.conf bind mount."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] in _OWN_MOUNTS:
            match = _FULL_ID.search(fields[3])
            if match:
                return match.group(1)
    return None


def _from_cgroup(text: str) -> str | None:
    """Return the id in a cgroup v1 path of ours (``/docker/<id>``, ``docker-<id>.scope``)."""
    match = _FULL_ID.search(text)
    return match.group(1) if match else None


def detect_own_container_id(
    root: Path = Path("/"), hostname: Callable[[], str] = socket.gethostname
) -> str | None:
    """Return the id (full, or the 12-digit short id) of the container we run in, or None."""
    found = _from_mountinfo(_read(root / "proc/self/mountinfo")) or _from_cgroup(
        _read(root / "proc/self/cgroup")
    )
    if found:
        return found
    if (root / ".dockerenv").exists():
        name = hostname().strip().lower()
        if _SHORT_ID.fullmatch(name):
            return name
    return None
