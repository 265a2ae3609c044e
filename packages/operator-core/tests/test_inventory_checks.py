"""Each check of a host's entry in the inventory, and that no fault hides another (issue 20).

Pins the four checks a mutation run found untested (cert and key together, tls only with
tcp://, a label's empty key, a non-bool verify) and the one fault that still hid others:
a tls table beside a url that is not tcp:// had its own faults left unread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from operator_core.errors import InventoryError
from operator_core.fleet import inventory_from_dict


def _faults(host: dict[str, Any], base: Path) -> list[str]:
    """Return the fault lines of an inventory with this one host (none: it loads)."""
    try:
        inventory_from_dict({"hosts": {"h": host}}, base=base)
    except InventoryError as exc:
        return [line.strip()[2:] for line in str(exc).splitlines()[1:]]
    return []


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    """Return a directory with cert.pem, key.pem and ca.pem in it."""
    for name in ("cert", "key", "ca"):
        (tmp_path / f"{name}.pem").write_text("x")
    return tmp_path


@pytest.mark.parametrize(
    "tls", [{"cert": "cert.pem"}, {"key": "key.pem"}, {"ca": "ca.pem", "key": "key.pem"}]
)
def test_a_cert_without_its_key_or_a_key_without_its_cert_is_a_fault(pem, tls):
    """A cert and its key go together: one alone is named, the pair (or neither) loads."""
    assert _faults({"url": "tcp://b:2376", "tls": tls}, pem) == [
        "hosts.h.tls: give cert and key together"
    ]
    assert (
        _faults({"url": "tcp://b:2376", "tls": {"cert": "cert.pem", "key": "key.pem"}}, pem) == []
    )
    assert _faults({"url": "tcp://b:2376", "tls": {"ca": "ca.pem"}}, pem) == []


@pytest.mark.parametrize("url", ["ssh://ops@edge", "unix:///var/run/docker.sock"])
def test_tls_beside_a_url_that_is_not_tcp_is_a_fault(pem, url):
    """TLS goes with tcp:// only; beside ssh:// or unix:// it is named, not ignored."""
    assert _faults({"url": url, "tls": {"ca": "ca.pem"}}, pem) == [
        "hosts.h.tls: TLS goes with a tcp:// url only; remove it or use tcp://"
    ]


def test_tls_beside_ssh_still_has_its_own_faults_named(pem):
    """A tls beside ssh:// that also lacks its key: both faults, neither hides the other."""
    faults = _faults({"url": "ssh://ops@edge", "tls": {"cert": "cert.pem", "verify": "no"}}, pem)
    assert faults == [
        "hosts.h.tls: TLS goes with a tcp:// url only; remove it or use tcp://",
        "hosts.h.tls.verify: must be true or false",
        "hosts.h.tls: give cert and key together",
    ]


@pytest.mark.parametrize("labels", [{"": "x"}, {" ": "x"}, {"env": 1}, ["env=prod"]])
def test_a_label_with_an_empty_key_or_a_non_string_value_is_a_fault(tmp_path, labels):
    """Host labels are a table of strings with non-blank keys; anything else is named."""
    assert _faults({"url": "unix:///s", "labels": labels}, tmp_path) == [
        'hosts.h.labels: must be a table of strings, e.g. { env = "prod" }'
    ]


def test_labels_that_are_strings_load_as_given(tmp_path):
    """A good table of labels is kept whole."""
    inventory = inventory_from_dict({"hosts": {"h": {"url": "unix:///s", "labels": {"env": "a"}}}})
    assert dict(inventory.host("h").labels) == {"env": "a"}
    assert _faults({"url": "unix:///s", "labels": {"env": "a"}}, tmp_path) == []


@pytest.mark.parametrize("verify", ["false", 0, 1, None])
def test_a_verify_that_is_not_a_bool_is_a_fault(pem, verify):
    """tls.verify is true or false; "false", 0 or 1 is named (0 would read as false)."""
    tls: dict[str, Any] = {"ca": "ca.pem", "verify": verify}
    if verify is None:
        tls["verify"] = [False]
    assert _faults({"url": "tcp://b:2376", "tls": tls}, pem) == [
        "hosts.h.tls.verify: must be true or false"
    ]


def test_verify_false_is_kept(pem):
    """A verify = false loads and is kept false (the default is true)."""
    loaded = inventory_from_dict(
        {"hosts": {"h": {"url": "tcp://b:2376", "tls": {"ca": "ca.pem", "verify": False}}}},
        base=pem,
    )
    tls = loaded.host("h").tls
    assert tls is not None
    assert tls.verify is False
    default = inventory_from_dict(
        {"hosts": {"h": {"url": "tcp://b:2376", "tls": {"ca": "ca.pem"}}}}, base=pem
    ).host("h")
    assert default.tls is not None
    assert default.tls.verify is True
