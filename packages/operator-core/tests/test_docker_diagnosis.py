"""Unit tests of the diagnosis reads: get_events, container_stats, container_top, search.

The engine is faked behind a real ``EngineClient`` (``engine_fakes``): the client's door,
frame demultiplexing and error mapping run, and the reads' own bounds and parsing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from aiodocker.exceptions import DockerError

from engine_fakes import Reply, fake_client, frame, refused, reply_json
from operator_core.docker import DockerActionExecutor
from operator_core.docker.diagnosis import events as events_module
from operator_core.docker.diagnosis import search as search_module
from operator_core.docker.diagnosis.events import (
    ENGINE_BUFFER_MARGIN,
    ENGINE_EVENT_BUFFER,
    parse_event,
)
from operator_core.docker.diagnosis.stats import parse_stats
from operator_core.errors import ContainerNotFound, ContainerStateError, EngineError, InvalidInput
from operator_core.testing import record_requests

CID = "0123456789ab" * 5 + "cdef"
DB = "f" * 64
#: As many events as make the engine's memory full (less the margin of the rule).
FULL = ENGINE_EVENT_BUFFER - ENGINE_BUFFER_MARGIN
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


#: NOW as the engine takes a time (unix seconds and nanoseconds), and an hour before.
NOW_UNIX = "1795946400.000000000"
HOUR_AGO = "1795942800.000000000"


class Engine:
    """A scripted engine: ``events`` answers ``GET /events`` in turn, ``logs`` by container."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str, dict[str, str]]] = []
        self.events: list[Reply | DockerError] = []
        self.logs: dict[str, Reply | DockerError] = {}
        self.containers = {"web": {"Id": CID, "Name": "/web", "Config": {"Tty": False}}}
        self.containers["db"] = {"Id": DB, "Name": "/db", "Config": {"Tty": False}}
        self.stats: dict[str, dict[str, object]] = {}
        self.top: dict[str, object] | DockerError = {"Titles": [], "Processes": []}

    def __call__(self, method: str, path: str, params: dict[str, str], body: object) -> Reply:
        self.commands.append((method, path, params))
        parts = path.strip("/").split("/")
        found: Reply | DockerError
        if path == "/events":
            found = self.events.pop(0) if self.events else Reply([])
        elif path == "/containers/json":
            every = [
                c for c in self.containers.values() if params.get("all") == "1" or c.get("running")
            ]
            found = reply_json([{"Id": c["Id"], "Names": [c["Name"]]} for c in every])
        elif parts[-1] == "logs":
            found = self.logs.get(parts[1], Reply([]))
        elif parts[-1] == "stats":
            found = reply_json(self.stats[parts[1]])
        elif parts[-1] == "top":
            found = self.top if isinstance(self.top, DockerError) else reply_json(self.top)
        else:
            found = self._inspect(parts[1])
        if isinstance(found, DockerError):
            raise found
        return found

    def _inspect(self, ref: str) -> Reply:
        for name, raw in self.containers.items():
            if ref in (name, raw["Id"]):
                return reply_json(raw)
        raise refused(404, f"No such container: {ref}")

    def paths(self, path: str) -> list[dict[str, str]]:
        """Return the parameters of each request of ``path``."""
        return [params for _, seen, params in self.commands if seen == path]


@pytest.fixture
def fake() -> Engine:
    """The scripted engine."""
    return Engine()


@pytest.fixture
def executor(fake: Engine) -> DockerActionExecutor:
    """An executor whose engine is the scripted one."""
    api, _ = fake_client(fake)
    return DockerActionExecutor(api=api)


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


def printed(*items: dict[str, object]) -> Reply:
    """Return the stream ``GET /events`` sends for ``items`` (JSON lines)."""
    return Reply([json.dumps(item).encode() + b"\n" for item in items])


def filters(params: dict[str, str]) -> dict[str, list[str]]:
    """Return a request's ``filters``."""
    return json.loads(params.get("filters", "{}"))


# --- events ------------------------------------------------------------------------------


async def test_events_ask_the_engine_for_a_closed_window_with_filters(executor, fake, frozen):
    """The window always has an until (now by default), so the event stream never follows."""
    result = await executor.get_events(
        "1h", container="web", types=["container"], actions=["die", "oom"]
    )
    params = fake.paths("/events")[0]
    assert (params["since"], params["until"]) == (HOUR_AGO, NOW_UNIX)
    assert filters(params) == {"container": ["web"], "type": ["container"], "event": ["die", "oom"]}
    assert result["until"] == "2026-11-29T10:00:00Z"
    assert result["until_clamped"] is False
    assert result["events"] == []


async def test_events_an_until_in_the_future_is_cut_to_now(executor, fake, frozen):
    """A later until would make the engine wait for it; it is cut to now, and said."""
    result = await executor.get_events("10m", until="2026-11-29T12:00:00Z")
    assert fake.paths("/events")[0]["until"] == NOW_UNIX
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
async def test_events_bad_arguments_make_no_request(executor, fake, frozen, kwargs):
    """Every malformed argument is InvalidInput before any request is made."""
    with record_requests() as requests, pytest.raises(InvalidInput):
        await executor.get_events(**kwargs)
    assert requests == []


async def test_events_report_exit_codes_and_health_details(executor, fake, frozen):
    """A die event has its exit code; health_status: unhealthy is split in action and detail."""
    fake.events.append(
        printed(event("die", exitCode="3"), event("health_status: unhealthy", nanos=5))
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
    fake.events.append(printed(*(event("start", nanos=i) for i in range(10))))
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
    fake.events.append(printed(*(event("start", nanos=i) for i in range(FULL))))
    result = await executor.get_events("1h", limit=1000)
    assert (result["count"], result["truncated"]) == (FULL, True)
    assert result["truncation"] == ["engine_buffer"]
    fake.events.append(printed(*(event("start", nanos=i) for i in range(FULL - 1))))
    assert (await executor.get_events("1h", limit=1000))["truncated"] is False


def stamps(count: int, first_nanos: int = 0) -> Reply:
    """Return what the buffer probe (unfiltered, up to now) gets: ``count`` events."""
    return printed(*(event("start", nanos=first_nanos + i) for i in range(count)))


async def test_events_a_filtered_query_warns_exactly_as_an_unfiltered_one(executor, fake, frozen):
    """A filter hides how many events came: an unfiltered read from since to now counts them.

    The filtered read finds nothing; the probe (times only, no filter, until now) finds the
    engine's memory full: the answer says older events may be gone, and from when the engine knows.
    """
    fake.events += [Reply([]), stamps(FULL, first_nanos=7)]
    result = await executor.get_events("5m", container="web", actions=["oom"])
    main, probe = fake.paths("/events")
    assert filters(main) == {"container": ["web"], "event": ["oom"]}
    assert "filters" not in probe
    assert (probe["since"], probe["until"]) == ("1795946100.000000000", NOW_UNIX)
    assert result["events"] == []
    assert result["truncation"] == ["engine_buffer"]
    assert result["engine_oldest"] == "2025-11-29T10:00:00.000000007Z"
    fake.events += [Reply([]), stamps(FULL - 1)]
    assert (await executor.get_events("5m", container="web"))["truncated"] is False


async def test_events_a_window_that_ended_counts_the_buffer_up_to_now(executor, fake, frozen):
    """The engine's 256 include the events after until: those push the window out too."""
    fake.events += [printed(event("die", exitCode="1")), stamps(FULL)]
    result = await executor.get_events("1h", until="30m")
    assert fake.paths("/events")[1]["until"] == NOW_UNIX
    assert result["truncation"] == ["engine_buffer"]
    assert result["count"] == 1


async def test_events_an_unfiltered_query_up_to_now_needs_no_probe(executor, fake, frozen):
    """Without filters and until, the read itself counts the buffer: one request."""
    fake.events.append(printed(event("start")))
    result = await executor.get_events("1h")
    assert len(fake.commands) == 1
    assert result["engine_oldest"] == "2025-11-29T10:00:00.000000000Z"


async def test_events_an_overlong_line_is_dropped_and_counted(executor, monkeypatch, fake, frozen):
    """A line past MAX_EVENT_LINE_BYTES is skipped whole; the lines around it survive."""
    monkeypatch.setattr(events_module, "MAX_EVENT_LINE_BYTES", 400)
    big = event("start", nanos=1, **{"label": "x" * 1000})
    fake.events.append(printed(event("create"), big, event("die", nanos=2)))
    result = await executor.get_events("1h")
    assert [e["action"] for e in result["events"]] == ["create", "die"]
    assert result["truncation"] == ["long_line"]


async def test_events_engine_refusal_is_an_engine_error(executor, fake, frozen):
    """An events read the engine refuses says the engine's reason as an EngineError."""
    fake.events.append(refused(400, "bad filter"))
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


#: One sample as ``GET /containers/{id}/stats?stream=false`` gives it (cgroup v1).
STATS = {
    "id": CID,
    "name": "/web",
    "read": "2026-11-29T10:00:01.000000000Z",
    "cpu_stats": {
        "cpu_usage": {"total_usage": 2_250_000_000, "percpu_usage": [1, 2, 3, 4]},
        "system_cpu_usage": 1_000_000_000_000,
        "online_cpus": 2,
    },
    "precpu_stats": {
        "cpu_usage": {"total_usage": 2_000_000_000},
        "system_cpu_usage": 998_000_000_000,
    },
    "memory_stats": {
        "usage": 8_000_000,
        "limit": 100_000_000,
        "stats": {"total_inactive_file": 3_000_000},
    },
    "networks": {"eth0": {"rx_bytes": 200, "tx_bytes": 1000}, "eth1": {"rx_bytes": 66}},
    "blkio_stats": {
        "io_service_bytes_recursive": [
            {"major": 8, "minor": 0, "op": "Read", "value": 4100},
            {"major": 8, "minor": 0, "op": "Write", "value": 0},
            {"major": 8, "minor": 0, "op": "Total", "value": 4100},
        ]
    },
    "pids_stats": {"current": 3},
}


def test_parse_stats_computes_every_figure_as_the_cli_does():
    """CPU is the share of host CPU time times the CPUs online; memory leaves out the cache.

    0.25 s of the container's CPU over 2 s of the host's, on 2 CPUs: 25%. 8 MB in use
    less 3 MB of inactive file cache: 5 MB, 5% of the limit. Network and block I/O are
    summed over networks and devices.
    """
    assert parse_stats(STATS) == {
        "container_id": CID,
        "name": "web",
        "cpu_percent": 25.0,
        "memory_bytes": 5_000_000,
        "memory_limit_bytes": 100_000_000,
        "memory_percent": 5.0,
        "network_rx_bytes": 266,
        "network_tx_bytes": 1000,
        "block_read_bytes": 4100,
        "block_write_bytes": 0,
        "pids": 3,
    }


def test_parse_stats_of_cgroup_v2_leaves_out_its_inactive_file_cache():
    """Cgroup v2 names the cache ``inactive_file``: it is left out of the memory in use too."""
    v2 = {**STATS, "memory_stats": {"usage": 8_000_000, "limit": 0, "stats": {"inactive_file": 1}}}
    parsed = parse_stats(v2)
    assert (parsed["memory_bytes"], parsed["memory_percent"]) == (7_999_999, None)


def test_parse_stats_of_a_stopped_container_has_no_figures():
    """A stopped container's sample is empty: every figure is None, the result valid JSON."""
    stopped = {
        "id": CID,
        "name": "/web",
        "read": "0001-01-01T00:00:00Z",
        "cpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
        "precpu_stats": {"cpu_usage": {"total_usage": 0}},
        "memory_stats": {},
        "blkio_stats": {"io_service_bytes_recursive": None},
        "pids_stats": {},
    }
    parsed = parse_stats(stopped)
    assert {key for key, value in parsed.items() if value is not None} == {"container_id", "name"}
    json.dumps(parsed, allow_nan=False)


async def test_stats_of_named_containers_lists_once_and_lists_the_missing(executor, fake):
    """Refs resolve by full id, name or unique id prefix from one listing; one sample each."""
    fake.stats = {CID: STATS, DB: {**STATS, "id": DB, "name": "/db"}}
    with record_requests() as requests:
        result = await executor.container_stats(["db", CID[:8], "ghost", "web"])
    assert [c["name"] for c in result["containers"]] == ["db", "web"]
    assert result["missing"] == ["ghost"]
    assert [(r.path, r.params) for r in requests] == [
        ("/containers/json", {"all": "1"}),
        (f"/containers/{DB}/stats", {"stream": "0"}),
        (f"/containers/{CID}/stats", {"stream": "0"}),
    ]


async def test_stats_without_refs_covers_every_running_container(executor, fake):
    """No refs: the listing of running containers only, every one sampled."""
    fake.containers["web"]["running"] = True
    fake.stats = {CID: STATS, DB: STATS}
    result = await executor.container_stats()
    assert fake.commands[0][2] == {"all": "0"}
    assert [c["name"] for c in result["containers"]] == ["web"]


@pytest.mark.parametrize("refs", ["web", ["-x"], ["ok"] * 201])
async def test_stats_bad_refs_make_no_request(executor, fake, refs):
    """Malformed refs are InvalidInput before any request."""
    with record_requests() as requests, pytest.raises(InvalidInput):
        await executor.container_stats(refs)
    assert requests == []


# --- top ---------------------------------------------------------------------------------

TOP = {
    "Titles": ["PID", "USER", "ELAPSED", "COMMAND"],
    "Processes": [
        ["5403", "root", "01:02:03", "sh -c trap 'exit 0' TERM"],
        ["5501", "nobody", "00:03", "sleep 100"],
    ],
}


async def test_top_lists_processes_with_their_whole_command(executor, fake):
    """Each process has pid, user, elapsed and its command with spaces kept."""
    fake.top = TOP
    result = await executor.container_top("web")
    assert fake.paths(f"/containers/{CID}/top") == [{"ps_args": "-o pid,user,etime,args"}]
    assert result["container_id"] == CID
    assert result["processes"] == [
        {"pid": 5403, "user": "root", "elapsed": "01:02:03", "command": "sh -c trap 'exit 0' TERM"},
        {"pid": 5501, "user": "nobody", "elapsed": "00:03", "command": "sleep 100"},
    ]
    assert result["count"] == 2


async def test_top_hides_secrets_in_command_lines(executor, fake):
    """A password on a process's command line reaches the agent as [REDACTED]."""
    fake.top = {
        "Titles": ["PID", "USER", "ELAPSED", "COMMAND"],
        "Processes": [
            ["7", "root", "00:10", "mysqld --password S3cretPw --port 3306"],
            ["8", "root", "00:09", "sh -c PGPASSWORD=hunter22 psql -h db"],
        ],
    }
    result = await executor.container_top("db")
    assert [p["command"] for p in result["processes"]] == [
        "mysqld --password [REDACTED] --port 3306",
        "sh -c PGPASSWORD=[REDACTED] psql -h db",
    ]


async def test_top_of_a_missing_container_raises_container_not_found(executor, fake):
    """The inspect fails first; no top is asked for."""
    with pytest.raises(ContainerNotFound) as caught:
        await executor.container_top("ghost")
    assert caught.value.reference == "ghost"
    assert [path for _, path, _ in fake.commands] == ["/containers/ghost/json"]


async def test_top_of_a_stopped_container_is_a_state_error(executor, fake):
    """The engine's 409 for a container that is not running is ContainerStateError."""
    fake.top = refused(409, f"Container {CID} is not running")
    with pytest.raises(ContainerStateError, match="not running"):
        await executor.container_top("web")


# --- search_logs ---------------------------------------------------------------------------


def logs_of(*lines: str, second: int = 0) -> bytes:
    """Return a log with timestamps, one second apart from ``second``."""
    return b"".join(
        f"2026-11-29T10:00:{second + i:02d}.000000000Z {text}\n".encode()
        for i, text in enumerate(lines)
    )


def log(out: bytes, err: bytes = b"") -> Reply:
    """Return a container's log as the engine streams it: stdout and stderr frames."""
    return Reply([frame(1, out)] + ([frame(2, err)] if err else []))


@pytest.fixture
def two_containers(fake: Engine) -> Engine:
    """Web and db, their logs empty unless a test scripts them."""
    return fake


async def test_search_finds_matches_with_context_in_time_order(executor, fake, two_containers):
    """Matches from every container come back in time order, each with its context lines."""
    fake.logs[CID] = log(logs_of("a", "ERROR one", "c", second=5))
    fake.logs[DB] = log(logs_of("x", "fine", second=1), logs_of("error two", second=3))
    result = await executor.search_logs("error", refs=["web", "db"], ignore_case=True, context=1)
    assert [(m["name"], m["line"], m["before"], m["after"]) for m in result["matches"]] == [
        ("db", "error two", [], []),
        ("web", "ERROR one", ["a"], ["c"]),
    ]
    assert result["matches"][0]["time"] == "2026-11-29T10:00:03.000000000Z"
    assert result["matches"][0]["stream"] == "stderr"  # context comes from the same stream
    assert [c["lines_read"] for c in result["containers"]] == [3, 3]
    assert [path for _, path, _ in fake.commands if path.endswith("/logs")] == [
        f"/containers/{CID}/logs",
        f"/containers/{DB}/logs",
    ]
    assert result["truncated"] is False


async def test_search_goes_on_when_a_container_is_removed_before_its_log_is_read(
    executor, fake, two_containers
):
    """A container gone between the listing and its log's read is missing, not a failure."""
    fake.logs[CID] = refused(404, f"No such container: {CID}")
    fake.logs[DB] = log(logs_of("boom"))
    result = await executor.search_logs("boom", refs=["web", "db"])
    assert [(m["name"], m["line"]) for m in result["matches"]] == [("db", "boom")]
    assert result["missing"] == ["web"]
    assert [c["name"] for c in result["containers"]] == ["db"]


async def test_search_is_case_sensitive_unless_asked(executor, fake, two_containers):
    """Without ignore_case, 'error' does not match 'ERROR'."""
    fake.logs[CID], fake.logs[DB] = log(logs_of("ERROR one")), log(logs_of("error two"))
    result = await executor.search_logs("error", refs=["web", "db"])
    assert [m["line"] for m in result["matches"]] == ["error two"]


async def test_search_stops_reading_at_max_matches(executor, fake, two_containers, monkeypatch):
    """Once max_matches are found no further container is read, and the result says why.

    One reader at a time, so db's turn comes after web's matches (with several readers
    db may already be under way, and is then cut short instead).
    """
    monkeypatch.setattr(search_module, "SEARCH_READERS", 1)
    fake.logs[CID] = log(logs_of("hit 1", "hit 2", "hit 3"))
    result = await executor.search_logs("hit", refs=["web", "db"], max_matches=2)
    assert [m["line"] for m in result["matches"]] == ["hit 1", "hit 2"]
    assert result["not_searched"] == ["db"]
    assert result["truncation"] == ["max_matches"]


async def test_search_regex_runs_on_re2(executor, fake, two_containers):
    """A regex matches as RE2 does; the plain pattern of the same text would not."""
    fake.logs[CID], fake.logs[DB] = log(logs_of("took 1500ms")), log(logs_of("took 15ms"))
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
async def test_search_bad_arguments_make_no_request(executor, fake, kwargs):
    """A bad pattern (a backreference RE2 refuses, too long) or bound: InvalidInput, no request."""
    with record_requests() as requests, pytest.raises(InvalidInput):
        await executor.search_logs(**kwargs)
    assert requests == []


async def test_search_holds_only_the_matches_of_a_long_log(executor, fake, two_containers):
    """100,000 lines stream through the matcher; the one match keeps its two lines before."""
    lines = [b"2026-11-29T10:00:00.000000000Z line %d\n" % i for i in range(100_000)]
    fake.logs[CID] = Reply(
        [frame(1, b"".join(lines[i : i + 1000])) for i in range(0, 100_000, 1000)]
    )
    result = await executor.search_logs("line 99999", refs=["web", "db"], context=2)
    (match,) = result["matches"]
    assert match["before"] == ["line 99997", "line 99998"]
    assert result["containers"][0]["lines_read"] == 100_000


async def test_search_anchors_mean_the_line_without_its_timestamp(executor, fake, two_containers):
    """'^ERROR' and 'timeout$' match a line's own text, not the engine's timestamp before it."""
    fake.logs[CID] = log(logs_of("ERROR at start", "an ERROR inside", "read timeout"))
    fake.logs[DB] = log(logs_of("timeout later"))
    result = await executor.search_logs("^ERROR|timeout$", refs=["web", "db"], regex=True)
    assert [m["line"] for m in result["matches"]] == ["ERROR at start", "read timeout"]


async def test_search_end_of_text_means_the_end_of_each_line(executor, fake, two_containers):
    r"""'\z' and '$' with multi-line mode off match a line's end wherever the line stands.

    The log comes in one piece, so a search over many lines at once must not take
    ``\z`` for the end of the whole piece.
    """
    fake.logs[CID] = log(logs_of("disk full", "retrying", "failed: timeout", "later"))
    result = await executor.search_logs(r"(?s-m:full$)|timeout\z", refs=["web", "db"], regex=True)
    assert [m["line"] for m in result["matches"]] == ["disk full", "failed: timeout"]


async def test_search_a_tty_line_ends_before_its_carriage_return(executor, fake, two_containers):
    """A TTY container's log is raw (no frames), in CRLF lines: 'ready$' matches 'ready'."""
    fake.containers["web"]["Config"] = {"Tty": True}
    tty = logs_of("starting", "ready", "serving").replace(b"\n", b"\r\n")
    fake.logs[CID] = Reply([tty[:40], tty[40:]])
    result = await executor.search_logs("ready$|^serving$", refs=["web", "db"], regex=True)
    assert [m["line"] for m in result["matches"]] == ["ready", "serving"]
    assert {m["stream"] for m in result["matches"]} == {"stdout"}


async def test_search_ignore_case_folds_unicode(executor, fake, two_containers):
    """ignore_case matches 'ÉCHEC' for 'échec' (not only ASCII letters)."""
    fake.logs[CID] = log(logs_of("ÉCHEC du service"))
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
    fake.logs[CID] = Reply([frame(1, line * 5)] * 5)
    fake.logs[DB] = Reply([frame(1, line * 5)] * 5)
    result = await executor.search_logs("nothing", refs=["web", "db"])
    assert [c["truncation"] for c in result["containers"]] == [["read_cap"], ["read_cap"]]
    assert result["truncation"] == ["read_cap"]


async def test_stats_of_a_container_removed_before_its_sample_is_missing(executor, fake):
    """A container listed but gone when sampled (404) is missing, not a failure."""
    fake.stats = {CID: STATS}
    answer = fake.__call__

    def removing(method: str, path: str, params: dict[str, str], body: object) -> Reply:
        if path == f"/containers/{DB}/stats":
            raise refused(404, f"No such container: {DB}")
        return answer(method, path, params, body)

    api, _ = fake_client(removing)
    result = await DockerActionExecutor(api=api).container_stats(["web", "db"])
    assert [c["name"] for c in result["containers"]] == ["web"]
    assert result["missing"] == ["db"]
