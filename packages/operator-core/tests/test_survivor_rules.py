r"""Rules a mutation run found untested (issue 20): each test fails when its rule is broken.

Log search (after-context of N lines, ``\\z`` tested line by line, a long unfinished line
searched in its first bytes only, cancel and max_matches told apart), the SQLite trail's
rate key of an older fleet row (``id@host``), the watch (unix times clamped at 1970, its
replay dedupe set bounded), the incident detector's sweep (a recent oom is kept), the
healer (``invalid_arguments`` is a refusal, failures outside ``window_s`` are forgotten)
and the argument bounds (``-Infinity``, keys counted in the size).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from heal_fakes import Clock as HealClock
from heal_fakes import FakeRunner, settle, unhealthy
from operator_core.audit import AuditQuery, AuditRecord, SQLiteAuditSink
from operator_core.docker.diagnosis import search as search_module
from operator_core.docker.diagnosis.reading import Pumped
from operator_core.docker.diagnosis.search import (
    MAX_SEARCH_LINE_BYTES,
    _Budget,
    _Matcher,
    _Plan,
    _read_one,
    compile_pattern,
)
from operator_core.policy import HealRules
from operator_core.tools.bounds import MAX_ARGUMENT_CHARS, finite, loads, shape_problem
from operator_core.watch import Healer, IncidentDetector
from operator_core.watch.stream import _REMEMBERED, _HostFollower, _start

STAMP = b"2026-11-29T10:00:00.000000000Z "

# --- the log search ---------------------------------------------------------------------


def _matcher(pattern: str, context: int = 0, *, regex: bool = False) -> _Matcher:
    search = compile_pattern(pattern, regex=regex, ignore_case=False)
    return _Matcher("stdout", search, context, _Budget(10))


@pytest.mark.parametrize("context", [1, 2])
def test_after_context_holds_exactly_context_lines(context):
    """context=N gives N lines after a match, never N+1, though more lines follow."""
    matcher = _matcher("hit", context)
    matcher.feed(b"".join(STAMP + line + b"\n" for line in (b"a", b"hit", b"b", b"c", b"d")))
    matcher.close()
    (match,) = matcher.found
    assert match["after"] == ["b", "c", "d"][:context]
    assert match["before"] == ["a"]


def test_an_end_of_text_anchor_is_tested_line_by_line():
    r"""'ready\z' finds 'ready' at a line's end though the chunk goes on past it."""
    matcher = _matcher(r"ready\z", regex=True)
    matcher.feed(STAMP + b"ready\n" + STAMP + b"serving\n")
    matcher.close()
    assert [m["line"] for m in matcher.found] == ["ready"]


def test_a_long_unfinished_line_is_searched_in_its_first_bytes_only():
    """A line fed in pieces past MAX_SEARCH_LINE_BYTES: a needle after the cut is not found.

    The unfinished line is cut as it grows (memory bounded), as a finished one is.
    """
    matcher = _matcher("needle")
    piece = b"x" * 4096
    for _ in range(MAX_SEARCH_LINE_BYTES // len(piece) + 2):
        matcher.feed(piece)
        assert len(matcher._partial) <= MAX_SEARCH_LINE_BYTES
    matcher.feed(b"needle\n" + b"needle early\n")
    matcher.close()
    assert [m["line"] for m in matcher.found] == ["needle early"]


@pytest.mark.parametrize(("cancelled", "reason"), [(True, "cancelled"), (False, "max_matches")])
async def test_a_stop_says_whether_the_call_was_cancelled_or_the_matches_found(
    monkeypatch, cancelled, reason
):
    """A reading stopped by the shared stop event says why: a cancel, or max_matches met."""

    async def stopped(*_: Any, **__: Any) -> Pumped:
        return Pumped("cancelled", 10)

    class NoEngine:
        def frames(self, *_: Any, **__: Any) -> object:
            return object()

    monkeypatch.setattr(search_module, "pump", stopped)
    budget = _Budget(5, bytes_left=1000)
    if cancelled:
        budget.cancel()
    plan = _Plan(compile_pattern("x", regex=False, ignore_case=False), "x", False, 10, 0, 5, None)
    snap = SimpleNamespace(id="c1", name="web", tty=False)
    _, searched = await _read_one(NoEngine(), snap, plan, budget, 0.0, budget.reserve())  # type: ignore[arg-type]
    assert searched["truncation"] == [reason]


# --- the SQLite trail's rate key --------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "key", "counted"),
    [("edge-1", None, "c1@edge-1"), (None, None, "c1"), ("edge-1", "engine:E/c1", "engine:E/c1")],
)
def test_an_older_fleet_row_is_counted_by_id_at_host(tmp_path, host, key, counted):
    """A row without target_key counts as 'id@host' in a fleet (per host), else its id."""
    sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
    row = AuditRecord(
        time="t",
        ts=100.0,
        tool="docker_restart_container",
        decision="allowed",
        outcome="ok",
        container_id="c1",
        host=host,
        target_key=key,
    )
    seen: list[Any] = []

    def judge(entries: list[Any]) -> None:
        seen.extend(entries)

    async def go() -> None:
        await sink.write(row)
        nxt = row.model_copy(update={"id": "next"})
        await sink.admit(nxt, AuditQuery(since=0.0), judge)
        await sink.close()

    asyncio.run(go())
    assert [(entry.tool, entry.key) for entry in seen] == [("docker_restart_container", counted)]


# --- the watch ----------------------------------------------------------------------------


def test_a_since_before_1970_is_clamped_to_the_epoch():
    """'3d' one day after the epoch starts at 0 (the engine knows nothing before 1970)."""
    now = datetime(1970, 1, 2, tzinfo=UTC)
    assert _start("3d", now) == "0.000000000"
    assert _start("1h", now) == "82800.000000000"


def test_the_replay_dedupe_set_forgets_the_oldest_keys():
    """The follower remembers the last _REMEMBERED events' keys only (bounded memory)."""
    follower = _HostFollower(None, None, asyncio.Queue(), None, {})  # type: ignore[arg-type]
    keys = [(str(n), "id", "die", "") for n in range(_REMEMBERED + 5)]
    for key in keys:
        follower._remember(key)
    assert len(follower.known) == _REMEMBERED
    assert keys[0] not in follower.known
    assert keys[4] not in follower.known
    assert keys[5] in follower.known
    assert keys[-1] in follower.known


def _event(action: str, second: float, cid: str) -> Any:
    moment = datetime.fromtimestamp(
        datetime(2026, 11, 29, 10, tzinfo=UTC).timestamp() + second, UTC
    )
    return {
        "time": moment.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),
        "type": "container",
        "action": action,
        "detail": None,
        "actor_id": cid,
        "actor_name": "web",
        "exit_code": None,
        "attributes": {"name": "web"},
    }


def test_the_sweep_keeps_a_container_whose_oom_may_still_fold():
    """A sweep 30 s after an oom keeps it: an oom at 40 s folds into it, no new incident."""
    now = [datetime(2026, 11, 29, 10, tzinfo=UTC).timestamp()]
    detector = IncidentDetector(clock=lambda: now[0], hold_s=0)
    web, other = "a" * 64, "b" * 64
    fired = detector.feed(_event("oom", 0, web)) + detector.due()
    assert [(i["kind"], i["status"]) for i in fired] == [("oom_killed", "firing")]
    now[0] += 30
    for n in range(999):  # the 1000th event fed sweeps
        assert detector.feed(_event("start", 30 + n / 1000, other)) == []
    now[0] += 10
    assert detector.feed(_event("oom", 40, web)) + detector.due() == []


# --- the healer ---------------------------------------------------------------------------


async def test_invalid_arguments_from_a_health_read_is_a_refusal_never_retried():
    """An inspect refused as invalid_arguments is heal_denied at once: no backoff, no retry."""
    refused = {"type": "invalid_arguments", "message": "container_id: bad"}
    runner = FakeRunner(health=[refused], waits=[])
    clock = HealClock()
    healer = Healer(runner, HealRules(restart_unhealthy=True), sleep=clock.sleep, clock=clock)
    healer.consider(unhealthy())
    reports = await settle(healer)
    assert [r["kind"] for r in reports] == ["heal_denied"]
    assert runner.tools() == ["docker_inspect_container"]


async def test_failed_heals_outside_the_window_are_forgotten():
    """max_attempts 2 in 100 s: a failure, a heal, then a failure 5000 s later: no escalation."""
    rules = HealRules(restart_unhealthy=True, grace_s=1, backoff_s=10, max_attempts=2, window_s=100)
    runner = FakeRunner(health=["unhealthy"] * 4, waits=[False, True, False, True])
    clock = HealClock()
    healer = Healer(runner, rules, sleep=clock.sleep, clock=clock)
    healer.consider(unhealthy())
    first = await settle(healer)
    assert [r["kind"] for r in first][-1] == "healed"
    clock.now += 5000
    healer.consider(unhealthy())
    second = await settle(healer)
    assert "escalated" not in [r["kind"] for r in second]
    assert [r["kind"] for r in second][-1] == "healed"
    assert clock.slept[-1] == 10  # the first backoff again, not a doubled one


# --- the argument bounds ------------------------------------------------------------------


def test_non_finite_floats_are_spelled_as_json_names():
    """NaN, Infinity and -Infinity, at any depth."""
    assert finite([float("nan"), float("inf"), -float("inf"), 1.0]) == [
        "NaN",
        "Infinity",
        "-Infinity",
        1.0,
    ]
    assert finite({"a": (-float("inf"),)}) == {"a": ["-Infinity"]}


def test_keys_count_in_the_size_string_keys_by_length_others_as_one():
    """{key: ''} is 3 + len(key) characters: at the bound it passes, one more is refused."""
    at_bound = {"k" * (MAX_ARGUMENT_CHARS - 3): ""}
    assert shape_problem(at_bound) is None
    assert shape_problem({"k" * (MAX_ARGUMENT_CHARS - 2): ""}) is not None
    ints = (MAX_ARGUMENT_CHARS - 1) // 3  # 1 + 3 per entry (entry, key, value)
    assert shape_problem(dict.fromkeys(range(ints), "")) is None
    assert shape_problem(dict.fromkeys(range(ints + 1), "")) is not None


def test_json_text_of_exactly_the_size_bound_is_parsed():
    """A JSON string of MAX_ARGUMENT_CHARS characters is within bounds; one more is not."""
    text = '"' + "a" * (MAX_ARGUMENT_CHARS - 2) + '"'
    assert len(loads(text)) == MAX_ARGUMENT_CHARS - 2
    with pytest.raises(ValueError, match="larger than"):
        loads('"' + "a" * (MAX_ARGUMENT_CHARS - 1) + '"')


def test_closing_brackets_do_not_hide_a_deep_nesting_after_them():
    """Many closed pairs, then 50,000 opens: refused before parsing (no RecursionError)."""
    text = "[" + "[]," * 100_000 + "[" * 50_000 + "]" * 50_000 + "]"
    with pytest.raises(ValueError, match="nests deeper than 16 levels"):
        loads(text)


@pytest.mark.parametrize("text", ["NaN", "[1, Infinity]", '{"a": -Infinity}'])
def test_loads_refuses_non_finite_numbers_naming_them(text):
    """NaN and Infinity are not JSON: refused with what to send instead."""
    with pytest.raises(ValueError, match="is not a JSON number; send a finite number"):
        loads(text)


def test_loads_measures_the_parsed_value_too():
    r"""A '\ud800' escape is a lone surrogate only once parsed: refused, saying so."""
    with pytest.raises(ValueError, match="lone surrogate"):
        loads('["\\ud800"]')


def test_a_string_counts_its_characters_in_the_size():
    """A string of MAX_ARGUMENT_CHARS - 1 characters is within bounds (1 + its length)."""
    assert shape_problem("a" * (MAX_ARGUMENT_CHARS - 1)) is None
    assert shape_problem(["a" * MAX_ARGUMENT_CHARS]) == (
        f"is larger than {MAX_ARGUMENT_CHARS} characters in all"
    )


def test_a_lone_surrogate_is_named_as_not_unicode():
    """Text with a lone surrogate is refused with the reason, word for word."""
    assert shape_problem({"a": ["\ud800"]}) == (
        "holds text that is not valid Unicode (a lone surrogate)"
    )


def test_a_list_at_or_past_the_bound_by_its_length_alone_is_refused():
    """A list whose own length reaches the bound is refused, not cut short and passed."""
    larger = f"is larger than {MAX_ARGUMENT_CHARS} characters in all"
    assert shape_problem([""] * (MAX_ARGUMENT_CHARS - 1)) == larger  # 1 + n, then n items
    assert shape_problem([""] * (MAX_ARGUMENT_CHARS + 1)) == larger
    assert shape_problem([""] * ((MAX_ARGUMENT_CHARS - 1) // 2)) is None


def _nested_lists(levels: int) -> list[object]:
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_lists_nested_past_the_depth_bound_are_refused():
    """16 lists one in another pass; 17 nest too deep (lists count depth as dicts do)."""
    assert shape_problem(_nested_lists(16)) is None
    assert shape_problem(_nested_lists(17)) == "nests deeper than 16 levels"
