"""The SQL of the event history (``watch.history``): its tables and statements.

Events are keyed by (engine, time in nanoseconds, a 64-bit digest of type, actor, action
and detail), without a rowid, so an event replayed or recorded by two watches is stored
once; attributes are stored once per distinct set (``history_attrs``), since a container's
events repeat its labels. Times are integer nanoseconds since the epoch (UTC).
"""

from __future__ import annotations

import sqlite3
from typing import TypedDict

from operator_core.words import JSONValue

__all__ = [
    "ADD_ATTRS",
    "ADD_ENGINE",
    "ADD_EVENT",
    "ALIVE",
    "ATTRS_KEY",
    "AT_TIME",
    "CLOSE",
    "COUNT",
    "CUT_SPANS",
    "DROP_ATTRS",
    "DROP_SPANS",
    "ENGINE_HOST",
    "ENGINE_KEY",
    "NEWEST",
    "NEWEST_ALIVE",
    "NEWEST_FIRST",
    "NTH_NEWEST",
    "OPEN",
    "PRUNE",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SELECT",
    "SPANS",
    "STATUS",
    "EventFilters",
    "Transaction",
    "event_filter",
]

#: Bumped when the tables change shape (``history_schema`` holds it).
SCHEMA_VERSION = 1

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS history_schema (version INTEGER NOT NULL);
INSERT INTO history_schema (version)
    SELECT {SCHEMA_VERSION} WHERE NOT EXISTS (SELECT 1 FROM history_schema);
CREATE TABLE IF NOT EXISTS history_engines (
    engine INTEGER PRIMARY KEY,
    engine_id TEXT NOT NULL UNIQUE,
    host TEXT
);
CREATE TABLE IF NOT EXISTS history_attrs (
    attrs INTEGER PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history_events (
    engine INTEGER NOT NULL,
    time_ns INTEGER NOT NULL,
    dedupe INTEGER NOT NULL,
    type TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT,
    actor_id TEXT NOT NULL,
    actor_name TEXT,
    exit_code INTEGER,
    attrs INTEGER NOT NULL,
    PRIMARY KEY (engine, time_ns, dedupe)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS history_age ON history_events (time_ns);
CREATE TABLE IF NOT EXISTS history_intervals (
    id INTEGER PRIMARY KEY,
    engine INTEGER NOT NULL,
    host TEXT,
    start_ns INTEGER NOT NULL,
    alive_ns INTEGER NOT NULL,
    end_ns INTEGER
);
CREATE INDEX IF NOT EXISTS history_spans ON history_intervals (engine, start_ns);
"""  # noqa: S608 (a constant)

ADD_ENGINE = "INSERT OR IGNORE INTO history_engines (engine_id, host) VALUES (?, ?)"
ENGINE_HOST = "UPDATE history_engines SET host = ?1 WHERE engine_id = ?2 AND host IS NOT ?1"
ENGINE_KEY = "SELECT engine FROM history_engines WHERE engine_id = ?"
ADD_ATTRS = "INSERT OR IGNORE INTO history_attrs (digest, json) VALUES (?, ?)"
ATTRS_KEY = "SELECT attrs FROM history_attrs WHERE digest = ?"
ADD_EVENT = (
    "INSERT OR IGNORE INTO history_events (engine, time_ns, dedupe, type, action, detail, "
    "actor_id, actor_name, exit_code, attrs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
OPEN = "INSERT INTO history_intervals (engine, host, start_ns, alive_ns) VALUES (?, ?, ?, ?)"
ALIVE = "UPDATE history_intervals SET alive_ns = max(alive_ns, ?) WHERE id = ?"
CLOSE = "UPDATE history_intervals SET end_ns = max(start_ns, ?), alive_ns = max(alive_ns, ?) "
CLOSE += "WHERE id = ?"

_ENGINE = "(SELECT engine FROM history_engines WHERE engine_id = ?)"
NEWEST = f"SELECT max(time_ns) FROM history_events WHERE engine = {_ENGINE}"  # noqa: S608
#: The last moment any recording interval of the engine vouches for (its end, else alive).
NEWEST_ALIVE = (
    "SELECT max(coalesce(end_ns, alive_ns)) FROM history_intervals "  # noqa: S608
    f"WHERE engine = {_ENGINE}"
)
AT_TIME = (
    "SELECT actor_id, action, coalesce(detail, '') FROM history_events "  # noqa: S608
    f"WHERE engine = {_ENGINE} AND time_ns = ?"
)
COUNT = "SELECT count(*) FROM history_events e JOIN history_attrs a ON a.attrs = e.attrs"
SELECT = (
    "SELECT e.time_ns, e.type, e.action, e.detail, e.actor_id, e.actor_name, e.exit_code, "
    "a.json FROM history_events e JOIN history_attrs a ON a.attrs = e.attrs"
)
NEWEST_FIRST = " ORDER BY e.time_ns DESC LIMIT ?"
#: The recording spans of an engine that reach into a window (until, since).
SPANS = (
    "SELECT start_ns, coalesce(end_ns, alive_ns) FROM history_intervals "  # noqa: S608
    f"WHERE engine = {_ENGINE} AND start_ns <= ? AND coalesce(end_ns, alive_ns) >= ?"
)
STATUS = """
SELECT g.engine_id, g.host,
    (SELECT count(*) FROM history_events e WHERE e.engine = g.engine),
    (SELECT min(time_ns) FROM history_events e WHERE e.engine = g.engine),
    (SELECT max(time_ns) FROM history_events e WHERE e.engine = g.engine),
    (SELECT min(start_ns) FROM history_intervals i WHERE i.engine = g.engine),
    (SELECT max(coalesce(end_ns, alive_ns)) FROM history_intervals i WHERE i.engine = g.engine)
FROM history_engines g ORDER BY g.host, g.engine_id
"""

NTH_NEWEST = "SELECT time_ns FROM history_events ORDER BY time_ns DESC LIMIT 1 OFFSET ?"
PRUNE = (
    "DELETE FROM history_events WHERE (engine, time_ns, dedupe) IN ("
    "SELECT engine, time_ns, dedupe FROM history_events WHERE {where} "
    "ORDER BY time_ns LIMIT ?)"
)
#: Intervals wholly before the pruned boundary go (an open one only when it is stale).
DROP_SPANS = (
    "DELETE FROM history_intervals WHERE coalesce(end_ns, alive_ns) < ?1 "
    "AND (end_ns IS NOT NULL OR alive_ns < ?2)"
)
CUT_SPANS = (
    "UPDATE history_intervals SET start_ns = max(start_ns, ?), alive_ns = max(alive_ns, ?) "
    "WHERE start_ns < ?"
)
DROP_ATTRS = "DELETE FROM history_attrs WHERE attrs NOT IN (SELECT attrs FROM history_events)"


class EventFilters(TypedDict, total=False):
    """What a history read keeps, as ``get_events`` takes it (None or absent: any)."""

    #: A name, an id or a 6+ character id prefix.
    container: str | None
    service: str | None
    types: list[str] | None
    actions: list[str] | None


def event_filter(
    engine_id: str, window: tuple[int, int], filters: EventFilters
) -> tuple[str, list[JSONValue]]:
    """Return the WHERE clause (and parameters) of a read: engine, window and filters."""
    clauses = [f"e.engine = {_ENGINE}", "e.time_ns >= ?", "e.time_ns <= ?"]
    params: list[JSONValue] = [engine_id, *window]
    container = filters.get("container")
    if container:
        clauses.append(
            "(e.actor_id = ? OR e.actor_name = ? OR (length(?) >= 6 AND "
            "substr(e.actor_id, 1, length(?)) = ?))"
        )
        params += [container] * 5
    service = filters.get("service")
    if service:
        clauses.append("json_extract(a.json, '$.\"com.docker.swarm.service.name\"') = ?")
        params.append(service)
    for column, values in (("e.type", filters.get("types")), ("e.action", filters.get("actions"))):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += values
    return " WHERE " + " AND ".join(clauses), params


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back when the block raises."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:
            self._db.execute("ROLLBACK")
