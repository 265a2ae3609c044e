"""The effective policy on the lab's fleet: a host's own mode holds, and says so rightly."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import clean_env, json_out, run_operator
from lab_helpers import lab_inventory_path

WAIVE_APPROVAL = 'mode = "execute"\n[approval]\nrisks = []\n'
EDGE_OBSERVES = WAIVE_APPROVAL + '[hosts.eng2]\nmode = "observe"\n'


def _policy(tmp_path: Path, text: str) -> str:
    """Write a policy file; return its path."""
    file = tmp_path / "policy.toml"
    file.write_text(text)
    return str(file)


def test_a_hosts_own_mode_leaves_its_container_alone_and_names_the_section(lab, made, tmp_path):
    """[hosts.eng2] observe: a pause there is denied (untouched), on eng1 it runs.

    `--mode execute` on the command line does not change a host's own mode: the hint names
    the section and suggests no command that would be denied again.
    """
    there, here = made.run("eng2", "sleep", "300"), made.run("eng1", "sleep", "300")
    env = clean_env(tmp_path, COLUMNS="200")
    common = [
        "--inventory",
        str(lab_inventory_path()),
        "--policy",
        _policy(tmp_path, EDGE_OBSERVES),
    ]
    denied = run_operator(
        env, *common, "--mode", "execute", "--host", "eng2", "docker", "pause", there
    )
    assert denied.returncode == 3, denied.stderr
    assert '[hosts.eng2] mode = "observe"' in denied.stderr
    assert "--mode execute" not in denied.stderr
    assert made.state("eng2", there) == "running"
    done = run_operator(env, *common, "--host", "eng1", "docker", "pause", here)
    assert done.returncode == 0, done.stderr
    assert made.state("eng1", here) == "paused"


def test_policy_show_on_the_lab_checks_hosts_against_its_inventory(lab, tmp_path):
    """The lab's eng2 view is observe by its section; a section for no lab host is exit 2."""
    env = clean_env(tmp_path)
    inventory = ["--inventory", str(lab_inventory_path())]
    shown = run_operator(
        env,
        *inventory,
        "--policy",
        _policy(tmp_path, EDGE_OBSERVES),
        "policy",
        "show",
        "--host",
        "eng2",
        "--json",
    )
    view = json_out(shown)["result"]
    assert (view["mode"], view["host"]["mode_set_by"]) == ("observe", "[hosts.eng2] mode")
    assert view["warnings"] == []
    ghost = _policy(tmp_path, EDGE_OBSERVES + '[hosts.ghost]\nmode = "observe"\n')
    refused = run_operator(env, *inventory, "policy", "check", ghost)
    assert refused.returncode == 2, refused.stdout
    assert "[hosts.ghost]" in refused.stderr
