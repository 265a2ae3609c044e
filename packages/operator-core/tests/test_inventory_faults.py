"""Pins issue 18 item 9: inventory faults are found at load, and ssh's reason is kept.

A URL docker cannot use is refused when the inventory loads, naming the host; every
fault of the file is listed (a bad host never hides another's); and when the transport
fails at call time, what ssh said is what the error says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from python_on_whales.exceptions import DockerException

from operator_core.docker._engine.cli import translate
from operator_core.errors import EngineUnreachable, InventoryError
from operator_core.fleet import host_error, inventory_from_dict
from operator_core.fleet.inventory import url_problem


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("tcp://127.0.0.1:99999", "port that is not a number from 1 to 65535"),
        ("tcp://127.0.0.1:0", "port that is not a number from 1 to 65535"),
        ("tcp://build:", "port that is not a number from 1 to 65535"),
        ("tcp://build:2376?tls=1", "query or a fragment"),
        ("tcp://build:2376#x", "query or a fragment"),
        ("ssh://ops@edge -oProxyCommand=touch%20x", "blank or a control character"),
        ("ssh://ops@edge\t-V", "blank or a control character"),
        ("ssh://-V", "starting with '-'"),
        ("ssh://-oProxyCommand=x@edge", "starting with '-'"),
        ("ssh://edge/var/run/docker.sock", "no password, no path"),
        ("ssh://ops:pw@edge", "no password, no path"),
        ("ssh://ed%2dge", "not a plain name or address"),
        ("ssh://ops@", "names no host"),
        ("tcp://ops@build:2376", "takes no user or password"),
        ("unix://", "names no socket"),
        ("npipe://", "names no socket"),
    ],
)
def test_a_url_docker_cannot_use_is_refused_at_load_naming_its_host(url, problem):
    """Each URL is refused by InventoryError naming hosts.NAME.url and what is wrong."""
    with pytest.raises(InventoryError) as caught:
        inventory_from_dict({"hosts": {"edge": {"url": url}}})
    assert "hosts.edge.url:" in str(caught.value)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "unix:///var/run/docker.sock",
        "unix:///run/operator-lab/eng1/docker.sock",
        "tcp://build.example:2376",
        "tcp://10.0.0.5",
        "tcp://build:2375/base",
        "ssh://operator-lab-eng3",
        "ssh://ops@edge-1.example:2222",
        "ssh://[::1]:22",
        "npipe:////./pipe/docker_engine",
    ],
)
def test_urls_docker_takes_load(url):
    """Ordinary URLs of every scheme load unchanged."""
    assert url_problem(url) is None
    assert inventory_from_dict({"hosts": {"a": {"url": url}}}).host("a").url == url


def test_a_bad_host_does_not_hide_another_hosts_tls_fault(tmp_path: Path):
    """A tls with a cert and no key is named even when another host is also at fault."""
    (tmp_path / "cert.pem").write_text("x")
    data = {
        "default": "a",
        "hosts": {
            "a": {"url": "tcp://127.0.0.1:99999"},
            "b": {"url": "tcp://build:2376", "tls": {"cert": "cert.pem"}},
        },
    }
    with pytest.raises(InventoryError) as caught:
        inventory_from_dict(data, base=tmp_path)
    message = str(caught.value)
    assert "2 problem(s)" in message
    assert "hosts.a.url:" in message
    assert "hosts.b.tls: give cert and key together" in message


def _failed(stderr: str) -> DockerException:
    return DockerException(["docker", "ps"], 1, None, stderr.encode())


def test_every_line_ssh_wrote_is_kept_in_the_error():
    """A host-key warning then the refusal: both of ssh's lines reach the message."""
    stderr = (
        'error during connect: Get "http://docker.example.com/v1.50/info": command [ssh -o '
        "ConnectTimeout=30 -T -- edge docker system dial-stdio] has exited with exit status "
        "255, make sure the URL is valid, and Docker 18.09 or later is installed on the remote "
        "host: stderr=Warning: Permanently added 'edge' (ED25519) to the list of known hosts.\r\n"
        "ops@edge: Permission denied (publickey).\n"
    )
    error = translate(_failed(stderr))
    assert isinstance(error, EngineUnreachable)
    assert str(error) == (
        "could not reach the Docker engine: the connection helper (ssh) exited 255: Warning: "
        "Permanently added 'edge' (ED25519) to the list of known hosts.; ops@edge: "
        "Permission denied (publickey)."
    )
    assert "Permission denied (publickey)" in host_error("edge", error)["message"]


def test_a_broken_pipe_says_how_to_see_the_helpers_own_reason():
    """Docker's bare 'write |1: broken pipe' is kept, and says where ssh's reason is."""
    stderr = 'error during connect: Post "http://docker.example.com/v1.50/x": write |1: broken pipe'
    message = str(translate(_failed(stderr)))
    assert "write |1: broken pipe" in message
    assert "`ssh -T HOST` shows it" in message


def test_a_badly_named_host_still_has_its_entry_read():
    """A host to rename whose URL is also bad: both faults are named at once."""
    with pytest.raises(InventoryError) as caught:
        inventory_from_dict({"hosts": {"-edge": {"url": "tcp://edge:99999"}}})
    message = str(caught.value)
    assert "2 problem(s)" in message
    assert "hosts.-edge: a host name is" in message
    assert "hosts.-edge.url: has a port" in message
