"""``HealStore`` pinned exactly: leases, marks and their window, backoff, escalations, errors."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import threading

import pytest
import time_machine

from operator_core.errors import HealStateError
from operator_core.watch.heal.state import SCHEMA_VERSION, Escalation, HealStore, iso, watch_id

E, C = "ENGINE", "c" * 64
DAY = 86400.0


def escalation(container: str = C, engine: str = E, why: str = "why") -> Escalation:
    """An escalation of ``container``."""
    return Escalation(
        engine_id=engine, container_id=container, host="h", name="web", since="", why=why
    )


def test_iso_is_utc_to_the_second():
    """A unix time as ISO 8601 UTC with a Z, fractions cut."""
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(1_800_000_000.9) == "2027-01-15T08:00:00Z"


@time_machine.travel("2026-12-07T23:00:05Z", tick=False)
def test_a_watch_id_names_the_machine_the_process_and_its_start():
    """host/pid/start/nonce: two ids of one process differ by their nonce only."""
    first, second = watch_id(), watch_id()
    prefix = f"{socket.gethostname()}/{os.getpid()}/2026-12-07T23:00:05Z/"
    assert first.startswith(prefix)
    assert re.fullmatch(r"[0-9a-f]{6}", first.removeprefix(prefix))
    assert first != second


def test_a_file_store_is_made_with_its_directory_in_wal_mode(tmp_path):
    """The directory is created; WAL and a busy timeout let watches share it; version 1."""
    path = tmp_path / "deep" / "er" / "heal.sqlite3"
    store = HealStore(path)
    assert path.exists()
    assert store.where == str(path)
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
    assert store._db.execute("SELECT version FROM heal_schema").fetchall() == [(SCHEMA_VERSION,)]
    store.close()
    again = HealStore(path)  # reopened: the version is not written twice
    assert again._db.execute("SELECT count(*) FROM heal_schema").fetchone()[0] == 1
    again.close()


def test_a_store_in_memory_says_so_and_writes_no_file(tmp_path, monkeypatch):
    """':memory:' is no file: where says ':memory:', and nothing is written anywhere."""
    monkeypatch.chdir(tmp_path)
    store = HealStore(":memory:")
    store.mark(E, C, "failure", 1.0)
    assert (store.path, store.where) == (None, ":memory:")
    assert list(tmp_path.iterdir()) == []


def test_an_older_or_equal_schema_is_used_and_a_newer_refused_naming_both(tmp_path):
    """Version 1 (or older) opens; a newer one is HealStateError with an upgrade hint."""
    path = tmp_path / "h.sqlite3"
    HealStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE heal_schema SET version = 0")
    db.commit()
    HealStore(path).close()
    db.execute("UPDATE heal_schema SET version = 2")
    db.commit()
    db.close()
    with pytest.raises(HealStateError) as caught:
        HealStore(path)
    assert str(caught.value) == (
        f"the heal store {path} has schema version 2, newer than this operator-core's (1): "
        "upgrade operator-core"
    )


def test_a_file_that_is_no_database_is_a_heal_state_error(tmp_path):
    """Not SQLite: HealStateError naming the file."""
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database, just some text long enough" * 20)
    with pytest.raises(HealStateError, match=f"cannot open the heal store {path}: "):
        HealStore(path)


def test_a_closed_store_raises_heal_state_errors():
    """After close() a call is HealStateError naming the store, not a raw sqlite3 error."""
    store = HealStore(":memory:")
    store.close()
    with pytest.raises(HealStateError) as caught:
        store.count(E, C, "failure", 0)
    assert str(caught.value) == "heal store :memory:: Cannot operate on a closed database."


async def test_run_calls_a_method_on_the_stores_own_thread():
    """run() returns the method's answer, computed on the heal-store worker thread."""
    store = HealStore(":memory:")
    names: list[str] = []

    def which(value: int, *, plus: int) -> int:
        names.append(threading.current_thread().name)
        return value + plus

    assert await store.run(which, 2, plus=3) == 5
    assert names[0].startswith("heal-store")
    store.mark(E, C, "failure", 10.0)
    assert await store.run(store.count, E, C, "failure", 0) == 1
    store.close()


def test_a_transaction_that_fails_leaves_nothing_behind():
    """Work that raises inside a transaction is rolled back, and the error passes."""
    store = HealStore(":memory:")

    def work(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO heal_marks VALUES (?, ?, ?, ?)", (E, C, "failure", 5.0))
        raise ValueError("midway")

    with pytest.raises(ValueError, match="midway"):
        store._transaction(work)
    assert store.count(E, C, "failure", 0) == 0
    store.mark(E, C, "failure", 6.0)  # the connection is usable (no transaction left open)
    assert store.count(E, C, "failure", 0) == 1


def test_a_lease_is_taken_renewed_refused_and_taken_over_after_expiry():
    """A holder renews keeping its since; another is refused until the expiry (exact)."""
    store = HealStore(":memory:")
    assert store.take_lease(E, C, "a", 100.0, 30.0) is None
    assert store.take_lease(E, C, "a", 110.0, 30.0) is None  # renewed: until 140, since 100
    assert store.take_lease(E, C, "b", 139.0, 30.0) == {
        "holder": "a",
        "since": "1970-01-01T00:01:40Z",
        "expires": "1970-01-01T00:02:20Z",
    }
    assert store.take_lease(E, C, "b", 140.0, 30.0) is None  # expired at 140 exactly
    assert store.take_lease(E, C, "a", 141.0, 30.0) == {
        "holder": "b",
        "since": "1970-01-01T00:02:20Z",
        "expires": "1970-01-01T00:02:50Z",
    }


def test_leases_are_per_engine_and_container_and_released_by_their_holder_only():
    """Another container or engine has its own lease; release by another holder does nothing."""
    store = HealStore(":memory:")
    store.take_lease(E, C, "a", 100.0, 30.0)
    assert store.take_lease(E, "other", "b", 100.0, 30.0) is None
    assert store.take_lease("E2", C, "b", 100.0, 30.0) is None
    store.release_lease(E, C, "b")
    assert store.take_lease(E, C, "b", 101.0, 30.0) is not None
    store.release_lease(E, C, "a")
    assert store.take_lease(E, C, "b", 101.0, 30.0) is None


def test_marks_count_per_kind_and_key_from_since_on():
    """count(since) includes a mark at since exactly; kinds and keys are apart."""
    store = HealStore(":memory:")
    store.mark(E, C, "failure", 100.0)
    store.mark(E, C, "failure", 200.0)
    store.mark(E, C, "restart", 200.0)
    store.mark(E, "other", "failure", 200.0)
    store.mark("E2", C, "failure", 200.0)
    assert store.count(E, C, "failure", 100.0) == 2
    assert store.count(E, C, "failure", 100.5) == 1
    assert store.count(E, C, "failure", 200.5) == 0
    assert store.count(E, C, "restart", 0.0) == 1


def test_marks_older_than_eight_days_are_deleted_as_new_ones_come():
    """A mark 8 days old exactly stays; an older one goes when the next mark is written."""
    store = HealStore(":memory:")
    store.mark(E, C, "failure", 100.0)
    store.mark(E, C, "failure", 101.0)
    store.mark(E, "other", "restart", 101.0 + 8 * DAY)
    assert store.count(E, C, "failure", 0.0) == 1
    assert store.count(E, C, "failure", 101.0) == 1


def test_backoff_and_last_heal_are_kept_per_container_and_can_be_forgotten():
    """Each value is read back as set (a float), None when unset or set to None."""
    store = HealStore(":memory:")
    assert (store.backoff_until(E, C), store.healed_at(E, C)) == (None, None)
    store.set_backoff(E, C, 150)
    store.set_healed(E, C, 120.5)
    assert (store.backoff_until(E, C), store.healed_at(E, C)) == (150.0, 120.5)
    assert isinstance(store.backoff_until(E, C), float)
    assert store.backoff_until(E, "other") is None
    store.set_backoff(E, C, None)
    assert (store.backoff_until(E, C), store.healed_at(E, C)) == (None, 120.5)


def test_escalations_keep_the_first_time_and_list_oldest_first_per_engine():
    """A second escalation of a container keeps the first; the list is by time, per engine."""
    store = HealStore(":memory:")
    store.escalate(escalation("c2", why="later"), 300.0)
    store.escalate(escalation(C, why="first"), 200.0)
    store.escalate(escalation(C, why="second"), 250.0)
    store.escalate(escalation(C, engine="E2"), 100.0)
    assert store.escalation(E, C) == {
        "engine_id": E,
        "container_id": C,
        "host": "h",
        "name": "web",
        "since": "1970-01-01T00:03:20Z",
        "why": "first",
    }
    assert [e["container_id"] for e in store.escalations(E)] == [C, "c2"]
    assert [e["engine_id"] for e in store.escalations()] == ["E2", E, E]
    assert store.escalation(E, "none") is None


def test_clear_forgets_one_containers_escalation_failures_backoff_and_heal_only():
    """A fresh start for that container; every other container keeps its state."""
    store = HealStore(":memory:")
    for container in (C, "keep"):
        store.escalate(escalation(container), 10.0)
        store.mark(E, container, "failure", 10.0)
        store.mark(E, container, "restart", 10.0)
        store.set_backoff(E, container, 99.0)
        store.set_healed(E, container, 9.0)
    store.clear(E, C)
    assert store.escalation(E, C) is None
    assert store.count(E, C, "failure", 0) == store.count(E, C, "restart", 0) == 0
    assert (store.backoff_until(E, C), store.healed_at(E, C)) == (None, None)
    assert store.escalation(E, "keep") is not None
    assert store.count(E, "keep", "failure", 0) == 1
    assert store.backoff_until(E, "keep") == 99.0


async def test_a_file_store_is_shared_by_two_connections(tmp_path):
    """What one store writes, another on the same file reads (two watches, one file)."""
    path = tmp_path / "h.sqlite3"
    first, second = HealStore(path), HealStore(path)
    assert await first.run(first.take_lease, E, C, "a", 100.0, 60.0) is None
    held = await second.run(second.take_lease, E, C, "b", 101.0, 60.0)
    assert held is not None
    assert held["holder"] == "a"
    first.close()
    second.close()
