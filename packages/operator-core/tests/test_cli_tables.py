"""The ps and audit tables at 80, 100 and 120 columns, and ps's -q and --format."""

from __future__ import annotations

import importlib
import io
import json
from datetime import UTC, datetime

import pytest
import time_machine
from rich.console import Console
from typer.testing import CliRunner

from operator_core.audit import AuditRecord
from operator_core.cli import app
from operator_core.cli.render.ps import age, containers_table, format_containers, status_word
from operator_core.present.columns import Column, fit_table, print_table
from operator_core.present.views import records_table

app_module = importlib.import_module("operator_core.cli.app")
NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
LONG = "payments-reconciliation-worker-eu-west-1-blue"


def _container(name, **extra):
    base = {
        "id": (name.encode().hex() * 8)[:64],
        "name": name,
        "image": "registry.example/team/payments-service:2026.11.29-build.1234",
        "status": "running",
        "health": None,
        "exit_code": None,
        "started_at": "2026-11-29T11:55:00+00:00",
        "restart_count": 0,
        "labels": {"tier": "web"},
        "compose_project": None,
        "compose_service": None,
        "networks": ["frontend", "backend"],
    }
    return {**base, **extra}


CONTAINERS = [
    _container("opc-logs-a1"),
    _container("opc-logs-b2", health="unhealthy"),
    _container("nc-web", status="exited", exit_code=137),
    _container(LONG),
]


def _render(table, width):
    """Return the text a table prints on a console ``width`` wide."""
    buffer = io.StringIO()
    print_table(Console(file=buffer, width=width, no_color=True), table)
    return buffer.getvalue()


def _folded_names(text, names):
    """Return which ``names`` appear whole in the NAME column (folded lines joined)."""
    first_column = "".join(line.split("  ")[0].strip() for line in text.splitlines()[1:])
    return [name for name in names if name in first_column]


@pytest.mark.parametrize("width", [80, 100, 120])
def test_ps_never_cuts_a_name_and_fits_the_width(width):
    """Every name shows whole (folded if need be), no line passes the width, nothing is '…'."""
    text = _render(containers_table(CONTAINERS, width, now=NOW.timestamp()), width)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width
    for name in ("opc-logs-a1", "opc-logs-b2", "nc-web"):
        assert name in text
    names = [c["name"] for c in CONTAINERS]
    assert _folded_names(text, names) == names
    assert "running (unhealthy)" in text
    assert "exited (137)" in text
    assert "opc-logs…" not in text


def test_ps_drops_the_least_useful_columns_first():
    """At 80 networks, start time and image go before the id; at 120 more come back."""
    headers = {}
    for width in (80, 100, 120, 200):
        text = _render(containers_table(CONTAINERS, width, now=NOW.timestamp()), width)
        headers[width] = text.splitlines()[0].split()
    assert headers[80] == ["NAME", "ID", "STATUS"]
    assert headers[120][:4] == ["NAME", "ID", "IMAGE", "STATUS"]
    assert "STARTED" in headers[120]
    assert headers[200] == ["NAME", "ID", "IMAGE", "STATUS", "STARTED", "NETWORKS"]


def test_ps_compose_and_host_columns_show_only_with_content():
    """COMPOSE appears when a container belongs to a project; HOST when one has a host."""
    plain = _render(containers_table(CONTAINERS[:2], 200, now=NOW.timestamp()), 200)
    assert "COMPOSE" not in plain
    assert "HOST" not in plain
    composed = [
        *CONTAINERS[:2],
        _container("shop-web-1", compose_project="shop", compose_service="web", host="eng1"),
    ]
    text = _render(containers_table(composed, 200, now=NOW.timestamp()), 200)
    assert "COMPOSE" in text
    assert "shop/web" in text
    assert "HOST" in text
    assert "eng1" in text


def test_ps_no_trunc_shows_whole_ids_and_every_column():
    """--no-trunc: the 64-character id and the whole image, whatever the width."""
    text = _render(containers_table(CONTAINERS, 80, now=NOW.timestamp(), no_trunc=True), 80)
    assert CONTAINERS[0]["id"] in text
    assert CONTAINERS[0]["image"] in text
    assert "NETWORKS" in text


def test_a_name_longer_than_the_screen_folds_whole():
    """At 40 columns a 45-character name is folded over lines, every character kept."""
    text = _render(containers_table([_container(LONG)], 40, now=NOW.timestamp()), 40)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 40
    assert _folded_names(text, [LONG]) == [LONG]


def test_fit_table_leaves_out_empty_optional_columns_and_shrinks_before_dropping():
    """An optional column with only '-' is left out; a shortenable one is cut with '…'."""
    columns = [Column("A"), Column("B", drop_rank=1, min_width=6), Column("C", optional=True)]
    rows = [["x" * 10, "y" * 20, "-"]]
    text = _render(fit_table(columns, rows, 25), 25)
    assert text.splitlines()[0].split() == ["A", "B"]
    assert "yyyyyyyyyyy…" in text
    dropped = _render(fit_table(columns, rows, 15), 15)
    assert dropped.splitlines()[0].split() == ["A"]


def test_age_and_status_read_like_docker():
    """Ages in s/m/h/d ago; health and exit codes in parentheses."""
    now = NOW.timestamp()
    assert age("2026-11-29T11:59:30+00:00", now) == "30s ago"
    assert age("2026-11-29T09:00:00+00:00", now) == "3h ago"
    assert age("2026-11-27T12:00:00+00:00", now) == "2d ago"
    assert age("0001-01-01T00:00:00Z", now) == "-"
    assert age(None, now) == "-"
    assert status_word({"status": "running", "health": "healthy"}) == "running (healthy)"
    assert status_word({"status": "exited", "exit_code": 0}) == "exited (0)"
    stale = {"status": "exited", "exit_code": 137, "health": "unhealthy"}
    assert status_word(stale) == "exited (137)"
    assert status_word({"status": "paused"}) == "paused"


def test_format_takes_docker_placeholders_and_json():
    r"""{{.Names}}\t{{.Status}} and .Label "key" fill in; json gives one object per line."""
    lines = format_containers('{{.Names}}\\t{{ .Status }}\\t{{.Label "tier"}}', CONTAINERS[1:3])
    assert lines == ["opc-logs-b2\trunning (unhealthy)\tweb", "nc-web\texited (137)\tweb"]
    assert format_containers("{{.ID}}", CONTAINERS[:1]) == [CONTAINERS[0]["id"][:12]]
    assert format_containers("{{.ID}}", CONTAINERS[:1], no_trunc=True) == [CONTAINERS[0]["id"]]
    as_json = [json.loads(line) for line in format_containers("json", CONTAINERS[:2])]
    assert [c["name"] for c in as_json] == ["opc-logs-a1", "opc-logs-b2"]


def _record(i, **extra):
    base = {
        "id": f"20261129T1159{i:02d}000000-{i:012x}",
        "time": "2026-11-29T11:59:00+00:00",
        "ts": NOW.timestamp() - 60 + i,
        "actor": "mcp:claude-ai/1.0",
        "tool": "docker_restart_container",
        "container_name": "opc-logs-a1",
        "decision": "denied",
        "rule": "rate_limit.docker_restart_container",
        "outcome": "denied",
        "duration_ms": 12.0,
    }
    return AuditRecord(**{**base, **extra})


RECORDS = [
    _record(0),
    _record(
        1,
        tool="docker_get_container_logs",
        container_name=LONG,
        decision="allowed",
        outcome="ok",
        rule=None,
    ),
]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("width", [80, 100, 120])
def test_audit_list_shows_tool_container_and_outcome_first(width):
    """At any width: time, tool, container, decision and outcome, whole; nothing passes."""
    text = _render(records_table(RECORDS, width=width), width)
    header = text.splitlines()[0].split()
    assert header[:5] == ["TIME", "TOOL", "CONTAINER", "DECISION", "OUTCOME"]
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width
    assert "restart" in text
    assert "logs" in text
    assert "opc-logs-a1" in text
    assert "…" not in "".join(line.split("  ")[0] for line in text.splitlines())


@time_machine.travel(NOW, tick=False)
def test_audit_list_adds_columns_as_width_allows_and_wide_shows_all():
    """80: no id; 120: rule and actor too; --wide: every column including the id."""
    at_80 = _render(records_table(RECORDS, width=80), 80).splitlines()[0].split()
    at_120 = _render(records_table(RECORDS, width=120), 120).splitlines()[0].split()
    assert "ID" not in at_80
    assert {"RULE", "ACTOR"} <= set(at_120)
    wide = _render(records_table(RECORDS, width=80, wide=True), 80)
    assert wide.splitlines()[0].split()[-1] == "ID"
    assert RECORDS[0].id in wide
    assert "rate_limit.docker_restart_container" in wide


@time_machine.travel(NOW, tick=False)
def test_audit_times_carry_the_date_unless_all_are_today():
    """Records from today show HH:MM:SS; an older one puts the date on every row."""
    today = _render(records_table(RECORDS, width=120), 120)
    assert "11-29" not in today
    older = [*RECORDS, _record(2, ts=NOW.timestamp() - 3 * 86400)]
    assert "11-26" in _render(records_table(older, width=120), 120)


@pytest.fixture
def ps_cli(monkeypatch, tmp_path):
    """Run `operator docker ps ...` against a canned listing (no engine)."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setattr(app_module, "check_engine_options", lambda context: None)
    calls = []

    async def listing(settings, tool, arguments, **kwargs):
        calls.append(arguments)
        return {"ok": True, "result": {"containers": CONTAINERS, "count": len(CONTAINERS)}}

    monkeypatch.setattr(app_module, "call_tool", listing)

    def run(*args):
        return CliRunner().invoke(app, ["docker", "ps", *args], env={"COLUMNS": "80"})

    run.calls = calls
    return run


def test_ps_quiet_prints_only_ids(ps_cli):
    """-q: one short id per line and nothing else on stdout; --no-trunc: whole ids."""
    assert ps_cli("-q").stdout.split() == [c["id"][:12] for c in CONTAINERS]
    assert ps_cli("-q", "--no-trunc").stdout.split() == [c["id"] for c in CONTAINERS]


def test_ps_format_prints_template_lines(ps_cli):
    """--format '{{.Names}}' prints the names, one per line, with no table."""
    assert ps_cli("--format", "{{.Names}}").stdout.splitlines() == [c["name"] for c in CONTAINERS]


def test_ps_refuses_an_unknown_format_field_before_listing(ps_cli):
    """--format '{{.Nope}}' is invalid input (exit 2) naming the known fields; nothing ran."""
    result = ps_cli("--format", "{{.Nope}}")
    assert result.exit_code == 2
    assert ".Nope is not a field" in " ".join(result.stderr.split())
    assert ps_cli.calls == []
