"""Each action's parameters are written once: the tool's input model.

The executor's protocol, ``DockerActionExecutor``'s methods and the command line's options
are checked against the table ``operator_core.tools.params.parameters`` reads from the
input models: a name, type, default or bound that drifts in any of them fails here.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from operator_core.cli import app
from operator_core.cli.commands import diagnosis as diagnosis_cmds
from operator_core.cli.commands import docker as docker_cmds
from operator_core.cli.commands import swarm as swarm_cmds
from operator_core.docker import DockerActionExecutor
from operator_core.docker.containers.discovery import container_filters
from operator_core.errors import InvalidInput
from operator_core.runner import executor as protocol_module
from operator_core.runner.executor import ContainerExecutor
from operator_core.tools import REGISTRY
from operator_core.tools.inputs import ListInput, SearchLogsInput
from operator_core.tools.params import REQUIRED, Param, kinds_of, parameters
from operator_core.tools.swarm import ServiceListInput
from operator_core.validate import validate_label_filters

SPECS = list(REGISTRY.values())

# The executor may take more than a tool sends: a datetime from a Python caller.
EXTRA_KINDS = frozenset({"datetime"})


def _table(method: str) -> dict[str, Param]:
    """Return the parameters of the tool that calls ``method``, by name."""
    spec = next(s for s in SPECS if s.method == method)
    return {p.name: p for p in parameters(spec.input_model)}


def _signature(function: Callable[..., object]) -> dict[str, tuple[frozenset[str], object]]:
    """Return each parameter's kinds and default (``REQUIRED`` if none), ``self`` left out."""
    found = {}
    names = function.__globals__  # type: ignore[attr-defined]
    for name, param in inspect.signature(function).parameters.items():
        if name == "self":
            continue
        annotation = param.annotation
        if isinstance(annotation, str):
            annotation = eval(annotation, dict(names))  # noqa: S307 - our own annotation
        default = REQUIRED if param.default is inspect.Parameter.empty else param.default
        found[name] = (kinds_of(annotation)[0], default)
    return found


def _takes(wide: frozenset[str], narrow: frozenset[str]) -> bool:
    """Whether a parameter of kinds ``wide`` takes every value of kinds ``narrow``."""
    widened = set(wide) | ({"int"} if "float" in wide else set())
    return narrow <= widened


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_the_protocol_names_each_tool_parameter_with_its_type_and_default(spec):
    """``ContainerExecutor``'s method has the input model's names, defaults and types."""
    table = _table(spec.method)
    method = getattr(ContainerExecutor, spec.method)
    assert method.__globals__ is vars(protocol_module)
    signature = _signature(method)
    assert sorted(signature) == sorted(table), f"{spec.method}: names differ"
    for name, (kinds, default) in signature.items():
        param = table[name]
        assert default == param.default, f"{spec.method}({name}): default differs"
        assert _takes(kinds, param.kinds), f"{spec.method}({name}): takes less than the tool"
        assert kinds - param.kinds <= EXTRA_KINDS | ({"float"} if "int" in param.kinds else set())
        assert not ("float" in param.kinds and "float" not in kinds), f"{spec.method}({name})"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_the_executor_method_agrees_with_the_protocol(spec):
    """``DockerActionExecutor``'s method has the protocol's names and defaults, taking as much."""
    promised = _signature(getattr(ContainerExecutor, spec.method))
    actual = _signature(getattr(DockerActionExecutor, spec.method))
    assert list(actual) == list(promised), f"{spec.method}: names or order differ"
    for name, (kinds, default) in actual.items():
        assert default == promised[name][1], f"{spec.method}({name}): default differs"
        assert _takes(kinds, promised[name][0]), f"{spec.method}({name}): takes less"


# The command line: each command under ``docker`` and ``swarm``, the arguments that reach
# it with only its required ones given, and the tool it runs.
COMMANDS: dict[str, tuple[list[str], str]] = {
    "docker ps": ([], "docker_list_containers"),
    "docker inspect": (["web", "db"], "docker_inspect_containers"),
    "docker start": (["web"], "docker_start_container"),
    "docker stop": (["web"], "docker_stop_container"),
    "docker restart": (["web"], "docker_restart_container"),
    "docker logs": (["web"], "docker_get_container_logs"),
    "docker exec": (["web", "ls"], "docker_execute_command"),
    "docker kill": (["web"], "docker_kill_container"),
    "docker pause": (["web"], "docker_pause_container"),
    "docker unpause": (["web"], "docker_unpause_container"),
    "docker wait": (["web", "-c", "running"], "docker_wait_for_container"),
    "docker net connect": (["backend", "web"], "docker_connect_container_to_network"),
    "docker net disconnect": (["backend", "web"], "docker_disconnect_container_from_network"),
    "docker events": ([], "docker_get_events"),
    "docker stats": ([], "docker_container_stats"),
    "docker top": (["web"], "docker_container_top"),
    "docker search": (["boom"], "docker_search_logs"),
    "swarm services": ([], "docker_list_services"),
    "swarm tasks": (["web"], "docker_list_service_tasks"),
    "swarm logs": (["web"], "docker_get_service_logs"),
    "swarm scale": (["web", "3"], "docker_scale_service"),
    "swarm restart": (["web"], "docker_restart_service"),
    "swarm rollback": (["web"], "docker_rollback_service"),
    "swarm nodes": ([], "docker_list_nodes"),
    "swarm drain": (["n1"], "docker_set_node_availability"),
    "swarm activate": (["n1"], "docker_set_node_availability"),
}
# A command's option named unlike the tool's parameter it fills.
RENAMED = {
    "all_": "all",
    "project": "compose_project",
    "kind": "types",
    "action": "actions",
    "containers": "refs",
    "container": "container_id",
}
# The command line's own options (how to show, follow), which fill no tool parameter.
OWN = {"as_json", "quiet", "format_", "no_trunc", "follow", "env_file", "all_tasks"}
# Options the command turns into another shape before the tool sees them.
CONVERTED = {("docker exec", "env")}  # KEY[=VALUE] words, read into a dict
# Where a command's default differs from the tool's on purpose, and why.
OWN_DEFAULTS = {
    ("docker events", "since"): "1h",  # the tool needs a window; a person means the last hour
    ("swarm tasks", "desired_state"): "running",  # --all shows the history
    ("swarm drain", "availability"): "drain",
    ("swarm activate", "availability"): "active",
}


def _leaves(group: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Yield each command under ``group`` with its path (``docker net connect``)."""
    if hasattr(group, "commands"):
        for name, sub in group.commands.items():
            yield from _leaves(sub, f"{path} {name}".strip())
    else:
        yield path, group


def _commands() -> dict[str, Any]:
    """Return every command under ``docker`` and ``swarm`` by its path."""
    root = typer.main.get_command(app)
    found: dict[str, Any] = {}
    for top in ("docker", "swarm"):
        found.update(dict(_leaves(root.commands[top], top)))
    return found


@pytest.fixture
def sent(monkeypatch) -> Callable[[list[str]], tuple[str, dict[str, Any]]]:
    """Run a command in-process and return the tool and arguments it would have run."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def capture(_ctx: object, tool: str, arguments: dict[str, Any], **_: object) -> None:
        calls.append((tool, dict(arguments)))
        raise typer.Exit(0)

    for module in (docker_cmds, diagnosis_cmds, swarm_cmds):
        monkeypatch.setattr(module, "run_tool_command", capture)

    def run(argv: list[str]) -> tuple[str, dict[str, Any]]:
        calls.clear()
        result = CliRunner().invoke(app, argv, prog_name="operator")
        assert result.exit_code == 0, result.output
        assert len(calls) == 1, calls
        return calls[0]

    return run


def test_every_docker_and_swarm_command_is_checked():
    """A new command under ``docker`` or ``swarm`` must join the table below to be checked."""
    assert sorted(_commands()) == sorted(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_a_command_sends_the_tools_names_and_defaults(path, sent):
    """Given only what it requires, a command sends tool parameters at the tool's defaults."""
    argv, tool = COMMANDS[path]
    ran, arguments = sent([*path.split(), *argv])
    assert ran == tool
    table = {p.name: p for p in parameters(REGISTRY[tool].input_model)}
    assert set(arguments) <= set(table), f"{path}: sends what {tool} does not take"
    given = _given(path, table)
    for name, value in arguments.items():
        if name in given:
            continue
        expected = OWN_DEFAULTS.get((path, name), table[name].default)
        assert value == expected, f"{path}: {name} defaults to {value!r}, the tool {expected!r}"


def _given(path: str, table: dict[str, Param]) -> set[str]:
    """Return the tool parameters the table's argv fills (what the command requires)."""
    command = _commands()[path]
    return {_field(param.name or "", table) for param in command.params if param.required}


def _field(name: str, table: dict[str, Param]) -> str:
    """Return the tool parameter a command's option fills (its name, or as renamed)."""
    return name if name in table else RENAMED.get(name, name)


def _bounds_in_help(text: str) -> tuple[float, float] | None:
    """Return the range a help text states, ``(1-100)`` or ``up to 600``, if any."""
    if found := re.search(r"\((\d+)-(\d+)[;)]", text):
        return float(found[1]), float(found[2])
    if found := re.search(r"up to (\d+(?:\.\d+)?)", text):
        return float("nan"), float(found[1])
    return None


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_a_commands_options_have_the_tools_types_and_bounds(path):
    """Each option fills a tool parameter of its type, many where a list, within its bounds."""
    table = {p.name: p for p in parameters(REGISTRY[COMMANDS[path][1]].input_model)}
    command = _commands()[path]
    hints = typing.get_type_hints(inspect.unwrap(command.callback))
    for option in command.params:
        name = option.name or ""
        if name in OWN or name == "ctx":
            continue
        field = _field(name, table)
        assert field in table, f"{path}: --{name} fills no parameter of the tool"
        if (path, field) in CONVERTED:
            continue
        param = table[field]
        kinds, choices = kinds_of(hints[name])
        assert ("list" in kinds) == param.many, f"{path}: {name} takes one, the tool a list"
        assert kinds - {"None"} <= param.kinds, f"{path}: {name} is {kinds}, not {param.kinds}"
        assert ("float" in param.kinds) <= ("float" in kinds), f"{path}: {name} int for a float"
        if choices:
            assert choices == param.choices, f"{path}: {name} choices differ"
        _check_help_bounds(path, option, param)


def _check_help_bounds(path: str, option: Any, param: Param) -> None:
    """Fail when an option's help states a range other than the tool parameter's bounds."""
    stated = _bounds_in_help(getattr(option, "help", None) or "")
    if stated is None:
        return
    low, high = stated
    assert high == param.bounds.get("le"), f"{path}: {option.name} says up to {high:g}"
    if low == low:  # a stated lower bound (not nan)
        assert low == param.bounds.get("ge", param.bounds.get("gt")), f"{path}: {option.name}"


LABEL_SAMPLES: list[object] = [
    "a",
    "a=b",
    "a=b c",
    ["a", "b=c"],
    "",
    " a",
    "a b=c",
    "=v",
    "x\ny",
    "k" * 1024,
    "k" * 1025,
    ["a"] * 32,
    ["a"] * 33,
    [1],
    7,
]


@pytest.mark.parametrize("sample", LABEL_SAMPLES, ids=repr)
def test_the_label_rule_is_the_executors_own(sample):
    """The executor's listing takes and refuses exactly the label filters the tools do."""
    outcomes = []
    for check in (
        validate_label_filters,
        lambda v: container_filters(None, v, None, None, None, None),
    ):
        try:
            check(sample)
            outcomes.append("ok")
        except InvalidInput:
            outcomes.append("refused")
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("model", [ListInput, SearchLogsInput, ServiceListInput])
def test_every_label_filter_takes_a_list_and_refuses_the_same(model):
    """Containers, services and the log search take a list of labels, one rule for all."""
    extra = {"pattern": "boom"} if model is SearchLogsInput else {}
    assert model(label=["a", "b=c"], **extra).label == ["a", "b=c"]
    assert model(label="a=b", **extra).label == ["a=b"]
    assert model(label='["a", "b"]', **extra).label == ["a", "b"]
    for bad in (["a b=c"], [""], ["a"] * 33, ["k" * 1025]):
        with pytest.raises(ValidationError):
            model(label=bad, **extra)


@pytest.mark.parametrize(
    ("argv", "tool"),
    [
        (["docker", "ps"], "docker_list_containers"),
        (["docker", "search", "boom"], "docker_search_logs"),
        (["swarm", "services"], "docker_list_services"),
    ],
)
def test_repeated_label_options_reach_the_tool_as_a_list(argv, tool, sent):
    """``--label a --label b=c`` sends both filters; one ``--label`` sends a list of one."""
    assert sent([*argv, "--label", "a", "--label", "b=c"]) == (
        tool,
        _with_labels(argv, ["a", "b=c"]),
    )
    assert sent([*argv, "--label", "a"])[1]["label"] == ["a"]


def _with_labels(argv: list[str], labels: list[str]) -> dict[str, Any]:
    """Return what a command's listing sends with ``labels`` and nothing else given."""
    _, tool = COMMANDS[" ".join(argv[:2])]
    table = parameters(REGISTRY[tool].input_model)
    sent = {p.name: p.default for p in table}
    sent["label"] = labels
    if argv[1] == "search":
        sent["pattern"] = argv[2]
    return sent
