"""Find the container the operator itself runs in, so the policy can protect it.

Evidence is read relative to ``root`` (tests pass a tree of captured files), from three
sources that a container's own settings can make disagree:

* its cgroup: ``/proc/self/cgroup`` paths such as ``/docker/<id>`` or ``docker-<id>.scope``,
  and the roots of the cgroup mounts in ``/proc/self/mountinfo`` (cgroup v1, or v2 with
  the host's cgroup namespace). Nothing but the container's own id ever appears there;
* the bind mounts of ``/etc/hostname``, ``/etc/hosts`` and ``/etc/resolv.conf`` in
  ``/proc/self/mountinfo``, from ``/var/lib/docker/containers/<id>/``. A container that
  shares another's network namespace (``--network container:X``, compose
  ``network_mode: service:X``) gets X's files, so this names X, not us. (Other
  containers' ``shm`` mounts, seen on a host, do not count.);
* ``/.dockerenv`` with a 12-hex-digit hostname, the short id Docker sets unless
  ``--hostname`` overrides it; under a shared network it is X's too.

``detect_own_container_ids`` returns every id the evidence names: one when it agrees, all
candidates when it does not (the operator cannot tell which is itself, so it protects
each). A short id that begins a full id found is the same container and is dropped.

On cgroup v2 with a private cgroup namespace (Docker's default there) neither
``/proc/self/cgroup`` (``0::/``) nor the cgroup mount roots name any id, so from files
alone a container that shares X's network namespace is seen only as X. One more piece
of evidence survives both: the container's root filesystem, the overlay mounted on
``/`` whose ``upperdir`` is the container's own writable layer
(``/var/lib/docker/overlay2/<layer>/diff``). ``rootfs_upper_dirs`` reads it here; the
engine maps it to a container (its ``GraphDriver.Data.UpperDir``): the runner asks it
once, before its first mutating call (``runner.own_layer``,
``DockerActionExecutor.containers_with_upper_dirs``), and adds that id to those
protected. A storage driver without an overlay upper layer (or an engine that reports
none) leaves that gap open.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "cgroup_ids",
    "detect_own_container_ids",
    "detect_own_upper_dirs",
    "network_file_ids",
    "own_container_ids",
    "rootfs_upper_dirs",
]

_FULL_ID = re.compile(r"(?:/containers/|/docker/|docker-)([0-9a-f]{64})")
_SHORT_ID = re.compile(r"[0-9a-f]{12}")
_NETWORK_FILES = frozenset({"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"})
_CGROUP_MOUNTS = "/sys/fs/cgroup"
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def _read(path: Path) -> str:
    """Return the text of ``path``, or "" when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _mounts(text: str) -> list[tuple[str, str]]:
    """Return (root within its filesystem, mount point) of each mountinfo line."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4:
            mounts.append((fields[3], fields[4]))
    return mounts


def cgroup_ids(cgroup: str, mountinfo: str) -> set[str]:
    """Return the ids in our cgroup paths and in the roots of our cgroup mounts."""
    found = set(_FULL_ID.findall(cgroup))
    for source, target in _mounts(mountinfo):
        if target == _CGROUP_MOUNTS or target.startswith(_CGROUP_MOUNTS + "/"):
            found.update(_FULL_ID.findall(source))
    return found


def network_file_ids(mountinfo: str) -> set[str]:
    """Return the ids of the containers whose hostname, hosts or resolv.conf we mount."""
    found: set[str] = set()
    for source, target in _mounts(mountinfo):
        if target in _NETWORK_FILES:
            found.update(_FULL_ID.findall(source))
    return found


def _unescape(text: str) -> str:
    r"""Undo the kernel's octal escapes in mountinfo (``\040`` for a space, ``\054`` ...)."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def rootfs_upper_dirs(mountinfo: str) -> frozenset[str]:
    """Return the ``upperdir`` of each overlay mounted on ``/``: our own writable layer.

    A mountinfo line reads ``id parent major:minor root mountpoint options [optional...]
    - fstype source superoptions``. The super options are comma-separated, with commas
    and spaces inside a path escaped in octal. Empty outside an overlay root (a host, a
    storage driver without one). Docker gives a path relative to its overlay2 directory
    (``<layer>/diff``) when the options would not fit a page; it is returned as it is.
    """
    found: set[str] = set()
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 7 or "-" not in fields[6:] or _unescape(fields[4]) != "/":
            continue
        tail = fields[fields.index("-", 6) + 1 :]
        if len(tail) < 3 or tail[0] != "overlay":
            continue
        for option in tail[2].split(","):
            key, _, value = option.partition("=")
            if key == "upperdir" and value:
                found.add(_unescape(value))
    return frozenset(found)


def own_container_ids(
    cgroup: str, mountinfo: str, dockerenv: bool, hostname: str
) -> frozenset[str]:
    """Return every id the evidence names as ours (see the module docstring); pure."""
    full = cgroup_ids(cgroup, mountinfo) | network_file_ids(mountinfo)
    short = hostname.strip().lower()
    if dockerenv and _SHORT_ID.fullmatch(short) and not any(i.startswith(short) for i in full):
        return frozenset({*full, short})
    return frozenset(full)


def detect_own_container_ids(
    root: Path = Path("/"), hostname: Callable[[], str] = socket.gethostname
) -> frozenset[str]:
    """Return the ids (full, or a 12-digit short id) the operator's container may have.

    Empty outside a container; one id when the evidence agrees; several when it does not.
    """
    dockerenv = (root / ".dockerenv").exists()
    return own_container_ids(
        _read(root / "proc/self/cgroup"),
        _read(root / "proc/self/mountinfo"),
        dockerenv,
        hostname() if dockerenv else "",
    )


def detect_own_upper_dirs(root: Path = Path("/")) -> frozenset[str]:
    """Return the writable layer(s) of our root filesystem (see ``rootfs_upper_dirs``)."""
    return rootfs_upper_dirs(_read(root / "proc/self/mountinfo"))
