"""The inventory's promises at their edges (issue 20: mutants of fleet/inventory.py).

Where the file is looked for (an empty option, ``~``, the user's folder without
``XDG_CONFIG_HOME``), what an unreadable file says, each wrongly typed entry's fault (a
url, context, tls or labels that is not what it should be), and the deadline's bounds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from operator_core.errors import InventoryError
from operator_core.fleet import inventory_from_dict, load_inventory, resolve_inventory_path


def faults(data: object, base: Path | None = None) -> list[str]:
    """Return the fault lines InventoryError gives for ``data`` (none: it loads)."""
    try:
        inventory_from_dict(data, base=base)
    except InventoryError as exc:
        return [line.strip()[2:] for line in str(exc).splitlines()[1:]]
    return []


# --- where the inventory is -------------------------------------------------------------------


def test_an_empty_option_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """--inventory "" is no option: OPERATOR_INVENTORY is used."""
    monkeypatch.setenv("OPERATOR_INVENTORY", "/env.toml")
    assert resolve_inventory_path("") == Path("/env.toml")


def test_a_home_relative_path_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """'~/inv.toml' given as the option or in OPERATOR_INVENTORY is in the user's home."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_inventory_path("~/inv.toml") == tmp_path / "inv.toml"
    monkeypatch.setenv("OPERATOR_INVENTORY", "~/env.toml")
    assert resolve_inventory_path(None) == tmp_path / "env.toml"


def test_without_xdg_config_home_the_users_file_is_under_dot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No XDG_CONFIG_HOME: ~/.config/operator-core/inventory.toml, when it exists."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("OPERATOR_INVENTORY", raising=False)
    user = tmp_path / ".config" / "operator-core" / "inventory.toml"
    user.parent.mkdir(parents=True)
    user.write_text("")
    assert resolve_inventory_path(None) == user


def test_a_file_given_with_a_tilde_is_loaded_and_named_as_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """load_inventory expands '~'; the inventory's source is the file's full path."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "inv.toml").write_text('[hosts.a]\nurl = "unix:///a.sock"\n')
    inventory = load_inventory("~/inv.toml")
    assert (inventory.names, inventory.source) == (("a",), str(tmp_path / "inv.toml"))


def test_a_file_that_is_not_utf8_or_missing_says_why(tmp_path: Path) -> None:
    """Bytes that are not UTF-8: 'not UTF-8 text'; a missing file: the system's reason."""
    (tmp_path / "latin.toml").write_bytes(b"default = '\xe9'\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "latin.toml")
    assert str(caught.value).startswith(
        f"{tmp_path / 'latin.toml'}: cannot read the inventory: not UTF-8 text."
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "missing.toml")
    assert "cannot read the inventory: No such file or directory." in str(caught.value)


def test_the_faults_of_a_file_are_said_under_its_path(tmp_path: Path) -> None:
    """A file's faults start with the file's path (the source), one line each."""
    (tmp_path / "inv.toml").write_text("[hosts.a]\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "inv.toml")
    assert str(caught.value).startswith(
        f"{tmp_path / 'inv.toml'}: invalid inventory (1 problem(s)):"
    )


# --- entries of the wrong type ----------------------------------------------------------------


def test_an_inventory_that_is_not_a_table_says_what_it_is() -> None:
    """A list instead of a table: the error names the type found."""
    with pytest.raises(InventoryError) as caught:
        inventory_from_dict([1, 2])
    assert str(caught.value) == "<inventory>: an inventory is a table, got list"


def test_hosts_that_is_not_a_table_is_a_fault() -> None:
    """A hosts entry that is not a table (hosts = "a") is named as such."""
    assert faults({"hosts": "a"}) == ["hosts: must be a table of [hosts.NAME] sections"]


@pytest.mark.parametrize(
    ("host", "fault"),
    [
        ("unix:///a.sock", "hosts.h: must be a table with url = ... or context = ..."),
        ({"url": 5}, "hosts.h.url: must start with unix://, tcp://, ssh://, npipe://; got 5"),
        ({"context": "  "}, "hosts.h.context: must be the name of a docker context"),
        ({"context": 5}, "hosts.h.context: must be the name of a docker context"),
        ({"url": "unix:///a", "labels": "prod"}, "hosts.h.labels: must be a table of strings"),
    ],
)
def test_a_wrongly_typed_entry_is_a_fault(host: object, fault: str) -> None:
    """A host, url, context or labels of the wrong type: one fault naming it."""
    (said,) = faults({"hosts": {"h": host}})
    assert said.startswith(fault)


def test_tls_beside_a_context_is_a_fault(tmp_path: Path) -> None:
    """A context carries its own TLS: a tls table beside it is refused."""
    (tmp_path / "ca.pem").write_text("x")
    assert faults({"hosts": {"h": {"context": "c", "tls": {"ca": "ca.pem"}}}}, tmp_path) == [
        "hosts.h.tls: TLS goes with a tcp:// url only; remove it or use tcp://"
    ]


def test_tls_that_is_not_a_table_or_has_unknown_or_non_text_entries_is_a_fault(
    tmp_path: Path,
) -> None:
    """A tls that is not a table, an unknown tls key, a file not a string: each is named."""
    url = "tcp://b:2376"
    assert faults({"hosts": {"h": {"url": url, "tls": "x"}}}, tmp_path) == [
        'hosts.h.tls: must be a table: { ca = "ca.pem", cert = ..., key = ... }'
    ]
    assert faults({"hosts": {"h": {"url": url, "tls": {"colour": 1, "ca": 5}}}}, tmp_path) == [
        "hosts.h.tls.colour: unknown key; tls takes ca, cert, key, verify",
        f"hosts.h.tls.ca: no such file: 5 (relative to {tmp_path})",
    ]


def test_tls_verifies_the_engine_unless_told_not_to(tmp_path: Path) -> None:
    """A tls table without verify checks the engine's certificate."""
    (tmp_path / "ca.pem").write_text("x")
    data = {"hosts": {"h": {"url": "tcp://b:2376", "tls": {"ca": "ca.pem"}}}}
    tls = inventory_from_dict(data, base=tmp_path).host("h").tls
    assert tls is not None
    assert (tls.ca, tls.cert, tls.key, tls.verify) == (tmp_path / "ca.pem", None, None, True)


@pytest.mark.parametrize("deadline", [0.5, 3600, 3600.0])
def test_a_deadline_up_to_an_hour_is_taken(deadline: float) -> None:
    """Any number of seconds above 0 up to 3600 is a deadline, as a float."""
    host = inventory_from_dict({"hosts": {"h": {"url": "unix:///a", "deadline_s": deadline}}})
    assert host.host("h").deadline_s == float(deadline)


@pytest.mark.parametrize("deadline", [-1, 3600.5, "10"])
def test_a_deadline_outside_its_bounds_is_a_fault(deadline: object) -> None:
    """Below or at 0, past an hour, or not a number: the fault says the bounds."""
    assert faults({"hosts": {"h": {"url": "unix:///a", "deadline_s": deadline}}}) == [
        "hosts.h.deadline_s: must be a number of seconds above 0 up to 3600"
    ]


def test_a_host_without_labels_or_deadline_has_none_and_the_default() -> None:
    """Labels default to none, the deadline to DEFAULT_HOST_DEADLINE_S (30 s)."""
    host = inventory_from_dict({"hosts": {"h": {"url": "unix:///a"}}}).host("h")
    assert (dict(host.labels), host.deadline_s, host.tls) == ({}, 30.0, None)


def test_several_hosts_without_a_default_are_told_which_to_name(tmp_path: Path) -> None:
    """The fault suggests the first host and lists them all."""
    data: dict[str, Any] = {"hosts": {"a": {"url": "unix:///a"}, "b": {"url": "unix:///b"}}}
    assert faults(data) == [
        "default: missing; with several hosts, name the one a call without host goes to, "
        "e.g. default = 'a' (one of: a, b)"
    ]
    data["default"] = 7
    assert faults(data) == ["default: 7 is not a host here; use one of: a, b"]


def test_each_fault_is_said_in_full() -> None:
    """A bad host name and a host with neither url nor context: their whole sentences."""
    assert faults({"default": "b", "hosts": {"-x": {"url": "unix:///a"}, "b": {}}}) == [
        "hosts.-x: a host name is 1 to 63 letters, digits, '_', '.' or '-', starting with a "
        "letter or digit (as a container name); rename it",
        'hosts.b: give exactly one of url = "unix:///var/run/docker.sock" (or tcp://, ssh://) '
        'and context = "NAME"',
    ]


def test_a_missing_file_says_how_to_give_one(tmp_path: Path) -> None:
    """The error of a missing file ends by saying where an inventory is given."""
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "missing.toml")
    assert str(caught.value) == (
        f"{tmp_path / 'missing.toml'}: cannot read the inventory: No such file or directory. "
        "Give an existing file with --inventory or OPERATOR_INVENTORY."
    )
