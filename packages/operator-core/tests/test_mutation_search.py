r"""The log search's promises, pinned whole (issue 20: mutants of docker/diagnosis/search.py).

What a search asks the engine for (stdout, stderr, timestamps, tail, since, the listing's
Compose filters), its whole result, each bad argument's message and each bound's edge,
the lines at the edges of the stream (a last line without newline, a line after a long
one, after-context across pieces, ``$`` over a chunk), how lines are shown (bad UTF-8, a
CR) and the deadline kept back. The engine is scripted (``test_docker_diagnosis.Engine``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from engine_fakes import Reply, fake_client, frame, refused
from operator_core.deadline import Deadline, within
from operator_core.docker import DockerActionExecutor
from operator_core.docker.diagnosis import search as search_module
from operator_core.docker.diagnosis.reading import Pumped
from operator_core.docker.diagnosis.search import (
    MAX_SEARCH_LINE_BYTES,
    MAX_SHOWN_LINE_BYTES,
    _Budget,
    _Matcher,
    compile_pattern,
)
from operator_core.errors import InvalidInput, OperationTimeout
from operator_core.limits import MAX_SEARCH_CONTAINERS, MAX_SEARCH_TAIL
from test_docker_diagnosis import CID, DB, HOUR_AGO, NOW, Engine, log, logs_of

STAMP = b"2026-11-29T10:00:00.000000000Z "


@pytest.fixture
def fake() -> Engine:
    """The scripted engine: containers web and db, their logs empty unless scripted."""
    return Engine()


@pytest.fixture
def executor(fake: Engine) -> DockerActionExecutor:
    """An executor whose engine is the scripted one."""
    api, _ = fake_client(fake)
    return DockerActionExecutor(api=api)


def matcher(pattern: str, context: int = 0, *, regex: bool = False) -> _Matcher:
    """Return the stdout matcher of ``pattern`` with room for ten matches."""
    return _Matcher(
        "stdout", compile_pattern(pattern, regex=regex, ignore_case=False), context, _Budget(10)
    )


def lines(*texts: bytes) -> bytes:
    """Return ``texts`` as timestamped log lines."""
    return b"".join(STAMP + text + b"\n" for text in texts)


# --- what is asked and what comes back ------------------------------------------------------


async def test_a_search_asks_for_both_streams_with_timestamps_and_returns_a_whole_result(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """One GET per log with stdout, stderr, timestamps and the tail; the result says it all."""
    fake.logs[CID] = log(logs_of("hit", "miss"))
    result = await executor.search_logs("hit", refs=["web"], tail=50)
    assert [(m, p) for m, p, _ in fake.commands if p.endswith("/logs")] == [
        ("GET", f"/containers/{CID}/logs")
    ]
    assert fake.paths(f"/containers/{CID}/logs") == [
        {"stdout": "1", "stderr": "1", "timestamps": "1", "tail": "50"}
    ]
    assert result == {
        "pattern": "hit",
        "regex": False,
        "matches": [
            {
                "container_id": CID,
                "name": "web",
                "time": "2026-11-29T10:00:00.000000000Z",
                "stream": "stdout",
                "line": "hit",
                "before": [],
                "after": [],
            }
        ],
        "match_count": 1,
        "containers": [
            {"container_id": CID, "name": "web", "lines_read": 2, "matches": 1, "truncation": []}
        ],
        "not_searched": [],
        "missing": [],
        "truncated": False,
        "truncation": [],
    }


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
async def test_since_asks_the_engine_for_the_log_from_that_unix_time(
    executor: DockerActionExecutor, fake: Engine, zone: str
) -> None:
    """since="1h" at NOW is NOW less an hour, whatever the local zone; none: the whole log."""
    with time_machine.travel(NOW.astimezone(ZoneInfo(zone)), tick=False):
        await executor.search_logs("x", refs=["web"], since="1h")
        await executor.search_logs("x", refs=["web"])
    asked = fake.paths(f"/containers/{CID}/logs")
    assert [params.get("since") for params in asked] == [HOUR_AGO, None]


async def test_since_an_hour_ago_is_an_hour_ago_across_a_clock_change(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """At the second 01:30 of New York's autumn change (06:30Z), 1h ago is 05:30Z.

    Counted back on the local wall clock it would be 00:30 EDT (04:30Z), two hours ago.
    """
    at = datetime(2026, 11, 1, 6, 30, tzinfo=UTC).astimezone(ZoneInfo("America/New_York"))
    with time_machine.travel(at, tick=False):
        await executor.search_logs("x", refs=["web"], since="1h")
    (asked,) = fake.paths(f"/containers/{CID}/logs")
    assert asked["since"] == "1793511000.000000000"


async def test_without_refs_the_listing_filters_by_label_project_and_service(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """Labels, the Compose project and service all reach the listing's label filter."""
    await executor.search_logs("x", label="tier=db", compose_project="shop", service="api")
    (listing,) = fake.paths("/containers/json")
    assert sorted(json.loads(listing["filters"])["label"]) == [
        "com.docker.compose.project=shop",
        "com.docker.compose.service=api",
        "tier=db",
    ]
    assert listing["all"] == "1"


async def test_a_ref_named_twice_is_searched_once(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """The same container named twice is one container of the result."""
    fake.logs[CID] = log(logs_of("hit"))
    result = await executor.search_logs("hit", refs=["web", "web"])
    assert [c["name"] for c in result["containers"]] == ["web"]
    assert result["match_count"] == 1


async def test_missing_lists_unknown_refs_then_containers_gone_before_their_read(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """A ref no container answers to and one removed before its log was read: both missing."""
    fake.logs[CID] = refused(404, f"No such container: {CID}")
    fake.logs[DB] = log(logs_of("hit"))
    result = await executor.search_logs("hit", refs=["nosuch", "web", "db"])
    assert result["missing"] == ["nosuch", "web"]
    assert [c["name"] for c in result["containers"]] == ["db"]


async def test_one_match_wanted_stops_the_search_at_the_first(
    executor: DockerActionExecutor, fake: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """max_matches=1: the first match ends the search; db is not read; the result says why."""
    monkeypatch.setattr(search_module, "SEARCH_READERS", 1)
    fake.logs[CID] = Reply([frame(1, lines(b"hit 1")), frame(1, lines(b"hit 2"))])
    fake.logs[DB] = log(logs_of("hit 3"))
    result = await executor.search_logs("hit", refs=["web", "db"], max_matches=1)
    assert [m["line"] for m in result["matches"]] == ["hit 1"]
    assert result["not_searched"] == ["db"]
    assert (result["truncated"], result["truncation"]) == (True, ["max_matches"])


# --- arguments: each fault's message, each bound's edge ---------------------------------------

BAD = [
    ({"pattern": 5}, "pattern must be a non-empty string"),
    ({"pattern": ""}, "pattern must be a non-empty string"),
    ({"pattern": "x" * 1001}, "pattern is 1001 characters long; at most 1000"),
    ({"pattern": "x", "regex": "yes"}, "regex must be true or false, got str"),
    ({"pattern": "x", "ignore_case": 1}, "ignore_case must be true or false, got int"),
    (
        {"pattern": r"(a)\1", "regex": True},
        "pattern is not a regular expression RE2 accepts (invalid escape sequence)",
    ),
    ({"pattern": "x", "tail": 1.5}, "tail must be a whole number, got float"),
    ({"pattern": "x", "tail": True}, "tail must be a whole number, got bool"),
    ({"pattern": "x", "tail": 0}, "tail must be from 1 to 1000000, got 0"),
    ({"pattern": "x", "tail": MAX_SEARCH_TAIL + 1}, "tail must be from 1 to 1000000, got 1000001"),
    ({"pattern": "x", "context": -1}, "context must be from 0 to 10, got -1"),
    ({"pattern": "x", "max_matches": 1001}, "max_matches must be from 1 to 1000, got 1001"),
    ({"pattern": "x", "refs": "web"}, "refs must be a list of container names or ids, got 'web'"),
    ({"pattern": "x", "refs": 7}, "refs must be a list of container names or ids, got 7"),
    ({"pattern": "x", "refs": []}, "refs takes 1 to 200 containers, got 0"),
    ({"pattern": "x", "refs": ["c"] * 201}, "refs takes 1 to 200 containers, got 201"),
]


@pytest.mark.parametrize(("kwargs", "said"), BAD)
async def test_each_bad_argument_is_refused_saying_what_is_wrong(
    executor: DockerActionExecutor, fake: Engine, kwargs: dict[str, Any], said: str
) -> None:
    """InvalidInput with the fault in words (what, the bound, what was given); no request."""
    with pytest.raises(InvalidInput) as caught:
        await executor.search_logs(**kwargs)
    assert str(caught.value) == said
    assert fake.commands == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pattern": "x" * 1000},
        {"pattern": "x", "tail": 1},
        {"pattern": "x", "tail": MAX_SEARCH_TAIL},
        {"pattern": "x", "context": 10},
        {"pattern": "x", "max_matches": 1000},
        {"pattern": "x", "refs": ("web",)},
    ],
)
async def test_every_bound_takes_its_own_edge(
    executor: DockerActionExecutor, fake: Engine, kwargs: dict[str, Any]
) -> None:
    """A value at a bound is a search, not an error."""
    kwargs.setdefault("refs", ["web"])
    result = await executor.search_logs(**kwargs)
    assert [c["name"] for c in result["containers"]] == ["web"]


async def test_as_many_refs_as_allowed_are_taken(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """MAX_SEARCH_CONTAINERS refs: a search (the unknown ones are missing)."""
    refs = ["web"] + [f"c{i}" for i in range(MAX_SEARCH_CONTAINERS - 1)]
    result = await executor.search_logs("x", refs=refs)
    assert len(result["missing"]) == MAX_SEARCH_CONTAINERS - 1


def test_a_bad_regex_writes_nothing_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """RE2's own error log stays quiet: the reason is in the InvalidInput only."""
    with pytest.raises(InvalidInput):
        compile_pattern("a)|(b", regex=True, ignore_case=False)
    assert capfd.readouterr().err == ""


def test_ignore_case_of_a_plain_pattern_takes_its_characters_literally() -> None:
    """'a.b' with ignore_case matches 'A.B', not 'axb': a plain pattern is no regex."""
    search = compile_pattern("a.b", regex=False, ignore_case=True)
    assert (search.line(b"A.B"), search.line(b"axb")) == (True, False)


@pytest.mark.parametrize(
    ("pattern", "regex", "ignore_case"),
    [("needle", False, True), ("need+le", True, False), ("needle$", True, True)],
)
def test_a_chunk_without_the_pattern_is_ruled_out_at_once(
    pattern: str, regex: bool, ignore_case: bool
) -> None:
    """Unless a chunk would change the pattern's meaning, a chunk without it says no."""
    search = compile_pattern(pattern, regex=regex, ignore_case=ignore_case)
    assert search.chunk(lines(b"hay", b"straw")) is False
    assert search.chunk(lines(b"hay", b"a needle", b"straw")) is True


# --- the stream's edges -----------------------------------------------------------------------


def test_a_last_line_without_a_newline_is_searched_and_a_tty_one_shown_without_its_cr() -> None:
    """A log ending without a newline still has its last line tested; a CR before it goes."""
    plain = matcher("done")
    plain.feed(STAMP + b"done")
    plain.close()
    tty = matcher("done$", regex=True)
    tty.feed(STAMP + b"start\r\n" + STAMP + b"done\r")
    tty.close()
    assert [m["line"] for m in plain.found + tty.found] == ["done", "done"]
    assert (plain.lines, tty.lines) == (1, 2)


def test_after_context_continues_into_the_next_piece() -> None:
    """A match ending one piece takes its after-context from the next, which has no match."""
    found = matcher("hit", 2)
    found.feed(lines(b"a", b"hit"))
    found.feed(lines(b"b", b"c", b"d"))
    found.close()
    assert [(m["before"], m["after"]) for m in found.found] == [(["a"], ["b", "c"])]


@pytest.mark.parametrize("context", [3, 4])
def test_after_context_holds_exactly_context_lines(context: int) -> None:
    """context=N gives N lines after a match, never fewer, though more lines follow."""
    found = matcher("hit", context)
    found.feed(lines(b"hit", b"1", b"2", b"3", b"4", b"5"))
    found.close()
    assert found.found[0]["after"] == ["1", "2", "3", "4", "5"][:context]


def test_a_line_end_anchor_matches_a_line_inside_a_chunk() -> None:
    """'timeout$' finds 'read timeout' though lines follow it in the same piece."""
    found = matcher("timeout$", regex=True)
    found.feed(lines(b"read timeout", b"later", b"timeout again soon"))
    found.close()
    assert [m["line"] for m in found.found] == ["read timeout"]


def test_the_lines_after_a_long_one_are_all_searched() -> None:
    """After a line past MAX_SEARCH_LINE_BYTES, each later line is searched, whatever the cuts.

    The long line's newline may start the next piece; later pieces each start a line.
    """
    found = matcher("hit")
    found.feed(STAMP + b"x" * (MAX_SEARCH_LINE_BYTES + 10))
    found.feed(b"\n" + lines(b"hit 1"))
    found.feed(lines(b"hit 2"))
    found.feed(b"".join([STAMP, b"x" * (MAX_SEARCH_LINE_BYTES + 10), b"\n", STAMP, b"hit 3\n"]))
    found.feed(lines(b"hit 4"))
    found.close()
    assert [m["line"] for m in found.found] == ["hit 1", "hit 2", "hit 3", "hit 4"]


# --- how a line is shown ----------------------------------------------------------------------


def test_bytes_that_are_not_utf8_are_shown_as_replacement_characters() -> None:
    """A line with invalid UTF-8 is shown, with U+FFFD for the bad bytes, never an error."""
    found = matcher("bad")
    found.feed(lines(b"bad \xff\xfe byte"))
    found.close()
    assert [m["line"] for m in found.found] == ["bad \ufffd\ufffd byte"]


def test_only_a_trailing_cr_is_dropped_from_a_shown_line() -> None:
    """A CR that starts a line (a progress bar) stays; one left at the display cut goes."""
    found = matcher("bar")
    cut = b"bar" + b"y" * (MAX_SHOWN_LINE_BYTES - 4) + b"\rtail"
    found.feed(lines(b"\rbar 100%", cut))
    found.close()
    shown = [m["line"] for m in found.found]
    assert shown[0] == "\rbar 100%"
    assert shown[1] == "bar" + "y" * (MAX_SHOWN_LINE_BYTES - 4)


def test_a_line_without_the_engines_timestamp_has_no_time() -> None:
    """A line that does not start with a timestamp: time is None, the whole line is its text."""
    found = matcher("plain")
    found.feed(b"plain words here\n")
    found.close()
    assert [(m["time"], m["line"]) for m in found.found] == [(None, "plain words here")]


def test_a_timestamp_that_is_not_ascii_is_shown_with_replacement_characters() -> None:
    """A stamp with non-ASCII bytes is shown with U+FFFD for each, never an error."""
    found = matcher("text")
    found.feed("2é text\n".encode())
    found.close()
    assert [(m["time"], m["line"]) for m in found.found] == [("2\ufffd\ufffd", "text")]


# --- the deadline -----------------------------------------------------------------------------


class Clock:
    """``time.monotonic`` for the search module: ``now``, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


@pytest.mark.parametrize(("deadline", "until"), [(10.0, 1008.0), (4.0, 1003.0)])
async def test_the_reading_ends_before_the_calls_deadline_to_return_what_it_found(
    fake: Engine, monkeypatch: pytest.MonkeyPatch, deadline: float, until: float
) -> None:
    """Reading stops SEARCH_MARGIN_S (2 s) before the deadline, or a quarter of a short one."""
    seen: list[dict[str, Any]] = []

    async def pump(pieces: Any, sinks: Any, **bounds: Any) -> Pumped:
        seen.append(bounds)
        return Pumped(None, 0)

    monkeypatch.setattr(search_module, "time", SimpleNamespace(monotonic=Clock(1000.0).monotonic))
    monkeypatch.setattr(search_module, "pump", pump)
    api, _ = fake_client(fake)
    executor = DockerActionExecutor(api=api, call_deadline=deadline)
    await executor.search_logs("x", refs=["web"])
    (bounds,) = seen
    assert bounds["deadline_at"] == until
    assert bounds["max_read"] > 0


async def test_containers_whose_turn_comes_after_the_deadline_are_not_searched(
    fake: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the time to read is over, the rest are listed in not_searched, with 'deadline'."""
    clock = Clock(1000.0)

    async def late(*_: Any, **__: Any) -> Any:
        clock.now = 1008.0  # the listing took all the time there was, to the instant
        return [SimpleNamespace(id=CID, name="web", tty=False)], []

    monkeypatch.setattr(search_module, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(search_module, "chosen_targets", late)
    api, _ = fake_client(fake)
    executor = DockerActionExecutor(api=api, call_deadline=10.0)  # reading ends at 1008 s
    result = await executor.search_logs("x", refs=["web"])
    assert (result["not_searched"], result["containers"]) == (["web"], [])
    assert (result["truncated"], result["truncation"]) == (True, ["deadline"])


async def test_stderr_lines_have_their_context_as_stdout_lines_do(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """A match on stderr has its before and after lines, from stderr."""
    fake.logs[CID] = log(logs_of("out"), logs_of("e1", "boom", "e2", "e3"))
    result = await executor.search_logs("boom", refs=["web"], context=1)
    assert [(m["stream"], m["before"], m["after"]) for m in result["matches"]] == [
        ("stderr", ["e1"], ["e2"])
    ]


async def test_a_reader_stops_at_once_when_the_matches_wanted_are_found(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """The match that makes max_matches ends that log's reading: later pieces are not read."""
    fake.logs[CID] = Reply([frame(1, lines(b"hit")), frame(1, lines(b"a")), frame(1, lines(b"b"))])
    result = await executor.search_logs("hit", refs=["web"], max_matches=1)
    assert result["containers"] == [
        {
            "container_id": CID,
            "name": "web",
            "lines_read": 1,
            "matches": 1,
            "truncation": ["max_matches"],
        }
    ]


async def test_a_regex_is_case_sensitive_unless_asked(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """A regex alone is case sensitive: 'err.r' does not match 'ERROR'; with ignore_case it does."""
    fake.logs[CID] = log(logs_of("ERROR one", "error two"))
    exact = await executor.search_logs("err.r", refs=["web"], regex=True)
    folded = await executor.search_logs("err.r", refs=["web"], regex=True, ignore_case=True)
    assert [m["line"] for m in exact["matches"]] == ["error two"]
    assert [m["line"] for m in folded["matches"]] == ["ERROR one", "error two"]


def test_a_bad_regexs_reason_is_re2s_first_words_only() -> None:
    """The reason is what RE2 said before its first colon, not the pattern it echoes."""
    with pytest.raises(InvalidInput) as caught:
        compile_pattern("(a:b", regex=True, ignore_case=False)
    assert str(caught.value) == "pattern is not a regular expression RE2 accepts (missing ))"


async def test_a_match_without_a_timestamp_comes_before_the_timed_ones(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """Matches are in time order; one whose line has no engine timestamp sorts first."""
    fake.logs[CID] = log(logs_of("hit timed") + b"hit untimed\n")
    result = await executor.search_logs("hit", refs=["web"])
    assert [(m["time"], m["line"]) for m in result["matches"]] == [
        (None, "hit untimed"),
        ("2026-11-29T10:00:00.000000000Z", "hit timed"),
    ]


async def test_a_search_after_the_calls_deadline_says_it_was_the_search(
    executor: DockerActionExecutor, fake: Engine
) -> None:
    """A search whose call has no time left is refused naming the search, with no request."""
    now = iter([100.0, 106.0])  # made at 100 s with 5 s to go; asked at 106 s
    passed = Deadline(5.0, clock=lambda: next(now))
    with within(passed), pytest.raises(OperationTimeout) as caught:
        await executor.search_logs("x", refs=["web"])
    assert str(caught.value) == "search logs: the call's deadline had passed; nothing was run"
    assert fake.commands == []


async def test_the_last_byte_of_the_read_cap_is_still_read(
    executor: DockerActionExecutor, fake: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one byte left to read, a reader takes it (and says read_cap), not nothing."""
    monkeypatch.setattr(search_module, "MAX_SEARCH_READ_BYTES", 1)
    fake.logs[CID] = log(logs_of("hit"))
    result = await executor.search_logs("hit", refs=["web"])
    assert [(c["name"], c["truncation"]) for c in result["containers"]] == [("web", ["read_cap"])]
    assert result["truncation"] == ["read_cap"]
