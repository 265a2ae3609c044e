"""Search many containers' logs at once, streaming, to find which of them logged a line.

Each container's log is read by one ``docker logs`` whose output is matched line by line
as it arrives; only the matches, their context lines and a few lines before are held, so
memory does not grow with the size of a log. A pattern is a plain substring unless
``regex`` is set; regular expressions run on RE2, whose time is linear in the input, so a
pattern an agent wrote cannot hang the process; its length is capped too.

Bounds: ``tail`` lines per container (from the end of its log), ``max_matches`` matches in
all (reading stops once they are found), ``MAX_SEARCH_READ_BYTES`` read in all, each kept
line cut at ``MAX_SEARCH_LINE_BYTES``, and the call's deadline (the containers not reached
in time are listed). Context lines come from the same stream as their match.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

import re2

from operator_core.docker import _batch
from operator_core.docker._capture import capture, cli_failure, docker_command
from operator_core.docker._core import ExecutorCore
from operator_core.docker._state import snapshot
from operator_core.docker._window import window
from operator_core.docker.discovery import container_filters
from operator_core.errors import InvalidInput
from operator_core.limits import (
    DEFAULT_MAX_MATCHES,
    DEFAULT_SEARCH_TAIL,
    MAX_CONTEXT_LINES,
    MAX_MATCHES,
    MAX_PATTERN_LENGTH,
    MAX_SEARCH_CONTAINERS,
    MAX_SEARCH_TAIL,
)
from operator_core.validate import validate_reference

__all__ = ["LogMatch", "SearchActions", "SearchResult", "SearchedContainer", "compile_pattern"]

#: The most bytes read from all the containers' logs of one search.
MAX_SEARCH_READ_BYTES = 512 * 1024 * 1024
#: Bytes of a line that are matched; the rest of a longer line is not searched.
MAX_SEARCH_LINE_BYTES = 16 * 1024
#: Bytes of a matched or context line that are returned.
MAX_SHOWN_LINE_BYTES = 2 * 1024
#: RE2's memory budget for one compiled pattern.
_RE2_MAX_MEM = 8 * 1024 * 1024
#: Time kept back from the call's deadline to return what was found.
SEARCH_MARGIN_S = 2.0


class LogMatch(TypedDict):
    """One matching line, with its container and context."""

    container_id: str
    name: str
    time: str | None
    stream: str
    line: str
    before: list[str]
    after: list[str]


class SearchedContainer(TypedDict):
    """How the search of one container went."""

    container_id: str
    name: str
    lines_read: int
    matches: int
    truncation: list[str]


class SearchResult(TypedDict):
    """What ``search_logs`` returns."""

    pattern: str
    regex: bool
    matches: list[LogMatch]
    match_count: int
    containers: list[SearchedContainer]
    not_searched: list[str]
    missing: list[str]
    truncated: bool
    truncation: list[str]


def compile_pattern(pattern: object, *, regex: bool, ignore_case: bool) -> Callable[[str], bool]:
    """Return a test for lines holding ``pattern``; InvalidInput for a bad or huge pattern."""
    if not isinstance(pattern, str) or not pattern:
        raise InvalidInput("pattern must be a non-empty string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidInput(
            f"pattern is {len(pattern)} characters long; at most {MAX_PATTERN_LENGTH}"
        )
    for flag, what in ((regex, "regex"), (ignore_case, "ignore_case")):
        if not isinstance(flag, bool):
            raise InvalidInput(f"{what} must be true or false, got {type(flag).__name__}")
    if not regex:
        needle = pattern.casefold() if ignore_case else pattern
        if ignore_case:
            return lambda line: needle in line.casefold()
        return lambda line: needle in line
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.max_mem = _RE2_MAX_MEM
    options.log_errors = False
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        raise InvalidInput(f"pattern is not a regular expression RE2 accepts: {exc}") from None
    return lambda line: compiled.search(line) is not None


def _bounded_int(value: object, what: str, low: int, high: int) -> int:
    """Return ``value`` if it is a whole number in [low, high], else raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be a whole number, got {type(value).__name__}")
    if not low <= value <= high:
        raise InvalidInput(f"{what} must be from {low} to {high}, got {value}")
    return value


def _text(raw: bytes) -> tuple[str | None, str]:
    """Return the engine's timestamp of a ``--timestamps`` line and its text, cut for showing."""
    stamp, space, rest = raw.partition(b" ")
    if not space or not stamp[:1].isdigit():
        stamp, rest = b"", raw
    shown = rest[:MAX_SHOWN_LINE_BYTES].decode("utf-8", errors="replace").removesuffix("\r")
    return stamp.decode("ascii", errors="replace") or None, shown


@dataclass
class _Budget:
    """What one search may still take, shared by every container's reading."""

    matches_left: int
    bytes_left: int = MAX_SEARCH_READ_BYTES
    #: Set to stop every reading: the matches are found, or the call was cancelled.
    stop: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False
    reasons: set[str] = field(default_factory=set)

    def cancel(self) -> None:
        """Stop reading because the call was cancelled."""
        self.cancelled = True
        self.stop.set()

    def take_match(self) -> bool:
        """Count one match; stop reading when none are left. Return whether it fits."""
        if self.matches_left <= 0:
            return False
        self.matches_left -= 1
        if self.matches_left == 0:
            self.reasons.add("max_matches")
            self.stop.set()
        return True


class _Matcher:
    """A sink for one stream: splits lines, tests each, keeps matches with their context."""

    def __init__(
        self, stream: str, test: Callable[[str], bool], context: int, budget: _Budget
    ) -> None:
        self.stream, self._test, self._context, self._budget = stream, test, context, budget
        self._before: deque[str] = deque(maxlen=context)
        self._open: list[tuple[dict[str, Any], int]] = []
        self._part = bytearray()
        self._part_len = 0
        self.found: list[dict[str, Any]] = []
        self.lines = 0

    def feed(self, data: bytes) -> None:
        """Split ``data`` at newlines, testing each finished line."""
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            self._extend(data, start, end)
            self._finish()
            start = end + 1
        self._extend(data, start, len(data))

    def close(self) -> None:
        """Test a last line that had no newline."""
        if self._part_len:
            self._finish()

    def _extend(self, data: bytes, start: int, end: int) -> None:
        room = MAX_SEARCH_LINE_BYTES - len(self._part)
        if room > 0:
            self._part += data[start : min(end, start + room)]
        self._part_len += end - start

    def _finish(self) -> None:
        raw = bytes(self._part)
        self._part.clear()
        self._part_len = 0
        self.lines += 1
        stamp, shown = _text(raw)
        full = raw.decode("utf-8", errors="replace")
        self._open = [(m, left - 1) for m, left in self._open if self._feed_after(m, shown, left)]
        if self._test(full.partition(" ")[2] if stamp else full) and self._budget.take_match():
            match: dict[str, Any] = {"time": stamp, "stream": self.stream, "line": shown}
            match |= {"before": list(self._before), "after": []}
            self.found.append(match)
            if self._context:
                self._open.append((match, self._context))
        self._before.append(shown)

    @staticmethod
    def _feed_after(match: dict[str, Any], shown: str, left: int) -> bool:
        """Add ``shown`` to ``match``'s after-context; return whether it wants more."""
        match["after"].append(shown)
        return left > 1


@dataclass(frozen=True)
class _Plan:
    """A validated search."""

    test: Callable[[str], bool]
    pattern: str
    regex: bool
    tail: int
    context: int
    max_matches: int
    window: list[str]


def _read_one(client: Any, snap: Any, plan: _Plan, budget: _Budget, until: float) -> Any:
    """Search one container's log; return its matches and how its reading went."""
    out = _Matcher("stdout", plan.test, plan.context, budget)
    err = _Matcher("stderr", plan.test, plan.context, budget)
    args = ["container", "logs", "--timestamps", "--tail", str(plan.tail), *plan.window, snap.id]
    outcome = capture(
        docker_command(client, args),
        stdout=out,
        stderr=err,
        deadline_at=until,
        max_read=budget.bytes_left,
        cancel=budget.stop,
    )
    budget.bytes_left -= outcome.bytes_read
    if outcome.stopped is None and outcome.returncode != 0:
        raise cli_failure(outcome, "logs", container=snap.id)
    reasons = set()
    if outcome.stopped == "cancelled" and budget.cancelled:
        reasons.add("cancelled")
    elif outcome.stopped == "cancelled":
        reasons.add("max_matches")
    elif outcome.stopped is not None:
        reasons.add(outcome.stopped)
    found = sorted(out.found + err.found, key=lambda m: m["time"] or "")
    identity = {"container_id": snap.id, "name": snap.name}
    matches = [LogMatch(**identity, **m) for m in found]  # type: ignore[typeddict-item]
    searched = SearchedContainer(
        container_id=snap.id,
        name=snap.name,
        lines_read=out.lines + err.lines,
        matches=len(found),
        truncation=sorted(reasons),
    )
    return matches, searched


def _chosen(client: Any, refs: list[str] | None, filters: Any) -> tuple[list[Any], list[str]]:
    """Return the snapshots of the containers to search and the refs that name none."""
    if refs is not None:
        models, missing = _batch.inspect_many(client, refs)
        return [snapshot(model) for model in models], missing
    ids = _batch.list_ids(client, include_stopped=True, filters=filters.docker_args())
    models, _ = _batch.inspect_many(client, ids)
    snaps = [snapshot(model) for model in models]
    return [snap for snap in snaps if filters.keeps(snap)], []


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
        reach. Docker processes: one listing (or one inspect), then one ``docker logs``
        per container, one at a time.
        """
        test = compile_pattern(pattern, regex=regex, ignore_case=ignore_case)
        wanted = None if refs is None else _references(refs)
        chosen = container_filters(None, label, None, None, compose_project, service)
        plan = _Plan(
            test=test,
            pattern=pattern,
            regex=regex,
            tail=_bounded_int(tail, "tail", 1, MAX_SEARCH_TAIL),
            context=_bounded_int(context, "context", 0, MAX_CONTEXT_LINES),
            max_matches=_bounded_int(max_matches, "max_matches", 1, MAX_MATCHES),
            window=window(since, None, datetime.now(UTC)).args,
        )
        limit = self._call_deadline
        budget = _Budget(plan.max_matches)

        def work(client: Any) -> SearchResult:
            until = time.monotonic() + limit - min(SEARCH_MARGIN_S, limit / 4)
            snaps, missing = _chosen(client, wanted, chosen)
            matches: list[LogMatch] = []
            searched: list[SearchedContainer] = []
            not_searched: list[str] = []
            for snap in snaps:
                if budget.stop.is_set() or time.monotonic() >= until or budget.bytes_left <= 0:
                    not_searched.append(snap.name)
                    continue
                found, report = _read_one(client, snap, plan, budget, until)
                matches += found
                searched.append(report)
                budget.reasons.update(report["truncation"])
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

        return await self._run("search logs", work, on_cancel=budget.cancel)


def _references(refs: object) -> list[str]:
    """Return the distinct container references of ``refs``."""
    if isinstance(refs, str) or not isinstance(refs, list | tuple):
        raise InvalidInput(f"refs must be a list of container names or ids, got {refs!r}")
    if not 1 <= len(refs) <= MAX_SEARCH_CONTAINERS:
        raise InvalidInput(f"refs takes 1 to {MAX_SEARCH_CONTAINERS} containers, got {len(refs)}")
    return list(dict.fromkeys(validate_reference(ref) for ref in refs))
