"""``HealStore``: the healer's leases, attempts, backoff and escalations, in the watch's store.

One SQLite file shared with the event history (``Settings.history_db``), in its own tables
(``heal_*``, schema version in ``heal_schema``), opened in WAL mode with a busy timeout so
several watches (processes) share it. Everything is keyed by the engine's own ID
(``engine_identity()["engine_id"]``) and the container's full ID, never by how the engine
was named, and every time is the wall clock (unix seconds), so it outlives a restart:

* a **lease** per container: taken in one ``BEGIN IMMEDIATE`` transaction before a heal's
  first step, renewed while it runs, released at its end; one another watch holds (and has
  not let expire) is returned instead, with who holds it and since when;
* **marks**: each failed heal and each restart, counted over a window;
* **backoff** (until when a container is left alone) and when it was last healed (a
  container unhealthy again soon after is flapping);
* **escalations**: containers (or Swarm services) no watch acts on until a person clears
  them (``operator heal clear``).

Each method runs one short statement or transaction; ``HealStore.run`` runs one on the
store's own worker thread, so the event loop never waits on a lock.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, ParamSpec, TypedDict, TypeVar

from operator_core.errors import HealStateError

__all__ = ["SCHEMA_VERSION", "Escalation", "HealStore", "LeaseHolder", "MarkKind", "watch_id"]

P = ParamSpec("P")
T = TypeVar("T")
#: The version of the heal tables; a file with a newer one is refused.
SCHEMA_VERSION = 1
#: Marks older than this are deleted as new ones are written.
_KEEP_MARKS_S = 8 * 86400.0
MarkKind = Literal["failure", "restart"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS heal_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS heal_leases (
    engine_id TEXT NOT NULL, container_id TEXT NOT NULL, holder TEXT NOT NULL,
    since REAL NOT NULL, expires REAL NOT NULL, PRIMARY KEY (engine_id, container_id));
CREATE TABLE IF NOT EXISTS heal_marks (
    engine_id TEXT NOT NULL, container_id TEXT NOT NULL, kind TEXT NOT NULL, ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS heal_marks_key ON heal_marks (engine_id, container_id, kind, ts);
CREATE TABLE IF NOT EXISTS heal_containers (
    engine_id TEXT NOT NULL, container_id TEXT NOT NULL, backoff_until REAL,
    healed_at REAL, PRIMARY KEY (engine_id, container_id));
CREATE TABLE IF NOT EXISTS heal_escalations (
    engine_id TEXT NOT NULL, container_id TEXT NOT NULL, host TEXT, name TEXT,
    since REAL NOT NULL, why TEXT NOT NULL, PRIMARY KEY (engine_id, container_id));
"""


class LeaseHolder(TypedDict):
    """Who holds a container's lease (a watch id: host/pid/start), since and until when."""

    holder: str
    since: str
    expires: str


class Escalation(TypedDict):
    """A container (or service) the healer gave up on, until a person clears it."""

    engine_id: str
    container_id: str
    host: str | None
    name: str | None
    since: str
    why: str


def watch_id() -> str:
    """Return who this watch is, for a lease: machine/pid/start time, plus a short nonce."""
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{socket.gethostname()}/{os.getpid()}/{started}/{uuid.uuid4().hex[:6]}"


def iso(unix: float) -> str:
    """Return a unix time as ISO 8601 UTC, to the second."""
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class HealStore:
    """The heal tables in the SQLite file at ``path`` (created, with its directory, if absent)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heal-store")
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path or ":memory:", isolation_level=None, check_same_thread=False, timeout=10
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
            self._check_version()
        except (OSError, sqlite3.Error) as exc:
            self._worker.shutdown(wait=False)
            raise HealStateError(f"cannot open the heal store {self.where}: {exc}") from exc

    @property
    def where(self) -> str:
        """The file, for messages."""
        return str(self.path or ":memory:")

    def _check_version(self) -> None:
        row = self._db.execute("SELECT max(version) FROM heal_schema").fetchone()
        if row[0] is None:
            self._db.execute("INSERT INTO heal_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        elif row[0] > SCHEMA_VERSION:
            raise HealStateError(
                f"the heal store {self.where} has schema version {row[0]}, newer than this "
                f"operator-core's ({SCHEMA_VERSION}): upgrade operator-core"
            )

    async def run(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one of this store's methods on its worker thread; return what it returned."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, lambda: method(*args, **kwargs))

    def close(self) -> None:
        """Close the file (pending work finishes first)."""
        self._worker.shutdown(wait=True)
        self._guarded(self._db.close)

    def _guarded(self, work: Callable[[], T]) -> T:
        """Run ``work`` under the lock, turning sqlite errors into HealStateError."""
        with self._lock:
            try:
                return work()
            except sqlite3.Error as exc:
                raise HealStateError(f"heal store {self.where}: {exc}") from exc

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction (no other writer in between)."""

        def run() -> T:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._db)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return result

        return self._guarded(run)

    # Leases.

    def take_lease(
        self, engine_id: str, container_id: str, holder: str, now: float, ttl: float
    ) -> LeaseHolder | None:
        """Take (or renew) the container's lease for ``ttl`` s; return None, or who holds it."""

        def work(db: sqlite3.Connection) -> LeaseHolder | None:
            row = db.execute(
                "SELECT holder, since, expires FROM heal_leases "
                "WHERE engine_id = ? AND container_id = ?",
                (engine_id, container_id),
            ).fetchone()
            if row is not None and row[0] != holder and row[2] > now:
                return LeaseHolder(holder=row[0], since=iso(row[1]), expires=iso(row[2]))
            since = row[1] if row is not None and row[0] == holder else now
            db.execute(
                "INSERT OR REPLACE INTO heal_leases VALUES (?, ?, ?, ?, ?)",
                (engine_id, container_id, holder, since, now + ttl),
            )
            return None

        return self._transaction(work)

    def release_lease(self, engine_id: str, container_id: str, holder: str) -> None:
        """Give the container's lease back, if ``holder`` still holds it."""
        self._guarded(
            lambda: self._db.execute(
                "DELETE FROM heal_leases WHERE engine_id = ? AND container_id = ? AND holder = ?",
                (engine_id, container_id, holder),
            )
        )

    # Marks: failed heals and restarts.

    def mark(self, engine_id: str, container_id: str, kind: MarkKind, now: float) -> None:
        """Record a failed heal or a restart of the container at ``now``."""

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO heal_marks VALUES (?, ?, ?, ?)", (engine_id, container_id, kind, now)
            )
            db.execute("DELETE FROM heal_marks WHERE ts < ?", (now - _KEEP_MARKS_S,))

        self._transaction(work)

    def count(self, engine_id: str, container_id: str, kind: MarkKind, since: float) -> int:
        """Return how many marks of ``kind`` the container has from ``since`` on."""
        row = self._guarded(
            lambda: self._db.execute(
                "SELECT count(*) FROM heal_marks "
                "WHERE engine_id = ? AND container_id = ? AND kind = ? AND ts >= ?",
                (engine_id, container_id, kind, since),
            ).fetchone()
        )
        return int(row[0])

    # Backoff and the last heal.

    def _set(self, engine_id: str, container_id: str, column: str, value: float | None) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR IGNORE INTO heal_containers (engine_id, container_id) VALUES (?, ?)",
                (engine_id, container_id),
            )
            db.execute(
                f"UPDATE heal_containers SET {column} = ? "  # noqa: S608 (a fixed column name)
                "WHERE engine_id = ? AND container_id = ?",
                (value, engine_id, container_id),
            )

        self._transaction(work)

    def _get(self, engine_id: str, container_id: str, column: str) -> float | None:
        row = self._guarded(
            lambda: self._db.execute(
                f"SELECT {column} FROM heal_containers "  # noqa: S608 (a fixed column name)
                "WHERE engine_id = ? AND container_id = ?",
                (engine_id, container_id),
            ).fetchone()
        )
        return None if row is None or row[0] is None else float(row[0])

    def set_backoff(self, engine_id: str, container_id: str, until: float | None) -> None:
        """Leave the container alone until ``until`` (None: no backoff)."""
        self._set(engine_id, container_id, "backoff_until", until)

    def backoff_until(self, engine_id: str, container_id: str) -> float | None:
        """Return until when the container is left alone, or None."""
        return self._get(engine_id, container_id, "backoff_until")

    def set_healed(self, engine_id: str, container_id: str, when: float | None) -> None:
        """Record when a heal last made the container healthy (None: forget it)."""
        self._set(engine_id, container_id, "healed_at", when)

    def healed_at(self, engine_id: str, container_id: str) -> float | None:
        """Return when a heal last made the container healthy, or None."""
        return self._get(engine_id, container_id, "healed_at")

    # Escalations.

    def escalate(self, entry: Escalation, now: float) -> None:
        """Record an escalation (the first one's time stays)."""
        self._guarded(
            lambda: self._db.execute(
                "INSERT OR IGNORE INTO heal_escalations VALUES (?, ?, ?, ?, ?, ?)",
                (
                    entry["engine_id"],
                    entry["container_id"],
                    entry["host"],
                    entry["name"],
                    now,
                    entry["why"],
                ),
            )
        )

    def escalation(self, engine_id: str, container_id: str) -> Escalation | None:
        """Return the container's escalation, or None."""
        found = [e for e in self.escalations(engine_id) if e["container_id"] == container_id]
        return found[0] if found else None

    def escalations(self, engine_id: str | None = None) -> list[Escalation]:
        """Return every escalation (of one engine), oldest first."""
        sql = "SELECT engine_id, container_id, host, name, since, why FROM heal_escalations"
        params: tuple[str, ...] = ()
        if engine_id is not None:
            sql, params = sql + " WHERE engine_id = ?", (engine_id,)
        rows = self._guarded(lambda: self._db.execute(sql + " ORDER BY since", params).fetchall())
        return [
            Escalation(
                engine_id=row[0],
                container_id=row[1],
                host=row[2],
                name=row[3],
                since=iso(row[4]),
                why=row[5],
            )
            for row in rows
        ]

    def clear(self, engine_id: str, container_id: str) -> None:
        """Forget the container's escalation, failures, backoff and last heal: a fresh start."""

        def work(db: sqlite3.Connection) -> None:
            key = (engine_id, container_id)
            for table in ("heal_escalations", "heal_containers", "heal_marks"):
                db.execute(
                    f"DELETE FROM {table} WHERE engine_id = ? AND container_id = ?",  # noqa: S608
                    key,
                )

        self._transaction(work)
