"""Watch items shaped like issue 16's contract (incidents, heal reports, notices)."""

from __future__ import annotations

from typing import Any

__all__ = ["CID", "heal_report", "incident", "notice"]

CID = "c" * 64


def incident(kind: str, **given: Any) -> dict[str, Any]:
    """Return an incident of ``web`` on host ``eng1`` as the watch yields it (contract fields)."""
    item: dict[str, Any] = {
        "kind": kind,
        "status": "firing",
        "incident_id": f"{kind}-1",
        "host": "eng1",
        "engine_id": "ENG1:ID",
        "container_id": CID,
        "name": "web",
        "time": "2026-11-29T10:00:00.000000001Z",
        "since": "2026-11-29T10:00:00.000000001Z",
        "exit_code": None,
        "count": None,
        "message": f"eng1: web {kind}",
        "labels": {"team": "pay"},
    }
    item.update(given)
    return item


def heal_report(kind: str, **given: Any) -> dict[str, Any]:
    """Return a heal report about ``web`` on ``eng1``."""
    item: dict[str, Any] = {
        "kind": kind,
        "host": "eng1",
        "container_id": CID,
        "name": "web",
        "time": "2026-11-29T10:01:00Z",
        "message": f"eng1: web {kind}",
        "attempt": 1,
        "audit_id": None,
    }
    item.update(given)
    return item


def notice(kind: str, clock: str, host: str = "eng1") -> dict[str, Any]:
    """Return a host notice of ``kind`` at ``clock`` (HH:MM:SS) on 2026-11-29."""
    return {
        "kind": kind,
        "host": host,
        "engine_id": f"{host.upper()}:ID",
        "time": f"2026-11-29T{clock}Z",
        "message": f"{host}: {kind}",
        "retry_in_s": None,
    }
