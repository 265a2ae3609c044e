"""The MCP server: every tool of ``operator_core.tools`` served over MCP (``operator mcp``).

Built on the official ``mcp`` SDK (2.x, low-level ``Server``). ``tools/list`` returns
each tool's JSON Schema and its hints (readOnlyHint, destructiveHint, idempotentHint);
``tools/call`` goes through the tool runner, so the policy (mode, protection, rate
limits, approval, dry run) and the audit trail apply to every call exactly as for the
command line. The actor recorded is the MCP client, ``mcp:<clientInfo.name>/<version>``.

A result is structured (``structuredContent`` holds the runner's envelope, ``{"ok":
true, "result": ...}``) and readable (one ``TextContent`` with the same JSON); a large
one (over 64 KiB) comes once, as text only, cleaned of control characters and bounded
in bytes (``operator_core.mcp.payload``). A failed or denied call is a tool error
(``isError: true``) carrying the envelope's error, never a protocol error and never the
end of the server.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Protocol

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.message import SessionMessage

from operator_core.audit.redact import redacted_traceback
from operator_core.errors import ApprovalUnavailable, OperatorError
from operator_core.mcp.payload import call_result
from operator_core.mcp.wire import AnsweringReadStream
from operator_core.policy import ApprovalRequest
from operator_core.runner.envelope import Envelope, error_envelope, internal_envelope
from operator_core.tools import TOOLS, ToolSpec
from operator_core.tools.answers import COMPACT, lean_envelope, option_schema, split_options
from operator_core.tools.offer import Offer
from operator_core.words import json_object

__all__ = [
    "DEFAULT_HTTP_HOST",
    "SERVER_NAME",
    "ToolCaller",
    "build_server",
    "call_result",
    "client_actor",
    "elicit_approval",
    "mcp_tool",
    "policy_note",
    "serve_http",
    "serve_stdio",
]

logger = logging.getLogger(__name__)

SERVER_NAME = "operator-core"
#: Streamable HTTP binds to the loopback interface unless told otherwise: anything that
#: reaches the port can act on containers, so another address needs a bearer token
#: (``operator_core.mcp.http``, ``operator_core.mcp.auth``).
DEFAULT_HTTP_HOST = "127.0.0.1"

_INSTRUCTIONS = (
    "Tools to look at and act on Docker containers safely. Start with "
    "docker_list_containers, read with docker_inspect_container and "
    "docker_get_container_logs, act (restart, stop, ...) only when the evidence says so, "
    "then confirm with docker_wait_for_container. A policy decides what may run: a "
    "denied call returns isError with the rule that denied it and what to do instead; "
    "do not retry a denial unchanged. Every call is recorded in an audit trail."
)


class ToolCaller(Protocol):
    """What the server needs of the tool layer: ``execute_tool`` returning an envelope."""

    async def execute_tool(
        self,
        name: str,
        arguments: object,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> Envelope:
        """Validate, apply the policy, run, audit; return ``{ok, result}`` or ``{ok, error}``."""
        ...


#: The MCP request being served in this task (for the approval callback).
_REQUEST: ContextVar[ServerRequestContext[object, object] | None] = ContextVar(
    "operator_core_mcp_request", default=None
)

_APPROVAL_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "approve": {
            "type": "boolean",
            "title": "Approve",
            "description": "Let the agent run this action now.",
        }
    },
    "required": ["approve"],
}


def _can_elicit(ctx: ServerRequestContext[object, object]) -> bool:
    """Whether the client declared elicitation and this request can carry a server request."""
    wanted = types.ClientCapabilities(elicitation=types.ElicitationCapability())
    return ctx.session.can_send_request and ctx.session.check_client_capability(wanted)


async def elicit_approval(request: ApprovalRequest) -> bool:
    """Ask the person behind the MCP client (elicitation) whether the call may run.

    True only for an explicit accept with ``approve`` true; decline and cancel are no.
    Raises ApprovalUnavailable when the client cannot be asked (the call is then denied
    as ``approval.unavailable``, with the reason).
    """
    ctx = _REQUEST.get()
    if ctx is None or not _can_elicit(ctx):
        raise ApprovalUnavailable(
            "this MCP client cannot ask its user (no elicitation on this connection)"
        )
    answer = await ctx.session.elicit_form(
        f"{request.describe()} Approve?", _APPROVAL_SCHEMA, related_request_id=ctx.request_id
    )
    return answer.action == "accept" and (answer.content or {}).get("approve") is True


def policy_note(mode: str, dry_run: bool) -> str:
    """Return what an agent should know up front about the policy in force."""
    if mode == "observe":
        note = (
            "The policy is in observe mode: only read-only tools (list, inspect, logs, "
            "wait) run; tools that change containers are denied, so report what you would "
            "do instead."
        )
    else:
        note = (
            "The policy is in execute mode: tools that change containers may run, within "
            "its protected containers, scope, rate limits and approvals."
        )
    if dry_run:
        note += " Dry run is on: changes are only described, never made."
    return note


def mcp_tool(spec: ToolSpec) -> types.Tool:
    """Return ``spec`` as an MCP ``Tool`` (schema and annotations from the one definition).

    A listing tool also takes ``fields`` and ``verbose`` (``operator_core.tools.answers``).
    """
    shape = spec.mcp()
    if spec.name in COMPACT:
        schema = json_object(shape["inputSchema"])
        properties = json_object(schema.get("properties"))
        shape["inputSchema"] = {**schema, "properties": {**properties, **option_schema()}}
    return types.Tool.model_validate(shape)


def client_actor(ctx: ServerRequestContext[object, object] | None) -> str:
    """Return the audit actor of the client behind ``ctx``: ``mcp:<name>/<version>``."""
    info = None
    if ctx is not None:
        params = ctx.session.client_params
        info = params.client_info if params is not None else None
    if info is None or not info.name:
        return "mcp:unknown-client"
    return f"mcp:{info.name}/{info.version}" if info.version else f"mcp:{info.name}"


async def _run_call(
    runner: ToolCaller,
    ctx: ServerRequestContext[object, object],
    params: types.CallToolRequestParams,
    offered: Offer,
) -> types.CallToolResult:
    """Run one tools/call through ``runner`` as the client's actor; never raise.

    A tool not offered for its toolset is denied here, saying why; a listing's ``fields``
    and ``verbose`` are taken off before the runner sees the call and shape its answer.
    The request context is available to ``elicit_approval`` while the call runs.
    """
    denial = offered.denial(params.name)
    if denial is not None:
        return call_result(error_envelope(denial))
    try:
        options, arguments = split_options(params.name, params.arguments or {})
    except OperatorError as exc:
        return call_result(error_envelope(exc))
    actor = client_actor(ctx)
    token = _REQUEST.set(ctx)
    try:
        envelope = await runner.execute_tool(params.name, arguments, actor=actor)
        envelope = lean_envelope(params.name, envelope, options, arguments)
    except Exception as exc:  # the runner returns envelopes; this is a last resort
        logger.error(
            "tool %s raised instead of returning an envelope:\n%s",
            params.name,
            redacted_traceback(exc),
        )
        envelope = internal_envelope(exc)
    finally:
        _REQUEST.reset(token)
    return call_result(envelope)


def build_server(
    runner: ToolCaller,
    *,
    specs: Iterable[ToolSpec] = TOOLS,
    version: str = "",
    policy_note: str | None = None,
    offered: Offer | None = None,
) -> Server[object]:
    """Return an MCP server offering ``specs`` and running them through ``runner``.

    ``offered``: the tools the policy allows (``operator_core.tools.offer``); given, it
    replaces ``specs``, and a call to a tool it left out for its toolset is denied.

    ``policy_note`` is added to the server's instructions (e.g. which mode is in force),
    so an agent knows before its first call what it will be allowed to do.

    While a call runs, its request context is available to ``elicit_approval`` (give
    that to the runner as its approver to ask the client's user).
    """
    offered = offered if offered is not None else Offer(tuple(specs))
    tools = [mcp_tool(spec) for spec in offered.specs]

    async def list_tools(
        ctx: ServerRequestContext[object, object], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[object, object], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return await _run_call(runner, ctx, params, offered)

    return Server(
        SERVER_NAME,
        version=version,
        title="operator-core: safe Docker actions",
        instructions=f"{_INSTRUCTIONS} {policy_note}" if policy_note else _INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(server: Server[object]) -> None:
    """Serve ``server`` over this process's stdin and stdout until the client hangs up.

    A line that is not one JSON-RPC 2.0 message is answered with a JSON-RPC error
    (``operator_core.mcp.wire``), never left unanswered.
    """
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        answering = AnsweringReadStream[SessionMessage](read_stream, write_stream)
        await server.run(answering, write_stream, server.create_initialization_options())


async def serve_http(
    server: Server[object],
    *,
    port: int,
    host: str = DEFAULT_HTTP_HOST,
    sock: socket.socket | None = None,
) -> None:
    """Serve ``server`` over streamable HTTP at ``http://host:port/mcp`` until stopped.

    With the default bounds and no token; ``operator_core.mcp.http.serve_http`` takes
    them all (token, TLS, session and read bounds). ``sock``: a socket already bound to
    ``host:port``; without it the server binds the port itself.
    """
    from operator_core.mcp.http import HttpOptions
    from operator_core.mcp.http import serve_http as serve_options

    await serve_options(server, HttpOptions(host=host, port=port), sock=sock)
