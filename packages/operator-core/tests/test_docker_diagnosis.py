"""Unit tests of the diagnosis reads: get_events, container_stats and container_top.

``docker events`` is replaced by a local process printing what the engine would (so the
real pipe reading, limits and kills run); ``docker stats``/``top`` by the mocked CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from unittest.mock import MagicMock, patch

import pytest
import time_machine

from operator_core.docker.diagnosis import events as events_module
from operator_core.docker.diagnosis import search as search_module
from operator_core.docker.diagnosis.events import (
    ENGINE_BUFFER_MARGIN,
    ENGINE_EVENT_BUFFER,
    parse_event,
)
from operator_core.docker.diagnosis.stats import parse_size, parse_stats
from operator_core.errors import ContainerNotFound, EngineError, InvalidInput
from operator_core.testing import inspect_result
from process_fakes import FakeDocker

CID = "0123456789ab" * 5 + "cdef"
#: As many events as make the engine's memory full (less the margin of the rule).
FULL = ENGINE_EVENT_BUFFER - ENGINE_BUFFER_MARGIN
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.fixture
def fake(client: MagicMock) -> Iterator[FakeDocker]:
    """The docker processes replaced by scripted local ones."""
    double = FakeDocker()
    with patch("operator_core.docker._engine.capture._spawn", double):
        yield double


@pytest.fixture
def frozen() -> Iterator[None]:
    """The wall clock pinned at NOW."""
    with time_machine.travel(NOW, tick=False):
        yield


def event(action: str, name: str = "web", nanos: int = 0, **attributes: str) -> dict[str, object]:
    """Return one event as ``docker events --format '{{json .}}'`` prints it."""
    base = 1_764_410_400_000_000_000  # 2025-11-29T10:00:00Z
    return {
        "Type": "container",
        "Action": action,
        "Actor": {"ID": CID, "Attributes": {"name": name, "image": "busybox", **attributes}},
        "scope": "local",
        "time": (base + nanos) // 1_000_000_000,
        "timeNano": base + nanos,
    }


def printed(*items: dict[str, object]) -> bytes:
    """Return the stream ``docker events`` prints for ``items``."""
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def option_values(command: list[str], name: str) -> list[str]:
    """Return every value following ``name`` in ``command``."""
    return [command[i + 1] for i, word in enumerate(command) if word == name]


# --- events ------------------------------------------------------------------------------


async def test_events_ask_the_engine_for_a_closed_window_with_filters(executor, fake, frozen):
    """The window always has an until (now by default), so docker events never follows."""
    fake.scripts.append((b"", b"", 0))
    result = await executor.get_events(
        "1h", container="web", types=["container"], actions=["die", "oom"]
    )
    command = fake.commands[0]
    assert command[1:4] == ["system", "events", "--format"]
    assert option_values(command, "--since") == ["1h"]
    assert option_values(command, "--until") == ["2026-11-29T10:00:00.000000000Z"]
    assert option_values(command, "--filter") == [
        "container=web",
        "type=container",
        "event=die",
        "event=oom",
    ]
    assert result["until"] == "2026-11-29T10:00:00Z"
    assert result["until_clamped"] is False
    assert result["events"] == []


async def test_events_an_until_in_the_future_is_cut_to_now(executor, fake, frozen):
    """A later until would make docker events wait for it; it is cut to now, and said."""
    fake.scripts.append((b"", b"", 0))
    result = await executor.get_events("10m", until="2026-11-29T12:00:00Z")
    assert option_values(fake.commands[0], "--until") == ["2026-11-29T10:00:00.000000000Z"]
    assert result["until_clamped"] is True


@pytest.mark.parametrize(
    "kwargs",
    [
        {"since": None},
        {"since": "yesterday"},
        {"since": "2026-11-29T10:00:00Z", "until": "2026-11-29T10:00:00Z"},
        {"since": "10m", "until": "1h"},
        {"since": "1h", "limit": 0},
        {"since": "1h", "limit": 10_001},
        {"since": "1h", "limit": True},
        {"since": "1h", "types": ["bogus"]},
        {"since": "1h", "types": "container"},
        {"since": "1h", "actions": ["Die!"]},
        {"since": "1h", "container": "-rm"},
        {"since": "1h", "service": "a b"},
    ],
)
async def test_events_bad_arguments_start_no_process(executor, fake, frozen, kwargs):
    """Every malformed argument is InvalidInput before any docker process starts."""
    with pytest.raises(InvalidInput):
        await executor.get_events(**kwargs)
    assert fake.commands == []


async def test_events_report_exit_codes_and_health_details(executor, fake, frozen):
    """A die event has its exit code; health_status: unhealthy is split in action and detail."""
    fake.scripts.append(
        (
            printed(
                event("die", exitCode="3"),
                event("health_status: unhealthy", nanos=5),
            ),
            b"",
            0,
        )
    )
    result = await executor.get_events("1h")
    died, health = result["events"]
    assert (died["action"], died["exit_code"], died["actor_name"]) == ("die", 3, "web")
    assert died["time"] == "2025-11-29T10:00:00.000000000Z"
    assert (health["action"], health["detail"], health["exit_code"]) == (
        "health_status",
        "unhealthy",
        None,
    )
    assert result["count"] == result["seen"] == 2
    assert result["truncated"] is False


async def test_events_over_the_limit_keep_the_newest_and_say_so(executor, fake, frozen):
    """With more events than limit, the newest limit are kept, seen counts all of them."""
    fake.scripts.append((printed(*(event("start", nanos=i) for i in range(10))), b"", 0))
    result = await executor.get_events("1h", limit=3)
    assert [e["time"][-3:] for e in result["events"]] == ["07Z", "08Z", "09Z"]
    assert (result["count"], result["seen"]) == (3, 10)
    assert result["truncation"] == ["limit"]


async def test_events_as_many_as_the_engine_keeps_say_older_ones_may_be_gone(
    executor, fake, frozen
):
    """256 events is the engine's whole memory: the result says the window may miss some.

    Less a margin: events that came while the read started pushed old ones out, but end
    after the read's end, so they are not in the answer.
    """
    assert FULL == 224
    fake.scripts.append((printed(*(event("start", nanos=i) for i in range(FULL))), b"", 0))
    result = await executor.get_events("1h", limit=1000)
    assert (result["count"], result["truncated"]) == (FULL, True)
    assert result["truncation"] == ["engine_buffer"]
    fake.scripts.append((printed(*(event("start", nanos=i) for i in range(FULL - 1))), b"", 0))
    assert (await executor.get_events("1h", limit=1000))["truncated"] is False


def stamps(count: int, first_nanos: int = 0) -> bytes:
    """Return what the buffer probe (``--format {{.TimeNano}}``) prints for ``count`` events."""
    base = 1_764_410_400_000_000_000
    return b"".join(b"%d\n" % (base + first_nanos + i) for i in range(count))


async def test_events_a_filtered_query_warns_exactly_as_an_unfiltered_one(executor, fake, frozen):
    """A filter hides how many events came: an unfiltered read from since to now counts them.

    The filtered read finds nothing; the probe (times only, no filter, until now) finds the
    engine's memory full: the answer says older events may be gone, and from when the engine knows.
    """
    fake.scripts += [(b"", b"", 0), (stamps(FULL, first_nanos=7), b"", 0)]
    result = await executor.get_events("5m", container="web", actions=["oom"])
    main, probe = fake.commands
    assert option_values(main, "--filter") == ["container=web", "event=oom"]
    assert option_values(probe, "--filter") == []
    assert option_values(probe, "--format") == ["{{.TimeNano}}"]
    assert option_values(probe, "--since") == ["5m"]
    assert option_values(probe, "--until") == ["2026-11-29T10:00:00.000000000Z"]
    assert result["events"] == []
    assert result["truncation"] == ["engine_buffer"]
    assert result["engine_oldest"] == "2025-11-29T10:00:00.000000007Z"
    fake.scripts += [(b"", b"", 0), (stamps(FULL - 1), b"", 0)]
    assert (await executor.get_events("5m", container="web"))["truncated"] is False


async def test_events_a_window_that_ended_counts_the_buffer_up_to_now(executor, fake, frozen):
    """The engine's 256 include the events after until: those push the window out too."""
    fake.scripts += [(printed(event("die", exitCode="1")), b"", 0), (stamps(FULL), b"", 0)]
    result = await executor.get_events("1h", until="30m")
    assert option_values(fake.commands[1], "--until") == ["2026-11-29T10:00:00.000000000Z"]
    assert result["truncation"] == ["engine_buffer"]
    assert result["count"] == 1


async def test_events_an_unfiltered_query_up_to_now_needs_no_probe(executor, fake, frozen):
    """Without filters and until, the read itself counts the buffer: one docker process."""
    fake.scripts.append((printed(event("start")), b"", 0))
    result = await executor.get_events("1h")
    assert len(fake.commands) == 1
    assert result["engine_oldest"] == "2025-11-29T10:00:00.000000000Z"


async def test_events_an_overlong_line_is_dropped_and_counted(executor, monkeypatch, fake, frozen):
    """A line past MAX_EVENT_LINE_BYTES is skipped whole; the lines around it survive."""
    monkeypatch.setattr(events_module, "MAX_EVENT_LINE_BYTES", 400)
    big = event("start", nanos=1, **{"label": "x" * 1000})
    fake.scripts.append((printed(event("create"), big, event("die", nanos=2)), b"", 0))
    result = await executor.get_events("1h")
    assert [e["action"] for e in result["events"]] == ["create", "die"]
    assert result["truncation"] == ["long_line"]


async def test_events_engine_refusal_is_an_engine_error(executor, fake, frozen):
    """A docker events that fails says the daemon's reason as an EngineError."""
    fake.scripts.append((b"", b"Error response from daemon: bad filter\n", 1))
    with pytest.raises(EngineError, match="bad filter"):
        await executor.get_events("1h")


def test_parse_event_takes_seconds_when_nanoseconds_are_missing():
    """An event without timeNano (older engines) keeps its second, with zero nanoseconds."""
    raw = event("stop")
    del raw["timeNano"]
    assert parse_event(raw)["time"] == "2025-11-29T10:00:00.000000000Z"


def test_parse_event_hides_secrets_in_an_exec_command():
    """An exec_start's detail is the command run; a password in it is redacted."""
    raw = event("exec_start: mysql -pS3cretPw -e 'select 1'")
    parsed = parse_event(raw)
    assert parsed["action"] == "exec_start"
    assert parsed["detail"] == "mysql -p[REDACTED] -e 'select 1'"


# --- stats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0B", 0),
        ("356KiB", 364_544),
        ("1.5MiB", 1_572_864),
        ("23.54GiB", round(23.54 * 1024**3)),
        ("1.2kB", 1200),
        ("3MB", 3_000_000),
        ("--", None),
        ("12 parsecs", None),
    ],
)
def test_sizes_printed_by_the_cli_are_read_back_as_bytes(text, expected):
    """Binary (KiB) and decimal (kB) units both come back as bytes; anything else is None."""
    assert parse_size(text) == expected


STATS_LINE = {
    "BlockIO": "4.1kB / 0B",
    "CPUPerc": "12.50%",
    "Container": "web",
    "ID": CID,
    "MemPerc": "1.52%",
    "MemUsage": "356KiB / 23.54GiB",
    "Name": "web",
    "NetIO": "266B / 1.2kB",
    "PIDs": "3",
}


def test_parse_stats_reads_every_figure():
    """Every figure of a docker stats line lands in its field, as a number."""
    assert parse_stats(STATS_LINE) == {
        "container_id": CID,
        "name": "web",
        "cpu_percent": 12.5,
        "memory_bytes": 364_544,
        "memory_limit_bytes": round(23.54 * 1024**3),
        "memory_percent": 1.52,
        "network_rx_bytes": 266,
        "network_tx_bytes": 1200,
        "block_read_bytes": 4100,
        "block_write_bytes": 0,
        "pids": 3,
    }


def test_parse_stats_never_yields_a_non_finite_number():
    """'--', 'NaN%' and 'inf%' become None, so the result stays valid JSON."""
    line = {**STATS_LINE, "CPUPerc": "NaN%", "MemPerc": "inf%", "PIDs": "--"}
    parsed = parse_stats(line)
    assert (parsed["cpu_percent"], parsed["memory_percent"], parsed["pids"]) == (None, None, None)
    json.dumps(parsed, allow_nan=False)


async def test_stats_of_named_containers_is_one_process_and_lists_the_missing(executor, client):
    """Refs resolve by full id, name or unique id prefix from one docker stats --all."""
    other = {**STATS_LINE, "ID": "ffff" + CID[4:], "Name": "db", "Container": "db"}
    client.cli.return_value = "\n".join(json.dumps(x) for x in (STATS_LINE, other))
    result = await executor.container_stats(["db", CID[:8], "ghost", "web"])
    assert client.cli.call_count == 1
    command = client.cli.call_args.args[0]
    assert command[:4] == ["docker", "container", "stats", "--no-stream"]
    assert "--all" in command
    assert [c["name"] for c in result["containers"]] == ["db", "web"]
    assert result["missing"] == ["ghost"]


async def test_stats_without_refs_covers_every_running_container(executor, client):
    """No refs: docker stats without --all, every entry kept."""
    client.cli.return_value = json.dumps(STATS_LINE) + "\n"
    result = await executor.container_stats()
    assert "--all" not in client.cli.call_args.args[0]
    assert result["count"] == 1


@pytest.mark.parametrize("refs", ["web", ["-x"], ["ok"] * 201])
async def test_stats_bad_refs_start_no_process(executor, client, refs):
    """Malformed refs are InvalidInput before docker stats runs."""
    with pytest.raises(InvalidInput):
        await executor.container_stats(refs)
    client.cli.assert_not_called()


# --- top ---------------------------------------------------------------------------------

TOP = (
    "PID                 USER                ELAPSED             COMMAND\n"
    "5403                root                01:02:03            sh -c trap 'exit 0' TERM\n"
    "5501                nobody              00:03               sleep 100\n"
)


async def test_top_lists_processes_with_their_whole_command(executor, client):
    """Each process has pid, user, elapsed and its command with spaces kept."""
    client.container.inspect.return_value = inspect_result(id=CID, name="web")
    client.cli.return_value = TOP
    result = await executor.container_top("web")
    assert client.cli.call_args.args[0][-2:] == ["-o", "pid,user,etime,args"]
    assert result["container_id"] == CID
    assert result["processes"] == [
        {"pid": 5403, "user": "root", "elapsed": "01:02:03", "command": "sh -c trap 'exit 0' TERM"},
        {"pid": 5501, "user": "nobody", "elapsed": "00:03", "command": "sleep 100"},
    ]
    assert result["count"] == 2


async def test_top_hides_secrets_in_command_lines(executor, client):
    """A password on a process's command line reaches the agent as [REDACTED]."""
    client.container.inspect.return_value = inspect_result(id=CID, name="db")
    client.cli.return_value = (
        "PID   USER   ELAPSED   COMMAND\n"
        "7     root   00:10     mysqld --password S3cretPw --port 3306\n"
        "8     root   00:09     sh -c PGPASSWORD=hunter22 psql -h db\n"
    )
    result = await executor.container_top("db")
    assert [p["command"] for p in result["processes"]] == [
        "mysqld --password [REDACTED] --port 3306",
        "sh -c PGPASSWORD=[REDACTED] psql -h db",
    ]


async def test_top_of_a_missing_container_raises_container_not_found(executor, client):
    """The inspect fails first; docker top never runs."""
    from python_on_whales.exceptions import NoSuchContainer

    client.container.inspect.side_effect = NoSuchContainer(
        ["docker"], 1, b"", b"Error: No such container: ghost"
    )
    with pytest.raises(ContainerNotFound):
        await executor.container_top("ghost")
    client.cli.assert_not_called()


# --- search_logs ---------------------------------------------------------------------------


def logs_of(*lines: str, second: int = 0) -> bytes:
    """Return ``docker logs --timestamps`` output, one second apart from ``second``."""
    return b"".join(
        f"2026-11-29T10:00:{second + i:02d}.000000000Z {text}\n".encode()
        for i, text in enumerate(lines)
    )


@pytest.fixture
def two_containers(client: MagicMock) -> MagicMock:
    """Docker container inspect of web and db, as one process prints both."""
    web = inspect_result(id=CID, name="web").model_dump(by_alias=True, mode="json")
    db = inspect_result(id="f" * 64, name="db").model_dump(by_alias=True, mode="json")
    client.cli.return_value = json.dumps([web, db])
    return client


async def test_search_finds_matches_with_context_in_time_order(executor, fake, two_containers):
    """Matches from every container come back in time order, each with its context lines."""
    fake.scripts += [
        (logs_of("a", "ERROR one", "c", second=5), b"", 0),
        (logs_of("x", "fine", "error two", second=1), b"", 0),
    ]
    result = await executor.search_logs("error", refs=["web", "db"], ignore_case=True, context=1)
    assert [(m["name"], m["line"], m["before"], m["after"]) for m in result["matches"]] == [
        ("db", "error two", ["fine"], []),
        ("web", "ERROR one", ["a"], ["c"]),
    ]
    assert result["matches"][0]["time"] == "2026-11-29T10:00:03.000000000Z"
    assert [c["lines_read"] for c in result["containers"]] == [3, 3]
    assert len(fake.commands) == 2
    assert result["truncated"] is False


async def test_search_goes_on_when_a_container_is_removed_before_its_log_is_read(
    executor, fake, two_containers
):
    """A container gone between the listing and its docker logs is missing, not a failure."""
    gone = b"Error response from daemon: No such container: " + CID.encode() + b"\n"
    fake.scripts += [(b"", gone, 1), (logs_of("boom"), b"", 0)]
    result = await executor.search_logs("boom", refs=["web", "db"])
    assert [(m["name"], m["line"]) for m in result["matches"]] == [("db", "boom")]
    assert result["missing"] == ["web"]
    assert [c["name"] for c in result["containers"]] == ["db"]


async def test_search_is_case_sensitive_unless_asked(executor, fake, two_containers):
    """Without ignore_case, 'error' does not match 'ERROR'."""
    fake.scripts += [(logs_of("ERROR one"), b"", 0), (logs_of("error two"), b"", 0)]
    result = await executor.search_logs("error", refs=["web", "db"])
    assert [m["line"] for m in result["matches"]] == ["error two"]


async def test_search_stops_reading_at_max_matches(executor, fake, two_containers, monkeypatch):
    """Once max_matches are found no further container is read, and the result says why.

    One reader at a time, so db's turn comes after web's matches (with several readers
    db may already be under way, and is then cut short instead).
    """
    monkeypatch.setattr(search_module, "SEARCH_READERS", 1)
    fake.scripts.append((logs_of("hit 1", "hit 2", "hit 3"), b"", 0))
    result = await executor.search_logs("hit", refs=["web", "db"], max_matches=2)
    assert [m["line"] for m in result["matches"]] == ["hit 1", "hit 2"]
    assert result["not_searched"] == ["db"]
    assert result["truncation"] == ["max_matches"]


async def test_search_regex_runs_on_re2(executor, fake, two_containers):
    """A regex matches as RE2 does; the plain pattern of the same text would not."""
    fake.scripts += [(logs_of("took 1500ms"), b"", 0), (logs_of("took 15ms"), b"", 0)]
    result = await executor.search_logs(r"took \d{4,}ms", refs=["web", "db"], regex=True)
    assert [m["line"] for m in result["matches"]] == ["took 1500ms"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pattern": ""},
        {"pattern": "x" * 1001},
        {"pattern": r"(a)\1", "regex": True},
        {"pattern": "a)|(b", "regex": True},
        {"pattern": "x", "regex": "yes"},
        {"pattern": "x", "context": 11},
        {"pattern": "x", "max_matches": 0},
        {"pattern": "x", "tail": 0},
        {"pattern": "x", "refs": []},
        {"pattern": "x", "refs": "web"},
        {"pattern": "x", "since": "soon"},
        {"pattern": "x", "label": "a b"},
    ],
)
async def test_search_bad_arguments_start_no_process(executor, fake, client, kwargs):
    """A bad pattern (a backreference RE2 refuses, too long) or bound: InvalidInput, no process."""
    with pytest.raises(InvalidInput):
        await executor.search_logs(**kwargs)
    assert fake.commands == []
    client.cli.assert_not_called()


async def test_search_holds_only_the_matches_of_a_long_log(executor, fake, two_containers):
    """100,000 lines stream through the matcher; the one match keeps its two lines before."""
    script = (
        "import sys\n"
        "w = sys.stdout.buffer.write\n"
        "for i in range(100000):\n"
        "    w(b'2026-11-29T10:00:00.000000000Z line %d\\n' % i)\n"
    )
    fake.scripts += [script, (b"", b"", 0)]
    result = await executor.search_logs("line 99999", refs=["web", "db"], context=2)
    (match,) = result["matches"]
    assert match["before"] == ["line 99997", "line 99998"]
    assert result["containers"][0]["lines_read"] == 100_000


async def test_search_anchors_mean_the_line_without_its_timestamp(executor, fake, two_containers):
    """'^ERROR' and 'timeout$' match a line's own text, not the engine's timestamp before it."""
    fake.scripts += [
        (logs_of("ERROR at start", "an ERROR inside", "read timeout"), b"", 0),
        (logs_of("timeout later"), b"", 0),
    ]
    result = await executor.search_logs("^ERROR|timeout$", refs=["web", "db"], regex=True)
    assert [m["line"] for m in result["matches"]] == ["ERROR at start", "read timeout"]


async def test_search_end_of_text_means_the_end_of_each_line(executor, fake, two_containers):
    r"""'\z' and '$' with multi-line mode off match a line's end wherever the line stands.

    The log comes in one piece, so a search over many lines at once must not take
    ``\z`` for the end of the whole piece.
    """
    fake.scripts += [
        (logs_of("disk full", "retrying", "failed: timeout", "later"), b"", 0),
        (b"", b"", 0),
    ]
    result = await executor.search_logs(r"(?s-m:full$)|timeout\z", refs=["web", "db"], regex=True)
    assert [m["line"] for m in result["matches"]] == ["disk full", "failed: timeout"]


async def test_search_a_tty_line_ends_before_its_carriage_return(executor, fake, two_containers):
    """A TTY container logs CRLF lines: 'ready$' matches 'ready', shown without the CR."""
    tty = logs_of("starting", "ready", "serving").replace(b"\n", b"\r\n")
    fake.scripts += [(tty, b"", 0), (b"", b"", 0)]
    result = await executor.search_logs("ready$|^serving$", refs=["web", "db"], regex=True)
    assert [m["line"] for m in result["matches"]] == ["ready", "serving"]


async def test_search_ignore_case_folds_unicode(executor, fake, two_containers):
    """ignore_case matches 'ÉCHEC' for 'échec' (not only ASCII letters)."""
    fake.scripts += [(logs_of("ÉCHEC du service"), b"", 0), (b"", b"", 0)]
    result = await executor.search_logs("échec", refs=["web", "db"], ignore_case=True)
    assert [m["line"] for m in result["matches"]] == ["ÉCHEC du service"]


def test_a_chunk_without_the_pattern_costs_no_step_per_line():
    """A piece of 1000 lines without the pattern is ruled out at once, never line by line."""
    from operator_core.docker.diagnosis.search import LineSearch, _Budget, _Matcher

    tested: list[bytes] = []

    def line(text: bytes) -> bool:
        tested.append(text)
        return b"needle" in text

    matcher = _Matcher(
        "stdout", LineSearch(line=line, chunk=lambda d: b"needle" in d), 2, _Budget(10)
    )
    matcher.feed(b"".join(b"2026-11-29T10:00:00.000000000Z hay %d\n" % i for i in range(1000)))
    assert tested == []
    matcher.feed(b"2026-11-29T10:00:01.000000000Z a needle\n")
    matcher.close()
    (match,) = matcher.found
    assert match["before"] == ["hay 998", "hay 999"]
    assert tested == [b"a needle"]
    assert matcher.lines == 1001


async def test_readers_together_never_read_past_the_search_read_cap(
    executor, fake, two_containers, monkeypatch
):
    """With a 3000-byte cap, two logs of 2500 bytes read at once are cut, not 5000 read.

    Each reader may take only its share of what is left (1000 bytes of 3000), so both
    reads stop at the cap instead of reading 2500 each.
    """
    monkeypatch.setattr(search_module, "MAX_SEARCH_READ_BYTES", 3000)
    line = b"2026-11-29T10:00:00.000000000Z " + b"x" * 68 + b"\n"  # 100 bytes
    fake.scripts += [(line * 25, b"", 0), (line * 25, b"", 0)]
    result = await executor.search_logs("nothing", refs=["web", "db"])
    assert [c["truncation"] for c in result["containers"]] == [["read_cap"], ["read_cap"]]
    assert result["truncation"] == ["read_cap"]
