"""The fleet's inventory: which Docker hosts there are and how Docker itself reaches each.

A TOML file (or a dict built in code)::

    default = "local"                      # the host a call naming none goes to
    [hosts.local]
    url = "unix:///var/run/docker.sock"
    [hosts.edge-1]
    url = "ssh://ops@edge-1.example"       # the docker CLI runs the system ssh
    labels = { env = "prod", region = "eu" }
    deadline_s = 10                        # bound on each call to this host (default 30)
    [hosts.staging]
    context = "staging"                    # a docker context
    [hosts.build]
    url = "tcp://build.example:2376"
    tls = { ca = "ca.pem", cert = "cert.pem", key = "key.pem" }   # relative to the file

Every host has exactly one of ``url`` (``unix://``, ``tcp://``, ``ssh://``, ``npipe://``)
and ``context``; ``tls`` goes with ``tcp://`` only, and its files must exist. A URL docker
could not use is refused here, not at call time (``url_problem``: a port out of range,
options or a query after it, a host starting with ``-``...). Host names
use the container-name alphabet (letters, digits, ``_ . -``, not starting with a
punctuation mark). ``default`` may be left out when there is one host. Anything else is an
``InventoryError`` naming each fault and how to fix it; nothing is guessed.

Where the inventory comes from (``resolve_inventory_path``): ``--inventory FILE``, else
``$OPERATOR_INVENTORY``, else ``$XDG_CONFIG_HOME/operator-core/inventory.toml`` when that
file exists; with none, there is no fleet and every command talks to one engine as before.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from python_on_whales import DockerClient

from operator_core.docker import Endpoint, TLSFiles, cli_client, resolve_endpoint, url_problem
from operator_core.errors import InvalidInput, InventoryError

__all__ = [
    "DEFAULT_HOST_DEADLINE_S",
    "HOST_NAME_PATTERN",
    "HostEntry",
    "Inventory",
    "TLSFiles",
    "inventory_from_dict",
    "load_inventory",
    "resolve_inventory_path",
    "url_problem",
]

#: The bound on each call to a host whose entry sets no ``deadline_s``.
DEFAULT_HOST_DEADLINE_S = 30.0
#: Host names: the alphabet docker allows in container names.
HOST_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_HOST_NAME = re.compile(HOST_NAME_PATTERN, re.ASCII)
_SCHEMES = ("unix://", "tcp://", "ssh://", "npipe://")
_TOP_KEYS = frozenset({"default", "hosts"})
_HOST_KEYS = frozenset({"url", "context", "tls", "labels", "deadline_s"})
_TLS_KEYS = frozenset({"ca", "cert", "key", "verify"})
_EXAMPLE = '[hosts.local]\nurl = "unix:///var/run/docker.sock"'


@dataclass(frozen=True)
class HostEntry:
    """One host of the inventory: its name, how to reach it, its labels and its deadline."""

    name: str
    url: str | None = None
    context: str | None = None
    tls: TLSFiles | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    deadline_s: float = DEFAULT_HOST_DEADLINE_S

    @property
    def address(self) -> str:
        """How the host is reached, for people: its URL or ``context NAME``."""
        return self.url if self.url is not None else f"context {self.context}"

    def endpoint(self) -> Endpoint:
        """Return how the Engine API client reaches this host (InventoryError: a bad context).

        Its label is the host's name, so that errors name the host as the inventory does.
        """
        try:
            found = resolve_endpoint(self.url, self.context, self.tls)
        except InvalidInput as exc:
            raise InventoryError(f"hosts.{self.name}: {exc}") from None
        return replace(found, label=f"{self.name} ({found.label})")

    def client(self) -> DockerClient:
        """Return a python-on-whales client that reaches this host as the docker CLI would."""
        if self.context is not None:
            return DockerClient(context=self.context)
        return cli_client(resolve_endpoint(self.url, tls=self.tls))


@dataclass(frozen=True)
class Inventory:
    """The hosts of a fleet, in the order the file gives them, and the default one."""

    hosts: Mapping[str, HostEntry]
    default: str
    source: str = "<inventory>"

    @property
    def names(self) -> tuple[str, ...]:
        """The host names, in order."""
        return tuple(self.hosts)

    def host(self, name: str) -> HostEntry:
        """Return the host called ``name``; KeyError if there is none."""
        return self.hosts[name]


def resolve_inventory_path(option: str | Path | None = None) -> Path | None:
    """Return the inventory file in force: ``option``, else $OPERATOR_INVENTORY, else the user's.

    The user's file (``$XDG_CONFIG_HOME/operator-core/inventory.toml``) counts only when it
    exists; the other two are returned as given, so a missing file is reported at load.
    """
    if option is not None and str(option) != "":
        return Path(option).expanduser()
    named = os.environ.get("OPERATOR_INVENTORY")
    if named:
        return Path(named).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    candidate = Path(config) / "operator-core" / "inventory.toml"
    return candidate if candidate.is_file() else None


def load_inventory(path: str | Path) -> Inventory:
    """Return the inventory in the TOML file at ``path``, or raise InventoryError."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise InventoryError(
            f"{file}: cannot read the inventory: {reason}. Give an existing file with "
            "--inventory or OPERATOR_INVENTORY."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{file}: not valid TOML: {exc}") from None
    return inventory_from_dict(data, source=str(file), base=file.parent)


def inventory_from_dict(
    data: object, *, source: str = "<inventory>", base: Path | None = None
) -> Inventory:
    """Return the inventory ``data`` describes, or raise InventoryError naming every fault.

    ``base`` is where relative TLS file paths start (the inventory file's folder).
    """
    faults: list[str] = []
    if not isinstance(data, dict):
        raise InventoryError(f"{source}: an inventory is a table, got {type(data).__name__}")
    for key in sorted(set(data) - _TOP_KEYS):
        faults.append(f"{key}: unknown key; the top level has only 'default' and [hosts.NAME]")
    raw_hosts = data.get("hosts")
    hosts = _hosts(raw_hosts, base or Path.cwd(), faults)
    declared = list(raw_hosts) if isinstance(raw_hosts, dict) else []
    default = _default(data.get("default"), declared, faults)
    if faults or default is None:
        lines = "\n".join(f"  - {fault}" for fault in faults)
        raise InventoryError(f"{source}: invalid inventory ({len(faults)} problem(s)):\n{lines}")
    return Inventory(hosts=MappingProxyType(hosts), default=default, source=source)


def _hosts(raw: object, base: Path, faults: list[str]) -> dict[str, HostEntry]:
    """Return the valid hosts of the ``hosts`` table; note a fault for each bad one."""
    if raw is None or raw == {}:
        faults.append(f"hosts: no host is defined; add one, e.g.\n{_EXAMPLE}")
        return {}
    if not isinstance(raw, dict):
        faults.append("hosts: must be a table of [hosts.NAME] sections")
        return {}
    hosts: dict[str, HostEntry] = {}
    for name, entry in raw.items():
        named = _HOST_NAME.fullmatch(name) is not None
        if not named:
            faults.append(
                f"hosts.{name}: a host name is 1 to 63 letters, digits, '_', '.' or '-', "
                "starting with a letter or digit (as a container name); rename it"
            )
        # A badly named host's entry is still read, so that its other faults are named too.
        host = _host(name, entry, base, faults)
        if host is not None and named:
            hosts[name] = host
    return hosts


def _host(name: str, raw: object, base: Path, faults: list[str]) -> HostEntry | None:
    """Return one host entry, or None after noting its faults."""
    where = f"hosts.{name}"
    if not isinstance(raw, dict):
        faults.append(f"{where}: must be a table with url = ... or context = ...")
        return None
    before = len(faults)
    for key in sorted(set(raw) - _HOST_KEYS):
        faults.append(f"{where}.{key}: unknown key; a host takes {', '.join(sorted(_HOST_KEYS))}")
    url, context = raw.get("url"), raw.get("context")
    if (url is None) == (context is None):
        faults.append(
            f'{where}: give exactly one of url = "unix:///var/run/docker.sock" (or tcp://, '
            'ssh://) and context = "NAME"'
        )
    if url is not None and (not isinstance(url, str) or not url.startswith(_SCHEMES)):
        faults.append(f"{where}.url: must start with {', '.join(_SCHEMES)}; got {url!r}")
    elif isinstance(url, str) and (problem := url_problem(url)) is not None:
        faults.append(f"{where}.url: {problem}; got {url!r}")
    if context is not None and (not isinstance(context, str) or not context.strip()):
        faults.append(f"{where}.context: must be the name of a docker context")
    tls = _tls(where, raw.get("tls"), url, base, faults)
    labels = _labels(where, raw.get("labels", {}), faults)
    deadline = _deadline(where, raw.get("deadline_s", DEFAULT_HOST_DEADLINE_S), faults)
    if len(faults) > before:
        return None
    return HostEntry(name, url, context, tls, MappingProxyType(labels), deadline)


def _tls(where: str, raw: object, url: object, base: Path, faults: list[str]) -> TLSFiles | None:
    """Return the TLS files of a host, resolved against ``base`` and checked to exist."""
    if raw is None:
        return None
    # A tls beside a url that is not tcp:// is a fault, and its table is still read, so
    # that its own faults (cert without key, a missing file) are named at once too.
    if not isinstance(url, str) or not url.startswith("tcp://"):
        faults.append(f"{where}.tls: TLS goes with a tcp:// url only; remove it or use tcp://")
    if not isinstance(raw, dict):
        faults.append(f'{where}.tls: must be a table: {{ ca = "ca.pem", cert = ..., key = ... }}')
        return None
    for key in sorted(set(raw) - _TLS_KEYS):
        faults.append(f"{where}.tls.{key}: unknown key; tls takes ca, cert, key, verify")
    paths: dict[str, Path | None] = {}
    for key in ("ca", "cert", "key"):
        value = raw.get(key)
        if value is None:
            paths[key] = None
        elif not isinstance(value, str) or not (base / value).expanduser().is_file():
            faults.append(f"{where}.tls.{key}: no such file: {value!r} (relative to {base})")
            paths[key] = None
        else:
            paths[key] = (base / value).expanduser().resolve()
    verify = raw.get("verify", True)
    if not isinstance(verify, bool):
        faults.append(f"{where}.tls.verify: must be true or false")
        verify = True
    # Judged on what the entry says, not on the files found: a missing file is its own
    # fault, and a fault of another host must not hide this one.
    if (raw.get("cert") is None) != (raw.get("key") is None):
        faults.append(f"{where}.tls: give cert and key together")
    return TLSFiles(paths["ca"], paths["cert"], paths["key"], verify)


def _labels(where: str, raw: object, faults: list[str]) -> dict[str, str]:
    """Return a host's labels: a table of string values with non-empty keys."""
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in raw.items()
    ):
        faults.append(f'{where}.labels: must be a table of strings, e.g. {{ env = "prod" }}')
        return {}
    return dict(raw)


def _deadline(where: str, raw: object, faults: list[str]) -> float:
    """Return a host's call deadline in seconds (0 < d <= 3600)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 3600:
        faults.append(f"{where}.deadline_s: must be a number of seconds above 0 up to 3600")
        return DEFAULT_HOST_DEADLINE_S
    return float(raw)


def _default(raw: object, hosts: list[str], faults: list[str]) -> str | None:
    """Return the default host: one of those declared; with one host it may be left out."""
    if raw is None:
        if len(hosts) == 1:
            return next(iter(hosts))
        if hosts:
            faults.append(
                f"default: missing; with several hosts, name the one a call without host "
                f"goes to, e.g. default = {next(iter(hosts))!r} (one of: {', '.join(hosts)})"
            )
        return None
    if not isinstance(raw, str) or raw not in hosts:
        if hosts:
            faults.append(f"default: {raw!r} is not a host here; use one of: {', '.join(hosts)}")
        return None
    return raw
