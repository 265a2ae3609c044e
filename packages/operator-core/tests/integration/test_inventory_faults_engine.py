"""Pins issue 18 item 9 with the real docker CLI and ssh: faults at load, ssh's own words."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import clean_env, json_out, run_operator


def test_an_unusable_ssh_url_is_refused_before_any_call(engine, tmp_path: Path):
    """`ssh://-V` in an inventory: exit 2, invalid_inventory naming the host, at load."""
    inventory = tmp_path / "inventory.toml"
    inventory.write_text('[hosts.odd]\nurl = "ssh://-V"\n')
    ran = run_operator(clean_env(tmp_path), "--inventory", str(inventory), "docker", "ps", "--json")
    assert ran.returncode == 2, ran.stdout + ran.stderr
    error = json_out(ran)["error"]
    assert error["type"] == "invalid_inventory"
    assert "hosts.odd.url" in error["message"]
    assert "starting with '-'" in error["message"]


def test_a_refused_ssh_connection_is_reported_in_ssh_s_own_words(engine, tmp_path: Path):
    """Docker over ssh to a closed port: the error is what ssh said, said as ssh's."""
    ran = run_operator(
        clean_env(tmp_path), "--host", "ssh://ops@127.0.0.1:1", "docker", "inspect", "x", "--json"
    )
    error = json_out(ran)["error"]
    assert error["type"] == "engine_unreachable"
    assert "over ssh: ssh: connect to host 127.0.0.1 port 1" in error["message"]
