"""Search many containers' logs at once, streaming, to find which of them logged a line.

Each container's log is read by one streamed ``GET /containers/{id}/logs`` whose frames
are matched line by line as they arrive; only the matches, their context lines and a few
lines before are held, so memory does not grow with the size of a log. A pattern is a
plain substring unless ``regex`` is set; regular expressions run on RE2, whose time is
linear in the input, so a pattern an agent wrote cannot hang the process; its length is
capped too.

Bounds: ``tail`` lines per container (from the end of its log), ``max_matches`` matches in
all (reading stops once they are found), ``MAX_SEARCH_READ_BYTES`` read in all, each kept
line cut at ``MAX_SEARCH_LINE_BYTES``, and the call's deadline (the containers not reached
in time are listed). Context lines come from the same stream as their match.

Only a line's first ``MAX_SEARCH_LINE_BYTES`` are promised to be searched, and that is
also where the engine cuts: Docker stores a longer line in 16 KiB pieces, and
``--timestamps`` prints a timestamp at each cut, inside the line, so a match across a cut
is not found (seen on Docker 20.10 with a 36 KB line).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict

import re2

from operator_core.docker._engine.api import EngineClient, Params
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.window import window
from operator_core.docker.containers.discovery import container_filters
from operator_core.docker.diagnosis.reading import pump
from operator_core.docker.diagnosis.targets import Target, chosen_targets
from operator_core.docker.diagnosis.when import api_time
from operator_core.errors import ContainerNotFound, InvalidInput
from operator_core.limits import (
    DEFAULT_MAX_MATCHES,
    DEFAULT_SEARCH_TAIL,
    MAX_CONTEXT_LINES,
    MAX_MATCHES,
    MAX_PATTERN_LENGTH,
    MAX_SEARCH_CONTAINERS,
    MAX_SEARCH_TAIL,
)
from operator_core.results import LogMatch, SearchedContainer, SearchResult
from operator_core.validate import validate_reference

__all__ = ["LineSearch", "SearchActions", "compile_pattern"]

#: The most bytes read from all the containers' logs of one search (each reader draws
#: its allowance from what is left before it reads: ``_Budget.reserve``).
MAX_SEARCH_READ_BYTES = 512 * 1024 * 1024
#: Bytes of a line that are matched; the rest of a longer line is not searched.
MAX_SEARCH_LINE_BYTES = 16 * 1024
#: Bytes of a matched or context line that are returned.
MAX_SHOWN_LINE_BYTES = 2 * 1024
#: RE2's memory budget for one compiled pattern.
_RE2_MAX_MEM = 8 * 1024 * 1024
#: How many containers' logs are read at once (the engine decodes each log in a thread).
SEARCH_READERS = 3
#: Time kept back from the call's deadline to return what was found.
SEARCH_MARGIN_S = 2.0
#: What makes a regex mean something else over many lines than over one: a start anchor
#: (the engine's timestamp starts each line of a chunk), an end of text (``\z``), or
#: multi-line mode turned off (``(?-m)``, ``(?s-m:``), where ``$`` is the end of text.
_LINE_ONLY = re.compile(r"\^|\\A|\\z|\(\?[imsU]*-[imsU]*m")


@dataclass(frozen=True)
class LineSearch:
    """A compiled pattern: ``line`` tests one line's text, ``chunk`` many lines at once.

    ``chunk`` never misses a line ``line`` would match (it may say yes for a chunk with no
    matching line), so a chunk it says no to is skipped without a step per line.
    """

    line: Callable[[bytes], bool]
    chunk: Callable[[bytes], bool]


def _always(data: bytes) -> bool:
    return True


def compile_pattern(pattern: object, *, regex: bool, ignore_case: bool) -> LineSearch:
    r"""Return the search for ``pattern``; InvalidInput for a bad or huge pattern.

    Lines are matched as UTF-8 bytes. A plain pattern is a substring (case folded the
    Unicode way with ``ignore_case``); a regex is RE2's, matched in multi-line mode over
    a chunk so that ``$`` keeps its per-line meaning; a regex whose meaning a chunk
    would change (``^``, ``\A``, ``\z``, multi-line mode turned off) is tested line by
    line only.
    """
    if not isinstance(pattern, str) or not pattern:
        raise InvalidInput("pattern must be a non-empty string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidInput(
            f"pattern is {len(pattern)} characters long; at most {MAX_PATTERN_LENGTH}"
        )
    for flag, what in ((regex, "regex"), (ignore_case, "ignore_case")):
        if not isinstance(flag, bool):
            raise InvalidInput(f"{what} must be true or false, got {type(flag).__name__}")
    if not regex and not ignore_case:
        needle = pattern.encode()

        def contains(data: bytes) -> bool:
            return needle in data

        return LineSearch(line=contains, chunk=contains)
    source = pattern if regex else re2.escape(pattern)
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.max_mem = _RE2_MAX_MEM
    options.log_errors = False
    try:
        # A flag prefix, not a group: "a)|(b" must stay invalid, not become "(?m:a)|(b)".
        compiled = re2.compile(f"(?m){source}".encode(), options)
    except re2.error as exc:
        reason = str(exc).removeprefix("b'").partition(":")[0]
        raise InvalidInput(f"pattern is not a regular expression RE2 accepts ({reason})") from None

    def found(data: bytes) -> bool:
        return compiled.search(data) is not None

    line_only = regex and _LINE_ONLY.search(pattern) is not None
    return LineSearch(line=found, chunk=_always if line_only else found)


def _bounded_int(value: object, what: str, low: int, high: int) -> int:
    """Return ``value`` if it is a whole number in [low, high], else raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be a whole number, got {type(value).__name__}")
    if not low <= value <= high:
        raise InvalidInput(f"{what} must be from {low} to {high}, got {value}")
    return value


def _split_stamp(raw: bytes) -> tuple[bytes, bytes]:
    """Return the engine's timestamp of a ``--timestamps`` line (or b"") and its text."""
    stamp, space, rest = raw.partition(b" ")
    if not space or not stamp[:1].isdigit():
        return b"", raw
    return stamp, rest


def _shown(text: bytes) -> str:
    """Return a line's text as returned: cut at MAX_SHOWN_LINE_BYTES, decoded."""
    return text[:MAX_SHOWN_LINE_BYTES].decode("utf-8", errors="replace").removesuffix("\r")


@dataclass
class _Budget:
    """What one search may still take, shared by every container's reading."""

    matches_left: int
    bytes_left: int = field(default_factory=lambda: MAX_SEARCH_READ_BYTES)
    #: Set to stop every reading: the matches are found, or the call was cancelled.
    stop: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False
    reasons: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cancel(self) -> None:
        """Stop reading because the call was cancelled."""
        self.cancelled = True
        self.stop.set()

    def take_match(self) -> bool:
        """Count one match; stop reading when none are left. Return whether it fits."""
        with self.lock:
            if self.matches_left <= 0:
                return False
            self.matches_left -= 1
            if self.matches_left == 0:
                self.reasons.add("max_matches")
                self.stop.set()
            return True

    def reserve(self) -> int:
        """Draw a reader's allowance from the bytes left, before it reads; 0: none is left.

        The share is a ``SEARCH_READERS``-th of what is left (all of it when that is under
        one byte a reader), taken out at once: readers running together can never hold
        more than the cap between them, and each gives back what it did not read.
        """
        with self.lock:
            share = self.bytes_left // SEARCH_READERS or self.bytes_left
            if share <= 0:
                self.reasons.add("read_cap")
                return 0
            self.bytes_left -= share
            return share

    def settle(self, allowance: int, read: int) -> None:
        """Give back what a reader drew and did not read."""
        with self.lock:
            self.bytes_left += allowance - read

    def exhausted(self, until: float) -> bool:
        """Whether no further container may be read: stopped, out of time or bytes."""
        return self.stop.is_set() or time.monotonic() >= until or self.bytes_left <= 0


class _Found(TypedDict):
    """A match as a reader keeps it, before its container's identity is added."""

    time: str | None
    stream: str
    line: str
    before: list[str]
    after: list[str]


class _Matcher:
    """A sink for one stream: splits lines, tests them, keeps matches with their context.

    Each piece of the stream is split at newlines in one step; a piece the search's
    ``chunk`` test rules out only feeds the before-context. A line longer than
    ``MAX_SEARCH_LINE_BYTES`` is searched in its first bytes only. A line ending in CRLF
    (a TTY's) ends before its CR, so ``ready$`` matches the ``ready`` shown.
    """

    def __init__(self, stream: str, search: LineSearch, context: int, budget: _Budget) -> None:
        self.stream, self._search, self._context, self._budget = stream, search, context, budget
        self._before: deque[bytes] = deque(maxlen=context)
        self._open: list[tuple[_Found, int]] = []
        self._partial = b""
        self._dropping = False
        self.found: list[_Found] = []
        self.lines = 0

    def feed(self, data: bytes) -> None:
        """Split ``data`` at newlines, testing the finished lines."""
        if self._dropping:
            end = data.find(b"\n")
            if end < 0:
                return
            data, self._dropping = data[end:], False
        lines = (self._partial + data).replace(b"\r\n", b"\n").split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_SEARCH_LINE_BYTES:
            self._partial, self._dropping = self._partial[:MAX_SEARCH_LINE_BYTES], True
        self._take(lines)

    def close(self) -> None:
        """Test a last line that had no newline."""
        if self._partial:
            self._take([self._partial.removesuffix(b"\r")])
            self._partial = b""

    def _take(self, lines: list[bytes]) -> None:
        if not lines:
            return
        self.lines += len(lines)
        if self._open or self._search.chunk(b"\n".join(lines)):
            for raw in lines:
                self._line(raw)
        elif self._context:
            self._before.extend(lines[-self._context :])

    def _line(self, raw: bytes) -> None:
        stamp, text = _split_stamp(raw)
        if self._open:
            shown = _shown(text)
            self._open = [(m, left - 1) for m, left in self._open if _add_after(m, shown, left)]
        if self._search.line(text) and self._budget.take_match():
            before = [_shown(_split_stamp(line)[1]) for line in self._before]
            match: _Found = {
                "time": stamp.decode("ascii", errors="replace") or None,
                "stream": self.stream,
                "line": _shown(text),
                "before": before,
                "after": [],
            }
            self.found.append(match)
            if self._context:
                self._open.append((match, self._context))
        if self._context:
            self._before.append(raw)


def _add_after(match: _Found, shown: str, left: int) -> bool:
    """Add ``shown`` to ``match``'s after-context; return whether it wants more."""
    match["after"].append(shown)
    return left > 1


@dataclass(frozen=True)
class _Plan:
    """A validated search."""

    search: LineSearch
    pattern: str
    regex: bool
    tail: int
    context: int
    max_matches: int
    #: The engine's ``since`` (a unix time), None for the whole log.
    since: str | None


async def _read_one(
    api: EngineClient, snap: Target, plan: _Plan, budget: _Budget, until: float, allowance: int
) -> tuple[list[LogMatch], SearchedContainer]:
    """Search one container's log, reading at most ``allowance`` bytes (drawn from ``budget``).

    Returns its matches and how its reading went; what it did not read goes back.
    """
    out = _Matcher("stdout", plan.search, plan.context, budget)
    err = _Matcher("stderr", plan.search, plan.context, budget)
    params: Params = {"stdout": True, "stderr": True, "timestamps": True, "tail": str(plan.tail)}
    if plan.since is not None:
        params = {**params, "since": plan.since}
    pieces = api.frames("GET", f"/containers/{snap.id}/logs", params, tty=snap.tty)
    outcome = await pump(
        pieces,
        {"stdout": out, "stderr": err},
        deadline_at=until,
        # pump takes at most max_read bytes: within the allowance drawn, so the readers
        # together never pass the cap.
        max_read=allowance,
        cancel=budget.stop,
    )
    budget.settle(allowance, outcome.bytes_read)
    reasons = set()
    if outcome.stopped == "cancelled" and budget.cancelled:
        reasons.add("cancelled")
    elif outcome.stopped == "cancelled":
        reasons.add("max_matches")
    elif outcome.stopped is not None:
        reasons.add(outcome.stopped)
    found = sorted(out.found + err.found, key=lambda m: m["time"] or "")
    matches = [
        LogMatch(
            container_id=snap.id,
            name=snap.name,
            time=m["time"],
            stream=m["stream"],
            line=m["line"],
            before=m["before"],
            after=m["after"],
        )
        for m in found
    ]
    searched = SearchedContainer(
        container_id=snap.id,
        name=snap.name,
        lines_read=out.lines + err.lines,
        matches=len(found),
        truncation=sorted(reasons),
    )
    return matches, searched


async def _search_all(
    api: EngineClient, snaps: list[Target], plan: _Plan, budget: _Budget, until: float
) -> tuple[list[LogMatch], list[SearchedContainer], list[str], list[str]]:
    """Read the containers' logs, ``SEARCH_READERS`` at a time; keep the order of ``snaps``.

    Returns the matches, each read container's report, the containers not read (their
    turn came when the search had stopped: matches found, cancelled, out of time or
    bytes) and those removed before their log was read (the others go on).
    """
    gate = asyncio.Semaphore(SEARCH_READERS)

    async def one(snap: Target) -> tuple[list[LogMatch], SearchedContainer] | str | None:
        async with gate:
            if budget.exhausted(until):
                return None
            allowance = budget.reserve()
            if not allowance:
                return None
            try:
                return await _read_one(api, snap, plan, budget, until, allowance)
            except ContainerNotFound:  # removed since it was listed
                return "gone"

    outcomes = await asyncio.gather(*(one(snap) for snap in snaps))
    matches: list[LogMatch] = []
    searched: list[SearchedContainer] = []
    not_searched: list[str] = []
    gone: list[str] = []
    for snap, outcome in zip(snaps, outcomes, strict=True):
        if outcome is None:
            not_searched.append(snap.name)
            continue
        if isinstance(outcome, str):
            gone.append(snap.name)
            continue
        found, report = outcome
        matches += found
        searched.append(report)
        budget.reasons.update(report["truncation"])
    return matches, searched, not_searched, gone


class SearchActions(ExecutorCore):
    """Search the logs of many containers at once, bounded in memory, matches and time."""

    async def search_logs(
        self,
        pattern: str,
        refs: list[str] | None = None,
        label: str | list[str] | None = None,
        compose_project: str | None = None,
        service: str | None = None,
        since: str | datetime | None = None,
        tail: int = DEFAULT_SEARCH_TAIL,
        regex: bool = False,
        ignore_case: bool = False,
        context: int = 0,
        max_matches: int = DEFAULT_MAX_MATCHES,
    ) -> SearchResult:
        """Return the lines matching ``pattern`` in the logs of many containers.

        The containers are ``refs`` (names or ids), or every container (stopped ones
        too) with the ``label``, Docker Compose project and ``service`` (a Compose
        service) given; with none of these, every container. ``pattern`` is a substring,
        or an RE2 regular expression when ``regex`` (no backreferences; linear time).
        Each container's last ``tail`` lines (since ``since``) are searched. A match has
        ``container_id``, ``name``, ``time``, ``stream``, ``line`` and ``context`` lines
        ``before``/``after`` from the same stream. At most ``max_matches`` are returned;
        ``truncated``/``truncation`` say when the search stopped early (``max_matches``,
        ``read_cap``, ``deadline``), and ``not_searched`` lists containers it did not
        reach; ``missing`` the refs no container answers to and the containers removed
        before their log was read. Requests: one listing, an inspect and a streamed log
        per container, ``SEARCH_READERS`` logs at a time.
        """
        search = compile_pattern(pattern, regex=regex, ignore_case=ignore_case)
        wanted = None if refs is None else _references(refs)
        chosen = container_filters(None, label, None, None, compose_project, service)
        plan = _Plan(
            search=search,
            pattern=pattern,
            regex=regex,
            tail=_bounded_int(tail, "tail", 1, MAX_SEARCH_TAIL),
            context=_bounded_int(context, "context", 0, MAX_CONTEXT_LINES),
            max_matches=_bounded_int(max_matches, "max_matches", 1, MAX_MATCHES),
            since=_since(since),
        )
        limit = self._call_deadline
        budget = _Budget(plan.max_matches)

        async def work() -> SearchResult:
            until = time.monotonic() + limit - min(SEARCH_MARGIN_S, limit / 4)
            snaps, missing = await chosen_targets(self._api, wanted, chosen)
            found = await _search_all(self._api, snaps, plan, budget, until)
            matches, searched, not_searched, gone = found
            missing += gone
            budget.stop.set()
            matches.sort(key=lambda match: match["time"] or "")
            if not_searched and not budget.reasons:
                budget.reasons.add("deadline")
            return SearchResult(
                pattern=plan.pattern,
                regex=plan.regex,
                matches=matches,
                match_count=len(matches),
                containers=searched,
                not_searched=not_searched,
                missing=missing,
                truncated=bool(budget.reasons),
                truncation=sorted(budget.reasons),
            )

        return await self._call("search logs", work)


def _references(refs: object) -> list[str]:
    """Return the distinct container references of ``refs``."""
    if isinstance(refs, str) or not isinstance(refs, list | tuple):
        raise InvalidInput(f"refs must be a list of container names or ids, got {refs!r}")
    if not 1 <= len(refs) <= MAX_SEARCH_CONTAINERS:
        raise InvalidInput(f"refs takes 1 to {MAX_SEARCH_CONTAINERS} containers, got {len(refs)}")
    return list(dict.fromkeys(validate_reference(ref) for ref in refs))


def _since(since: object) -> str | None:
    """Return the engine's ``since`` for the logs (a unix time), None without one."""
    bounds = window(since, None, datetime.now(UTC))
    return None if bounds.since is None else api_time(bounds.args[1], bounds.since)
