"""How the demo prints results (``operator_core.demo.show``), read as JSON values."""

from __future__ import annotations

from rich.console import Console

from operator_core.demo.show import compact_result, show_ps


def _console() -> Console:
    return Console(record=True, width=120, color_system=None)


def test_ps_rows_print_names_as_text_not_markup():
    """A container name holding markup or a control sequence is printed as text, inert."""
    console = _console()
    row = {"name": "web[/]x[bold]\x1b[2J", "id": "0123456789abcdef", "status": "running"}
    show_ps(console, {"containers": [row], "count": 1})
    shown = console.export_text()
    assert "web[/]x[bold]" in shown
    assert "\x1b" not in shown  # a control sequence is shown escaped, never sent
    assert "0123456789ab " in shown


def test_ps_reads_a_lean_row_and_leaves_out_what_is_not_a_row():
    """A row lacking fields (a lean answer) prints blanks; a non-object entry is skipped."""
    console = _console()
    show_ps(console, {"containers": [{"name": "db"}, "junk"], "count": 2})
    shown = console.export_text()
    assert "db" in shown
    assert "junk" not in shown


def test_compact_result_keeps_the_facts_a_person_wants():
    """The state and how the old process stopped, on one line; nothing else of the result."""
    envelope = {
        "ok": True,
        "result": {"state": "running", "noise": "x", "stop": {"exit_code": 0, "killed": True}},
    }
    assert compact_result(envelope) == "state=running, old process exited 0 (killed)"
