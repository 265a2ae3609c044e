"""Measure the disk the watch's history and the audit trail take, and their retention bound.

    python scripts/measure_history.py [--events 20000] [--records 3000]

Writes synthetic but typical rows into throwaway files (no engine needed):

* history: events of 50 containers with Compose-like labels (a container's label set
  repeats across its events, as on a real engine: start, health_status, die, ...), and
  a worst case where every event carries labels of its own;
* audit: records shaped like an MCP session's calls (inspect/list reads with results,
  restarts with the container's state before and after).

Prints bytes per 1,000 rows (the SQLite file after a WAL checkpoint), the time to prune,
and the disk bound of a service under the default retention (``[retention]``: audit 30
days, history 7 days or 1,000,000 rows) at 10,000 calls a day for a month.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from operator_core.audit import AuditRecord, SQLiteAuditSink
from operator_core.audit.retention import DAY_S, RetentionRules
from operator_core.results import Event
from operator_core.watch.history import HistoryStore, iso_ns

ACTIONS = ["start", "health_status", "health_status", "die", "kill", "stop", "restart"]


def _labels(container: int, unique: int | None) -> dict[str, str]:
    labels = {
        "com.docker.compose.project": "shop",
        "com.docker.compose.service": f"svc{container % 12}",
        "com.docker.compose.container-number": str(container % 3 + 1),
        "com.docker.compose.config-hash": f"{container:064x}",
        "com.docker.compose.version": "2.24.6",
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.project.working_dir": "/srv/shop",
        "org.operator-core.autoheal": "true",
        "image": "registry.example.com/shop/svc:1.4.2",
        "name": f"shop-svc{container}-1",
    }
    if unique is not None:
        labels["run"] = str(unique)
    return labels


def _event(index: int, start_ns: int, *, unique: bool) -> Event:
    container = index % 50
    action = ACTIONS[index % len(ACTIONS)]
    return Event(
        time=iso_ns(start_ns + index * 37_000_000),
        type="container",
        action=action,
        detail="healthy" if action == "health_status" else None,
        actor_id=f"{container:064x}",
        actor_name=f"shop-svc{container}-1",
        exit_code=137 if action == "die" else None,
        attributes=_labels(container, index if unique else None),
    )


def _size(path: Path) -> int:
    """Return the file's size once its WAL is checkpointed into it."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


async def _history(folder: Path, count: int, *, unique: bool) -> tuple[float, float]:
    """Return (bytes per 1,000 events, seconds to prune half of them)."""
    path = folder / f"history-{'unique' if unique else 'typical'}.sqlite3"
    store = HistoryStore(path)
    start_ns = int((time.time() - 3 * DAY_S) * 1e9)
    interval = await store.open_interval(None, "ENGINE", start_ns / 1e9)
    for first in range(0, count, 500):
        batch = [_event(i, start_ns, unique=unique) for i in range(first, first + 500)]
        await store.record(None, "ENGINE", batch, interval)
    await store.close()
    size = _size(path)
    store = HistoryStore(path)
    began = time.perf_counter()
    store.prune_now(RetentionRules(history_max_rows=count // 2).history())
    took = time.perf_counter() - began
    store.close_now()
    return size / count * 1000, took


def _record(index: int, now: float) -> AuditRecord:
    restart = index % 5 == 0
    state = {
        "status": "running",
        "health": "healthy",
        "restart_count": index % 7,
        "started_at": "2026-12-07T10:00:00.000000000Z",
        "image": "shop/svc:1.4.2",
    }
    result = (
        {"container_id": f"{index:064x}", "name": f"shop-svc{index % 50}-1", "status": "running"}
        if restart
        else {
            "containers": [
                {
                    "id": f"{i:012x}",
                    "name": f"shop-svc{i}-1",
                    "status": "running",
                    "image": "shop/svc:1.4.2",
                }
                for i in range(4)
            ],
            "count": 4,
        }
    )
    return AuditRecord(
        time="2026-12-07T10:00:00.000000+00:00",
        ts=now - index,
        actor="mcp:claude-ai/1.0",
        reason="the checkout service answers 502; its container is unhealthy" if restart else None,
        tool="docker_restart_container" if restart else "docker_list_containers",
        risk="high" if restart else "low",
        arguments={"container_id": f"shop-svc{index % 50}-1", "timeout": 10} if restart else {},
        container=f"shop-svc{index % 50}-1" if restart else None,
        container_id=f"{index:064x}" if restart else None,
        container_name=f"shop-svc{index % 50}-1" if restart else None,
        decision="allowed",
        outcome="ok",
        duration_ms=812.5,
        before=state if restart else None,
        after=state if restart else None,
        result=result,
    )


async def _audit(folder: Path, count: int) -> tuple[float, float]:
    """Return (bytes per 1,000 records, mean JSON bytes of a record)."""
    path = folder / "audit.sqlite3"
    sink = SQLiteAuditSink(path, synchronous="NORMAL")
    now = time.time()
    records = [_record(i, now) for i in range(count)]
    for record in records:
        await sink.write(record)
    await sink.close()
    mean_json = sum(len(r.to_json()) for r in records) / count
    return _size(path) / count * 1000, mean_json


async def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--records", type=int, default=3000)
    args = parser.parse_args()
    rules = RetentionRules()
    with tempfile.TemporaryDirectory() as folder:
        typical, prune_s = await _history(Path(folder), args.events, unique=False)
        unique, _ = await _history(Path(folder), args.events, unique=True)
        per_record, mean_json = await _audit(Path(folder), args.records)
    print(f"history: {typical:,.0f} bytes per 1,000 events (labels repeating per container)")
    print(f"history: {unique:,.0f} bytes per 1,000 events (worst case: labels unique per event)")
    print(f"history: pruning {args.events // 2:,} of {args.events:,} events took {prune_s:.2f}s")
    print(
        f"audit:   {per_record:,.0f} bytes per 1,000 records (mean record JSON {mean_json:,.0f} B)"
    )
    audit_rows = 10_000 * min(30.0, rules.audit_max_age_days or 30.0)
    audit_mb = audit_rows * per_record / 1000 / 1e6
    history_mb = rules.history_max_rows * unique / 1000 / 1e6
    print(
        f"bound:   audit at 10,000 calls/day, {rules.audit_max_age_days:g}-day retention: "
        f"{audit_rows:,.0f} records = {audit_mb:,.0f} MB; history at most "
        f"{rules.history_max_rows:,} events = {history_mb:,.0f} MB worst case "
        f"({rules.history_max_rows * typical / 1000 / 1e6:,.0f} MB typical)"
    )


if __name__ == "__main__":
    asyncio.run(main())
