"""Run one tool call for the command line: build the runner, show progress, ask approval.

Every ``operator docker ...`` command ends in ``call_tool``: it builds a ``ToolRunner``
from the global options (engine, policy, mode, dry run, audit file), runs the tool with
a spinner and the elapsed time on stderr, and returns the envelope. The actor recorded
in the audit trail is ``cli:<user>``.

Rate limits: each ``operator`` command is a new process; the runner starts its counts
from the audit trail's recent actions, so a shell loop of ``operator docker restart
web`` meets the policy's limit just as a looping agent does (same ``--audit-db``).

Approval: where the policy wants a yes for a tool (by default: high-risk tools such as
stop, restart, kill and exec), the person at the terminal is asked; ``--yes`` answers
yes in advance (for scripts). Without a terminal and without ``--yes`` there is nobody
to ask: the approver raises ``ApprovalUnavailable``, so the call is denied as
``approval.unavailable`` and the hint says to pass ``--yes``. A question nobody answers
within the policy's ``[approval] timeout_s`` is denied as ``approval.timeout`` and the
command exits at once (``operator_core.cli.prompt``: nothing is left reading stdin).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import cast

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.text import Text

from operator_core.audit import open_audit
from operator_core.cli.interrupts import Interrupt, default_interrupt, handling_interrupts
from operator_core.cli.prompt import ask_yes_no
from operator_core.cli.settings import Settings
from operator_core.docker import DockerActionExecutor
from operator_core.errors import ApprovalUnavailable, OperatorError
from operator_core.fleet import Fleet, FleetExecutor
from operator_core.policy import ApprovalRequest, Approver
from operator_core.runner import ContainerExecutor, ToolRunner
from operator_core.watch.timeline import with_history
from operator_core.words import JSONObject

__all__ = [
    "Spinner",
    "Wrap",
    "call_tool",
    "container_names",
    "make_approver",
    "open_runner",
    "spinner",
]

#: What replaces the runner's executor by one built around it (``logs -f`` follows).
Wrap = Callable[[ContainerExecutor], ContainerExecutor]


class _Elapsed(ProgressColumn):
    """Seconds since the task started, to a tenth."""

    def render(self, task: Task) -> Text:
        """Return e.g. '3.4s'."""
        return Text(f"{task.elapsed or 0.0:.1f}s", style="cyan")


class Spinner:
    """A transient spinner with elapsed time on a console (nothing when it is no terminal)."""

    def __init__(self, console: Console, message: str) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            _Elapsed(),
            console=console,
            transient=True,
        )
        self._progress.add_task(message, total=None)

    def __enter__(self) -> Spinner:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hide the spinner while the block runs (e.g. to ask a question)."""
        self._progress.stop()
        try:
            yield
        finally:
            self._progress.start()


@contextmanager
def spinner(console: Console, message: str | None) -> Iterator[Spinner | None]:
    """Show a spinner with ``message`` while the block runs; None shows nothing."""
    if message is None:
        yield None
        return
    with Spinner(console, message) as shown:
        yield shown


def _interactive(console: Console) -> bool:
    """Whether a person can answer a question: stdin and the console are terminals."""
    return sys.stdin.isatty() and console.is_terminal


def make_approver(settings: Settings, console: Console, shown: list[Spinner | None]) -> Approver:
    """Return how this invocation approves: --yes, a prompt on a terminal, or nobody.

    Nobody (no terminal, no --yes): the approver raises ApprovalUnavailable, saying so.
    ``shown`` holds the spinner to hide while asking (filled in once it exists).
    """
    if settings.yes:

        async def approve_in_advance(request: ApprovalRequest) -> bool:
            return True

        return approve_in_advance
    if not _interactive(console):

        async def nobody_to_ask(request: ApprovalRequest) -> bool:
            raise ApprovalUnavailable(
                "there is no terminal to ask on, and --yes was not given to approve in advance"
            )

        return nobody_to_ask

    async def ask(request: ApprovalRequest) -> bool:
        arguments, reason = request.shown(limit=300)
        why = f"\n  reason: {reason}" if reason else ""
        question = escape(
            f"  arguments: {arguments}{why}\n"
            f"Run {request.tool} ({request.risk} risk){request.target()}?"
        )
        current = shown[0] if shown else None
        if current is None:
            return await ask_yes_no(question, console, sys.stdin.fileno())
        with current.paused():
            return await ask_yes_no(question, console, sys.stdin.fileno())

    return ask


@asynccontextmanager
async def open_runner(
    settings: Settings,
    *,
    approver: Approver | None = None,
    wrap: Wrap | None = None,
) -> AsyncIterator[ToolRunner]:
    """Yield a runner for the global options; the audit file is closed afterwards.

    The runner starts its rate limits from the audit trail's recent actions. Its
    ``get_events`` merges the engine's events with the watch's history (``--history-db``,
    when a watch made it). ``wrap`` replaces the executor by one built around it
    (``logs -f``'s following executor).
    Raises PolicyError (bad policy file), InvalidInput (--host with --context) or
    AuditError (audit file unusable) before anything runs.
    """
    policy = settings.policy()
    executor = _executor(settings)
    audit = open_audit(settings.audit_db)
    # get_events also answers from the watch's history (opened by the first get_events).
    merged = with_history(executor, settings.history_db)
    try:
        yield ToolRunner(
            merged if wrap is None else wrap(merged),
            policy=policy,
            audit=audit,
            approver=approver,
        )
    finally:
        await audit.close()
        await merged.close_history()
        await _close(executor)


async def call_tool(
    settings: Settings,
    tool: str,
    arguments: Mapping[str, object],
    *,
    console: Console,
    progress: str | None = None,
    interrupt: Interrupt | None = None,
    wrap: Wrap | None = None,
) -> JSONObject:
    """Run ``tool`` through the policy and audit trail; return its envelope.

    ``progress`` is the spinner's message (None: no spinner), shown on ``console``
    (stderr) so that ``--json`` output on stdout stays clean. ``interrupt`` says what
    Ctrl-C does (default: acknowledge, let the engine's work end, record; a second
    Ctrl-C leaves at once). Cancelled by Ctrl-C, the call raises CancelledError.
    """
    shown: list[Spinner | None] = [None]
    approver = make_approver(settings, console, shown)
    host = settings.fleet_host()
    given = dict(arguments) if host is None else {**arguments, "host": host}
    handling = interrupt or default_interrupt("the call", "operator audit show")
    async with open_runner(settings, approver=approver, wrap=wrap) as runner:
        with handling_interrupts(console, handling), spinner(console, progress) as current:
            shown[0] = current
            envelope = await runner.execute_tool(
                tool, given, actor=settings.actor, reason=settings.reason
            )
    # Results are JSON (the executor's TypedDicts): read here as JSON values are.
    return cast("JSONObject", envelope)


def _executor(settings: Settings) -> ContainerExecutor:
    """Return the executor of the global options: one engine's, or the inventory's fleet's."""
    inventory = settings.inventory()
    if inventory is None:
        return DockerActionExecutor(endpoint=settings.endpoint())
    # A FleetExecutor answers each method of the protocol through ``__getattr__``, each
    # taking a ``host`` too (``routes_hosts``): a type checker cannot see them.
    return cast("ContainerExecutor", FleetExecutor(Fleet(inventory)))


async def _close(executor: object) -> None:
    """Close an executor's connection pools (an executor handed in by a test may have none)."""
    close = getattr(executor, "aclose", None)
    if callable(close):
        await close()


#: The bound on reading the engine's container names for a hint or a completion.
NAMES_DEADLINE_S = 5.0


async def container_names(settings: Settings) -> list[str]:
    """Return the names of every container on the engine (none when it cannot tell quickly).

    Read with the executor directly (two docker processes, no policy, no audit record):
    it only feeds "did you mean" and shell completion. In a fleet: the names on the host
    the command went to (--host, else the inventory's default host).
    """
    try:
        inventory = settings.inventory()
        endpoint = (
            settings.endpoint()
            if inventory is None
            else inventory.host(settings.fleet_host() or inventory.default).endpoint()
        )
        executor = DockerActionExecutor(endpoint=endpoint, call_deadline=NAMES_DEADLINE_S)
    except OperatorError:
        return []
    try:
        listing = await executor.list_containers(all=True)
    except OperatorError:
        return []
    finally:
        await _close(executor)
    return [str(entry["name"]) for entry in listing["containers"] if entry.get("name")]
