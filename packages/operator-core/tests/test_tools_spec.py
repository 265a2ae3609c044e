"""Unit tests of the tool definitions: schemas, the three list shapes, validation, coercion."""

from __future__ import annotations

import inspect
import json

import pytest

from operator_core.errors import InvalidArguments, UnknownTool
from operator_core.tools import (
    REGISTRY,
    TOOLS,
    Risk,
    anthropic_tools,
    get_tool,
    lookup_tool,
    mcp_tools,
    openai_tools,
    tool_list,
    validate_arguments,
)
from tool_fakes import FakeExecutor

# Every executor method the issue lists, with the risk the issue gives it.
EXPECTED_RISK = {
    "list_containers": "low",
    "inspect_container": "low",
    "inspect_containers": "low",
    "get_container_logs": "low",
    "wait_for_container": "low",
    "start_container": "medium",
    "unpause_container": "medium",
    "connect_container_to_network": "medium",
    "stop_container": "high",
    "restart_container": "high",
    "kill_container": "high",
    "pause_container": "high",
    "disconnect_container_from_network": "high",
    "execute_command": "high",
    "get_events": "low",
    "container_stats": "low",
    "container_top": "low",
    "search_logs": "low",
    "list_services": "low",
    "inspect_service": "low",
    "list_service_tasks": "low",
    "get_service_logs": "low",
    "list_nodes": "low",
    "scale_service": "medium",
    "restart_service": "high",
    "rollback_service": "high",
    "set_node_availability": "high",
}

# Keywords a JSON Schema may use here; anything else (e.g. pydantic's "ge") is a leak.
SCHEMA_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "description", "default",
    "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "enum", "anyOf",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
}  # fmt: skip


def _keywords(schema: object) -> set[str]:
    """Return every keyword used anywhere in ``schema`` (property names excluded)."""
    if isinstance(schema, list):
        return set().union(*(_keywords(s) for s in schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key, value in schema.items():
        if key == "properties":
            found |= set().union(*(_keywords(v) for v in value.values()))
        elif key in ("items", "additionalProperties", "anyOf"):
            found |= _keywords(value)
    return found


def test_every_executor_method_is_one_tool_with_the_issues_risk():
    """Each executor method is exactly one tool, with the risk level the issue assigns."""
    by_method = {spec.method: spec for spec in TOOLS}
    assert len(by_method) == len(TOOLS) == len(REGISTRY)
    assert {m: s.risk.value for m, s in by_method.items()} == EXPECTED_RISK


def test_low_risk_tools_are_exactly_the_read_only_ones():
    """Read-only tools are low risk and idempotent; every other tool mutates."""
    for spec in TOOLS:
        assert spec.read_only == (spec.risk is Risk.LOW), spec.name
        assert spec.mutating == (not spec.read_only)
        if spec.read_only:
            assert spec.idempotent
            assert not spec.destructive


def test_tool_fields_match_the_executor_method_parameters():
    """Each input model's fields are parameters of its executor method (passed as kwargs)."""
    fake = FakeExecutor()
    for spec in TOOLS:
        params = inspect.signature(getattr(fake, spec.method)).parameters
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        for field in spec.input_model.model_fields:
            assert accepts_any or field in params, (spec.name, field)


def test_schema_is_derived_and_uses_only_json_schema_keywords():
    """The input schema comes from the model, forbids extra keys, is plain JSON Schema."""
    for spec in TOOLS:
        schema = spec.input_schema
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
        assert _keywords(schema) <= SCHEMA_KEYWORDS, spec.name
        for name, prop in schema["properties"].items():
            assert prop.get("description"), (spec.name, name)


def test_stop_schema_carries_bounds_defaults_and_required():
    """docker_stop_container: container_id required with a pattern; timeout 0..3600, default 10."""
    schema = get_tool("docker_stop_container").input_schema
    assert schema["required"] == ["container_id"]
    assert schema["properties"]["timeout"] == {
        "default": 10,
        "description": "Seconds after the stop signal until SIGKILL.",
        "maximum": 3600,
        "minimum": 0,
        "type": "integer",
    }
    assert schema["properties"]["container_id"]["pattern"].startswith("^[A-Za-z0-9]")


def test_anthropic_shape():
    """Anthropic tools are {name, description, input_schema} and nothing else."""
    tools = anthropic_tools()
    assert [t["name"] for t in tools] == [s.name for s in TOOLS]
    for tool, spec in zip(tools, TOOLS, strict=True):
        assert set(tool) == {"name", "description", "input_schema"}
        assert tool["input_schema"] == spec.listed_schema
        assert len(tool["description"]) > 60  # what, when, returns


def test_openai_shape():
    """OpenAI tools are {type: function, function: {name, description, parameters}}."""
    for tool, spec in zip(openai_tools(), TOOLS, strict=True):
        assert tool == {
            "type": "function",
            "function": {
                "name": spec.name,
                "description": spec.description,
                "parameters": spec.listed_schema,
            },
        }


def test_mcp_shape_with_annotations():
    """MCP tools carry inputSchema and the read-only/destructive/idempotent hints and title."""
    tools = {t["name"]: t for t in mcp_tools()}
    stop = tools["docker_stop_container"]
    assert stop["inputSchema"] == get_tool("docker_stop_container").listed_schema
    assert stop["title"] == "Stop a container"
    assert stop["annotations"] == {
        "readOnlyHint": False,
        "destructiveHint": True,
        "idempotentHint": True,
        "openWorldHint": False,
    }
    assert tools["docker_inspect_container"]["annotations"]["readOnlyHint"] is True
    assert tools["docker_restart_container"]["annotations"]["idempotentHint"] is False
    assert tools["docker_start_container"]["annotations"]["destructiveHint"] is False


def test_tool_list_takes_a_subset():
    """tool_list renders only the specs given."""
    subset = [get_tool("docker_inspect_container"), get_tool("docker_stop_container")]
    assert [t["name"] for t in tool_list("anthropic", subset)] == [
        "docker_inspect_container",
        "docker_stop_container",
    ]


def test_unknown_tool_suggests_the_closest_names():
    """An unknown name is UnknownTool naming the close matches and the full list."""
    with pytest.raises(UnknownTool) as caught:
        lookup_tool("docker_restart")
    assert caught.value.suggestions[:2] == ["docker_restart_service", "docker_restart_container"]
    assert "Did you mean docker_restart_service, docker_restart_container" in str(caught.value)
    assert "docker_list_containers" in str(caught.value)


def _problems(tool: str, arguments: object) -> list[dict]:
    """Return the problems validation reports for ``arguments``."""
    with pytest.raises(InvalidArguments) as caught:
        validate_arguments(get_tool(tool), arguments)
    return caught.value.problems


def test_missing_argument_is_named_with_how_to_fix_it():
    """A missing required field says it is required and what to send."""
    (problem,) = _problems("docker_stop_container", {})
    assert problem["field"] == "container_id"
    assert problem["problem"] == "is required but missing"
    assert problem["fix"].startswith("add `container_id`: a name or id")


def test_wrong_type_is_named_with_the_value_sent():
    """A wrong-typed value names the field, echoes the value and gives the expected type."""
    (problem,) = _problems("docker_stop_container", {"container_id": "web", "timeout": "soon"})
    assert problem["field"] == "timeout"
    assert problem["got"] == "soon"
    assert "integer" in problem["problem"]
    assert problem["fix"] == "set `timeout` to an integer from 0 to 3600 (default 10)"


def test_out_of_range_value_states_the_bound():
    """An out-of-range value states the bound it broke."""
    (problem,) = _problems("docker_get_container_logs", {"container_id": "web", "tail": 50000})
    assert problem == {
        "field": "tail",
        "problem": "should be less than or equal to 10000",
        "got": 50000,
        "fix": "set `tail` to an integer from 1 to 10000 (default 100)",
    }


def test_unknown_key_is_refused_with_the_closest_parameter():
    """An unknown key is an error (never ignored) that suggests the real parameter."""
    (problem,) = _problems("docker_stop_container", {"container_id": "web", "timout": 5})
    assert problem["field"] == "timout"
    assert "did you mean `timeout`?" in problem["fix"]


def test_bool_is_not_taken_as_a_number():
    """A JSON true where a number belongs is refused (pydantic alone would read it as 1)."""
    (problem,) = _problems("docker_stop_container", {"container_id": "web", "timeout": True})
    assert problem["problem"] == "must be a number, not true/false"


def test_bad_container_reference_and_enum():
    """A reference starting with '-' and an unknown enum value are both reported."""
    problems = _problems("docker_wait_for_container", {"container_id": "-rf", "condition": "happy"})
    assert [p["field"] for p in problems] == ["container_id", "condition"]
    assert problems[1]["fix"] == (
        'set `condition` to one of "running", "healthy", "exited", "removed"'
    )


def test_arguments_must_be_an_object():
    """A list where the argument object belongs is a problem at the top level."""
    (problem,) = _problems("docker_stop_container", ["web"])
    assert problem["field"] == "(arguments)"
    assert problem["fix"] == 'send an object such as {"container_id": "..."}'


def test_numbers_sent_as_strings_are_taken():
    """'10', '10.0' and ' 7 ' become ints; '2.5' becomes a float where a float belongs."""
    stop = get_tool("docker_stop_container")
    assert validate_arguments(stop, {"container_id": "w", "timeout": "10"}).timeout == 10
    assert validate_arguments(stop, {"container_id": "w", "timeout": "10.0"}).timeout == 10
    assert validate_arguments(stop, {"container_id": "w", "timeout": " 7 "}).timeout == 7
    wait = get_tool("docker_wait_for_container")
    model = validate_arguments(
        wait, {"container_id": "w", "condition": "running", "timeout": "2.5"}
    )
    assert model.timeout == 2.5


def test_lists_and_objects_sent_as_json_strings_are_parsed():
    """A command sent as '["ls","-l"]' and env as '{"A":"b"}' are parsed; so is refs."""
    exec_tool = get_tool("docker_execute_command")
    model = validate_arguments(
        exec_tool, {"container_id": "w", "command": '["ls", "-l"]', "env": '{"A": "b"}'}
    )
    assert model.command == ["ls", "-l"]
    assert model.env == {"A": "b"}
    many = validate_arguments(get_tool("docker_inspect_containers"), {"refs": '["a", "b"]'})
    assert many.refs == ["a", "b"]


def test_whole_arguments_sent_as_a_json_string_are_parsed():
    """Arguments arriving as one JSON string (some clients do that) are parsed."""
    model = validate_arguments(
        get_tool("docker_stop_container"), '{"container_id": "web", "timeout": "3"}'
    )
    assert (model.container_id, model.timeout) == ("web", 3)


def test_a_plain_string_command_is_refused_not_split():
    """'ls -l' as a command is refused with an example list; it is never split on spaces."""
    (problem,) = _problems("docker_execute_command", {"container_id": "w", "command": "ls -l"})
    assert problem["field"] == "command"
    assert '["ls", "-l", "/data"]' in problem["problem"]


def test_env_values_are_never_echoed_in_problems():
    """A wrong env value is reported without its value (it may be a secret)."""
    problems = _problems(
        "docker_execute_command",
        {"container_id": "w", "command": ["env"], "env": {"TOKEN": 12345}},
    )
    assert problems[0]["field"] == "env.TOKEN"
    assert "got" not in problems[0]
    assert "12345" not in json.dumps(problems)


def test_message_lists_every_problem_and_every_fix():
    """The error message itself says what is wrong and how to fix each fault."""
    with pytest.raises(InvalidArguments) as caught:
        validate_arguments(get_tool("docker_stop_container"), {"timeout": -1, "force": True})
    message = str(caught.value)
    assert message.startswith("Invalid arguments for docker_stop_container (3 problems)")
    for piece in ("`container_id` is required", "`timeout` should be greater", "remove `force`"):
        assert piece in message


def test_tool_enums_and_bounds_follow_the_executor():
    """Enums and caps in the schemas are the executor's own (no drift between the layers)."""
    from operator_core import limits
    from operator_core import words as types

    props = {spec.name: spec.input_schema["properties"] for spec in TOOLS}
    listing = props["docker_list_containers"]
    assert tuple(listing["status"]["anyOf"][0]["enum"]) == types.STATUSES
    assert tuple(listing["health"]["anyOf"][0]["enum"]) == types.HEALTHS
    assert tuple(props["docker_wait_for_container"]["condition"]["enum"]) == types.CONDITIONS
    assert props["docker_get_container_logs"]["tail"]["maximum"] == limits.MAX_TAIL
    assert props["docker_get_container_logs"]["tail"]["default"] == limits.DEFAULT_TAIL


def test_tool_limits_and_defaults_are_the_executors_own():
    """Defaults, caps, patterns and enums of every tool come from the executor, not copies.

    Each default equals the executor method's; the reference pattern and the stream enum
    are the executor's; the grace, exec, wait and batch caps are the executor's limits
    (the tool layer neither tightens nor loosens them).
    """
    from operator_core import limits
    from operator_core import words as types
    from operator_core.docker import DockerActionExecutor
    from operator_core.validate import REFERENCE_PATTERN

    props = {spec.name: spec.input_schema["properties"] for spec in TOOLS}
    for spec in TOOLS:
        params = inspect.signature(getattr(DockerActionExecutor, spec.method)).parameters
        for field, info in spec.input_model.model_fields.items():
            if not info.is_required():
                assert info.default == params[field].default, (spec.name, field)
        reference = props[spec.name].get("container_id")
        if reference is not None:
            assert reference["pattern"] == REFERENCE_PATTERN
    assert tuple(props["docker_get_container_logs"]["stream"]["enum"]) == types.STREAMS
    assert props["docker_stop_container"]["timeout"]["maximum"] == limits.MAX_GRACE_S
    exec_cap = props["docker_execute_command"]["timeout"]["maximum"]
    assert exec_cap == limits.MAX_EXEC_TIMEOUT_S
    wait_cap = props["docker_wait_for_container"]["timeout"]["maximum"]
    assert wait_cap == limits.MAX_WAIT_S
    refs = props["docker_inspect_containers"]["refs"]
    assert refs["maxItems"] == limits.MAX_BATCH


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("docker_kill_container", {"signal": "SIGFOO"}, "signal"),
        ("docker_kill_container", {"signal": 99}, "signal"),
        ("docker_kill_container", {"signal": "\u0662"}, "signal"),
        ("docker_execute_command", {"command": ["id"], "user": "root; rm"}, "user"),
        ("docker_execute_command", {"command": ["id"], "workdir": "relative/dir"}, "workdir"),
        ("docker_execute_command", {"command": ["id"], "workdir": "/a\nb"}, "workdir"),
        ("docker_execute_command", {"command": ["id"], "env": {"BAD-KEY": "x"}}, "env"),
        ("docker_execute_command", {"command": ["id"], "env": {"1A": "x"}}, "env"),
        (
            "docker_execute_command",
            {"command": ["id"], "env": {"OPERATOR_CORE_EXEC_ID": "x"}},
            "env",
        ),
    ],
)
def test_values_the_executor_refuses_are_refused_by_the_tool(tool, arguments, field):
    """A bad signal, exec user, workdir or env key is an invalid argument of the tool.

    Pins the executor's own checks (validate_signal, validate_user, validate_workdir,
    validate_env) running as pydantic validators, so the runner reports invalid_arguments
    before it resolves the container or asks for approval.
    """
    (problem,) = _problems(tool, {"container_id": "web", **arguments})
    assert problem["field"] == field


def test_env_value_refused_by_the_tool_is_not_echoed():
    """An env value the executor refuses (a newline) is reported by key, never by value."""
    secret = "hunter2-line\nbreak"  # noqa: S105 - a made-up value the test looks for
    problems = _problems(
        "docker_execute_command",
        {"container_id": "w", "command": ["env"], "env": {"TOKEN": secret}},
    )
    assert problems[0]["field"] == "env"
    assert "TOKEN" in problems[0]["problem"]
    assert "hunter2" not in json.dumps(problems)


def test_valid_signal_user_workdir_and_env_pass_the_tool_unchanged():
    """Good values pass the executor's checks and reach the method as they were sent."""
    kill = validate_arguments(
        get_tool("docker_kill_container"), {"container_id": "w", "signal": 15}
    )
    assert kill.signal == 15
    model = validate_arguments(
        get_tool("docker_execute_command"),
        {
            "container_id": "w",
            "command": ["id"],
            "user": "1000:1000",
            "workdir": "/tmp",
            "env": {"LEVEL": "debug"},
        },
    )
    assert (model.user, model.workdir, model.env) == ("1000:1000", "/tmp", {"LEVEL": "debug"})
