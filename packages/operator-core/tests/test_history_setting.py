"""Where the watch's store lives: the option, the environment, else beside the audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from operator_core.cli.app import app, settings_of
from operator_core.cli.settings import default_history_db


def test_the_store_sits_beside_the_audit_trail(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no option and no variable, the store is history.sqlite3 beside the audit trail."""
    monkeypatch.delenv("OPERATOR_HISTORY_DB", raising=False)
    monkeypatch.setenv("OPERATOR_AUDIT_DB", "/srv/op/audit.sqlite3")
    assert default_history_db() == Path("/srv/op/history.sqlite3")
    assert default_history_db(Path("/x/trail.jsonl")) == Path("/x/history.sqlite3")


def test_the_environment_names_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """$OPERATOR_HISTORY_DB wins over the audit trail's folder."""
    monkeypatch.setenv("OPERATOR_HISTORY_DB", "/data/h.sqlite3")
    assert default_history_db(Path("/x/audit.sqlite3")) == Path("/data/h.sqlite3")


def test_the_options_reach_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """--history-db wins; --audit-db alone moves the store beside it."""
    monkeypatch.delenv("OPERATOR_HISTORY_DB", raising=False)
    seen: list[Path] = []

    @app.command("probe-history-setting", hidden=True)
    def probe(ctx: typer.Context) -> None:
        seen.append(settings_of(ctx).history_db)

    try:
        runner = CliRunner()
        audit = tmp_path / "a" / "audit.sqlite3"
        chosen = tmp_path / "h.sqlite3"
        assert (
            runner.invoke(app, ["--audit-db", str(audit), "probe-history-setting"]).exit_code == 0
        )
        assert (
            runner.invoke(app, ["--history-db", str(chosen), "probe-history-setting"]).exit_code
            == 0
        )
    finally:
        app.registered_commands.pop()
    assert seen == [audit.with_name("history.sqlite3"), chosen]
