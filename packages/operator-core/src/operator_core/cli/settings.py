"""The global options of ``operator`` and ``operator mcp``, resolved into what they mean.

Where each setting comes from, first match wins:

* policy: ``--policy FILE``, else ``$OPERATOR_POLICY``, else
  ``$XDG_CONFIG_HOME/operator-core/policy.toml`` (``~/.config/...``) when that file
  exists, else the built-in default (observe mode: read-only tools only);
* mode and dry run: ``--mode`` / ``--dry-run`` (or ``$OPERATOR_MODE``) override the
  policy's own ``mode`` / ``dry_run``;
* audit trail: ``--audit-db PATH``, else ``$OPERATOR_AUDIT_DB``, else
  ``$XDG_STATE_HOME/operator-core/audit.sqlite3`` (``~/.local/state/...``);
* watch store (the event history, and the healer's leases and state): ``--history-db
  PATH``, else ``$OPERATOR_HISTORY_DB``, else ``history.sqlite3`` beside the audit trail
  when that is given by option or environment, else under ``$XDG_STATE_HOME/operator-core``;
* engine: ``--host`` URL or ``--context`` (one of them, resolved to an ``Endpoint`` without
  running ``docker``), else the docker CLI's own default ($DOCKER_HOST, $DOCKER_CONTEXT,
  the current context, the local socket);
* fleet: ``--inventory FILE``, else ``$OPERATOR_INVENTORY``, else
  ``$XDG_CONFIG_HOME/operator-core/inventory.toml`` when it exists. With an inventory every
  command goes to the fleet: ``--host NAME`` names an inventory host (``docker ps`` without
  it lists every host). A ``--host`` URL (``ssh://...``) means that one engine alone, and
  is refused while an inventory is in force or the policy has rules about hosts
  (``[hosts.NAME]``, ``scope.require_host_labels``): it would escape them.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from python_on_whales import DockerClient

from operator_core.audit.redact import redact_value
from operator_core.docker import Endpoint, resolve_endpoint
from operator_core.errors import InvalidInput
from operator_core.fleet import Inventory, load_inventory, resolve_inventory_path
from operator_core.policy import Policy, load_policy

__all__ = [
    "NO_INVENTORY",
    "Mode",
    "Settings",
    "default_audit_db",
    "default_history_db",
    "default_policy_file",
    "local_user",
]

Mode = Literal["observe", "execute"]

#: Why ``--host NAME`` (no URL) is refused when there is no inventory to name a host of.
NO_INVENTORY = "no inventory: --host takes a URL, or give --inventory FILE"


def local_user() -> str:
    """Return the name of the user running the command ('unknown' when it has none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def default_audit_db() -> Path:
    """Return the audit database path: $OPERATOR_AUDIT_DB, else under XDG_STATE_HOME."""
    named = os.environ.get("OPERATOR_AUDIT_DB")
    if named:
        return Path(named).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "operator-core" / "audit.sqlite3"


def default_history_db(audit_db: Path | None = None) -> Path:
    """Return the watch store's path: $OPERATOR_HISTORY_DB, else beside the audit trail."""
    named = os.environ.get("OPERATOR_HISTORY_DB")
    if named:
        return Path(named).expanduser()
    return (audit_db or default_audit_db()).with_name("history.sqlite3")


def default_policy_file() -> Path | None:
    """Return the user's policy file under XDG_CONFIG_HOME when it exists, else None."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    candidate = Path(config) / "operator-core" / "policy.toml"
    return candidate if candidate.is_file() else None


@dataclass
class Settings:
    """The global options of one ``operator`` invocation."""

    host: str | None = None
    context: str | None = None
    inventory_file: Path | None = None
    policy_file: Path | None = None
    mode: Mode | None = None
    dry_run: bool | None = None
    audit_db: Path = field(default_factory=default_audit_db)
    history_db: Path = field(default_factory=default_history_db)
    json: bool = False
    reason: str | None = None
    yes: bool = False
    actor: str = field(default_factory=lambda: f"cli:{local_user()}")

    def policy_path(self) -> Path | None:
        """Return the policy file in force: the option, else the user's file, else None."""
        return self.policy_file if self.policy_file is not None else default_policy_file()

    def policy_source(self) -> str:
        """Return where the policy comes from, for messages ('built-in default' or a path)."""
        path = self.policy_path()
        return str(path) if path is not None else "built-in default"

    def policy(self) -> Policy:
        """Return the policy in force, with --mode and --dry-run applied (PolicyError if bad)."""
        path = self.policy_path()
        policy = load_policy(path) if path is not None else Policy()
        overrides: dict[str, object] = {}
        if self.mode is not None:
            overrides["mode"] = self.mode
        if self.dry_run is not None:
            overrides["dry_run"] = self.dry_run
        return policy.model_copy(update=overrides) if overrides else policy

    def inventory(self) -> Inventory | None:
        """Return the fleet's inventory, or None without one or when --host is a URL.

        Raises InventoryError for a malformed file, InvalidInput for --context with an
        inventory, a --host that is neither an inventory name nor a URL (``NO_INVENTORY``
        when there is no inventory to name a host of), or a --host URL
        while an inventory or a policy rule about hosts is in force (``_refuse_url``).
        """
        path = resolve_inventory_path(self.inventory_file)
        if self.host and "://" in self.host:
            self._refuse_url(path)
            return None  # one engine, named by URL, with no rule about hosts in force
        if path is None:
            if self.host:
                raise InvalidInput(NO_INVENTORY)
            return None
        inventory = load_inventory(path)
        if self.context:
            raise InvalidInput("give --context or an inventory (--inventory), not both")
        if self.host and self.host not in inventory.hosts:
            raise InvalidInput(
                f"--host {self.host!r} is not a host of the inventory {inventory.source}; "
                f"use one of {', '.join(inventory.names)}, or a URL such as ssh://me@server"
            )
        return inventory

    def _refuse_url(self, inventory: Path | None) -> None:
        """Refuse a --host URL while an inventory or a policy rule about hosts is in force.

        A URL is never matched to an inventory host by its text (``unix:////x.sock``, a
        symlink, ``localhost`` and ``127.0.0.1`` spell one engine many ways): the engine
        it reaches would escape the rules the policy has for that host.
        """
        shown = repr(redact_value(self.host or "")[:200])
        if inventory is not None:
            raise InvalidInput(
                f"--host {shown} is a URL, but the inventory {inventory} is in force: name "
                "one of its hosts instead (a URL is never matched to a host by its text, so "
                "the policy's rules for that host could not apply)"
            )
        rules = self.policy().host_rules()
        if rules:
            raise InvalidInput(
                f"--host {shown} is a URL, but the policy has rules about hosts "
                f"({', '.join(rules)}) that only an inventory can apply: give --inventory "
                "and name one of its hosts"
            )

    def fleet_host(self) -> str | None:
        """Return the inventory host --host names (None: no --host, or --host is a URL)."""
        return self.host if self.host and "://" not in self.host else None

    def docker_command(self) -> list[str]:
        """Return the docker CLI command line for the engine chosen (--host or --context)."""
        if self.host and self.context:
            raise InvalidInput("give --host or --context, not both")
        if self.host:
            return ["docker", "--host", self.host]
        if self.context:
            return ["docker", "--context", self.context]
        return ["docker"]

    def endpoint(self) -> Endpoint:
        """Return the engine --host or --context names (else the environment's default).

        InvalidInput for both, a malformed URL or an unknown context; nothing connects.
        """
        if self.host and self.context:
            raise InvalidInput("give --host or --context, not both")
        return resolve_endpoint(self.host or None, self.context or None)

    def docker_client(self) -> DockerClient | None:
        """Return a client for --host or --context, or None for the default engine."""
        if self.host and self.context:
            raise InvalidInput("give --host or --context, not both")
        if self.host:
            return DockerClient(host=self.host)
        if self.context:
            return DockerClient(context=self.context)
        return None
