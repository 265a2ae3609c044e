"""Protected names and patterns must be able to match a container name, or the load fails.

Docker names match ``[a-zA-Z0-9][a-zA-Z0-9_.-]*``; ``docker inspect`` prints them with a
leading '/'. A name outside that alphabet protects nothing, so a policy holding one is
refused at load (the runner, the CLI and ``operator policy check`` alike) with the fix.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from operator_core.cli import app
from operator_core.errors import PolicyError
from operator_core.policy import Policy, policy_from_dict
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor


def test_a_leading_slash_is_dropped_and_the_name_still_protects():
    """`/pg` (docker inspect's spelling) protects the container named `pg`."""
    policy = policy_from_dict({"protected": {"names": ["/pg"], "patterns": ["/prod-*"]}})
    assert policy.protected.names == ["pg"]
    assert policy.protected.patterns == ["prod-*"]


async def test_a_kill_on_a_container_protected_as_slash_name_is_denied():
    """With names = ["/pg"] a kill of `pg` is denied by name and never reaches the executor."""
    fake = FakeExecutor("pg")
    policy = Policy(mode="execute", approval={"risks": []}, protected={"names": ["/pg"]})
    run = ToolRunner(fake, policy=policy, own_container_id=None)
    envelope = await run.execute_tool("docker_kill_container", {"container_id": "pg"})
    assert envelope["error"]["rule"] == "protected.names"
    assert [name for name, _ in fake.calls if name == "kill_container"] == []


@pytest.mark.parametrize(
    ("section", "value", "fix"),
    [
        ("names", "pg ", "write 'pg'"),
        ("names", " pg", "write 'pg'"),
        ("names", "/pg\t", "write 'pg'"),
        ("names", "my db", None),
        ("names", "-pg", None),
        ("names", "_pg", None),
        ("names", "pg/1", None),
        ("names", "pg\u00e9", None),
        ("patterns", "prod- *", None),
        ("patterns", "prod-* ", "write 'prod-*'"),
        ("patterns", ".hidden*", None),
        ("patterns", "db{1,2}", None),
    ],
)
def test_a_name_or_pattern_no_container_can_have_is_refused_with_the_fix(section, value, fix):
    """Blanks and characters outside the name alphabet: PolicyError naming field and fix."""
    with pytest.raises(PolicyError) as caught:
        policy_from_dict({"protected": {section: ["ok", value]}})
    message = str(caught.value)
    assert f"protected.{section}[1]" in message
    assert "no container name can match" in message
    if fix is not None:
        assert fix in message


@pytest.mark.parametrize(
    "pattern", ["prod-*", "*-db", "db?", "[a-c]*", "[!x]*", "web.1", "a_b-c.d", "*"]
)
def test_ordinary_globs_still_load(pattern):
    """Wildcards over name characters are accepted as they are."""
    assert policy_from_dict({"protected": {"patterns": [pattern]}}).protected.patterns == [pattern]


def test_policy_check_agrees_refusing_a_trailing_space_and_normalising_a_slash(
    tmp_path, monkeypatch
):
    """`operator policy check` refuses "pg " (exit 2, the fix named) and lists "/pg" as pg."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    bad = tmp_path / "bad.toml"
    bad.write_text('[protected]\nnames = ["pg "]\n')
    good = tmp_path / "good.toml"
    good.write_text('[protected]\nnames = ["/pg"]\n')
    runner = CliRunner()
    refused = runner.invoke(app, ["policy", "check", str(bad), "--json"], prog_name="operator")
    assert refused.exit_code == 2
    error = json.loads(refused.stdout)["error"]
    assert error["type"] == "invalid_policy"
    assert "write 'pg'" in error["message"]
    shown = runner.invoke(app, ["policy", "check", str(good), "--json"], prog_name="operator")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["result"]["protected"]["names"] == ["pg"]
