"""Every bound and default of the actions: the one source for the executor, tools and CLI.

The executor enforces these; the tool layer's input models and the command line's
options take their bounds and defaults from here, so the three cannot drift apart.
Seconds are floats or ints as the engine takes them (a grace period is whole seconds).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_CALL_DEADLINE_S",
    "DEFAULT_DRAIN_WAIT_S",
    "DEFAULT_EVENT_LIMIT",
    "DEFAULT_EXEC_TIMEOUT_S",
    "DEFAULT_GRACE_S",
    "DEFAULT_MAX_MATCHES",
    "DEFAULT_SCALE_WAIT_S",
    "DEFAULT_SEARCH_TAIL",
    "DEFAULT_TAIL",
    "DEFAULT_UPDATE_WAIT_S",
    "DEFAULT_WAIT_S",
    "EXEC_OUTPUT_CAP",
    "HTTP_MAX_SESSIONS",
    "HTTP_READ_TIMEOUT_S",
    "HTTP_SESSION_IDLE_S",
    "MAX_BATCH",
    "MAX_CALL_DEADLINE_S",
    "MAX_CONTEXT_LINES",
    "MAX_EVENT_LIMIT",
    "MAX_EXEC_TIMEOUT_S",
    "MAX_GRACE_S",
    "MAX_LABEL_FILTERS",
    "MAX_LABEL_FILTER_LENGTH",
    "MAX_MATCHES",
    "MAX_PATTERN_LENGTH",
    "MAX_REPLICAS",
    "MAX_SEARCH_CONTAINERS",
    "MAX_SEARCH_TAIL",
    "MAX_STATS_REFS",
    "MAX_SWARM_WAIT_S",
    "MAX_TAIL",
    "MAX_WAIT_S",
]

#: The bound on a call that has no grace period of its own (inspect, start, ...).
DEFAULT_CALL_DEADLINE_S = 30.0
#: The longest ``call_deadline`` an executor may be given.
MAX_CALL_DEADLINE_S = 24 * 3600.0

#: The grace period of a stop or restart unless asked otherwise (the engine's own default).
DEFAULT_GRACE_S = 10
#: A grace period longer than an hour is a mistake, not a plan.
MAX_GRACE_S = 3600

#: How long a command may run unless asked otherwise.
DEFAULT_EXEC_TIMEOUT_S = 30
#: The longest ``timeout`` a command may be given.
MAX_EXEC_TIMEOUT_S = 3600.0
#: Bytes kept of each of stdout and stderr: the first half and the last half.
EXEC_OUTPUT_CAP = 64 * 1024

#: How many of the last lines a call returns unless asked otherwise.
DEFAULT_TAIL = 100
#: The most lines one call returns; a larger ``tail`` is capped (the result says so).
MAX_TAIL = 10_000

#: How long a wait lasts unless asked otherwise.
DEFAULT_WAIT_S = 60
#: The longest wait one call may ask for.
MAX_WAIT_S = 3600.0

#: The most references one ``inspect_containers`` call takes.
MAX_BATCH = 1000

#: How many events one read returns unless asked otherwise (the newest are kept).
DEFAULT_EVENT_LIMIT = 500
#: The most events one read returns.
MAX_EVENT_LIMIT = 10_000
#: The most containers one stats call names.
MAX_STATS_REFS = 200

#: How long a scale waits for its tasks unless asked otherwise.
DEFAULT_SCALE_WAIT_S = 120
#: How long a service restart or rollback waits for the rolling change unless asked otherwise.
DEFAULT_UPDATE_WAIT_S = 300
#: How long a drain waits for the node's tasks to move unless asked otherwise.
DEFAULT_DRAIN_WAIT_S = 120
#: The longest a swarm action may wait for the cluster to converge.
MAX_SWARM_WAIT_S = 3600.0
#: More replicas than this in one call is a mistake, not a plan.
MAX_REPLICAS = 10_000

#: How many of each container's last lines a log search reads unless asked otherwise.
DEFAULT_SEARCH_TAIL = 10_000
#: The most lines of one container a log search reads (they stream, none is held).
MAX_SEARCH_TAIL = 1_000_000
#: How many matches a log search returns unless asked otherwise.
DEFAULT_MAX_MATCHES = 200
#: The most matches one log search returns.
MAX_MATCHES = 1000
#: The most context lines kept before and after each match.
MAX_CONTEXT_LINES = 10
#: The longest search pattern, in characters.
MAX_PATTERN_LENGTH = 1000
#: The most containers one log search names.
MAX_SEARCH_CONTAINERS = 200

#: The MCP server over HTTP: the most sessions open at once (the SDK alone: 10,000).
HTTP_MAX_SESSIONS = 100
#: Seconds without a request after which an HTTP MCP session is closed.
HTTP_SESSION_IDLE_S = 600.0
#: Seconds a client has for a request's headers, and again for its body.
HTTP_READ_TIMEOUT_S = 10.0

#: How many label filters one listing or search may give (all must match).
MAX_LABEL_FILTERS = 32
#: The longest label filter, ``key`` or ``key=value``, in characters.
MAX_LABEL_FILTER_LENGTH = 1024
