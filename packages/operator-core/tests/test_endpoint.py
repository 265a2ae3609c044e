"""Endpoint resolution: URLs, the environment and docker contexts, without connecting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from python_on_whales import DockerClient

from docker_contexts import write_context
from operator_core.docker import (
    DEFAULT_SOCKET,
    BridgeConnector,
    DockerActionExecutor,
    Endpoint,
    TLSFiles,
    api_target,
    endpoint_for,
    podman_socket,
    resolve_endpoint,
    ssh_arguments,
)
from operator_core.errors import InvalidInput
from operator_core.testing import count_docker_processes, record_requests

PEM = "-----BEGIN CERTIFICATE-----\nnot read by these tests\n-----END CERTIFICATE-----\n"


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No DOCKER_* variable of the machine's; an empty docker CLI folder of the test's own."""
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "docker-config"
    config.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    return config


def test_nothing_named_is_the_local_socket():
    """No host, no context, no DOCKER_* and no current context: the default socket."""
    assert resolve_endpoint() == Endpoint(DEFAULT_SOCKET, label=DEFAULT_SOCKET)


def test_docker_host_comes_before_everything_else(clean_environment, monkeypatch):
    """$DOCKER_HOST wins over $DOCKER_CONTEXT and the current context, as for the CLI."""
    write_context(clean_environment, "other", "tcp://other:2375")
    monkeypatch.setenv("DOCKER_CONTEXT", "other")
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/elsewhere.sock")
    assert resolve_endpoint().url == "unix:///run/elsewhere.sock"


def test_docker_tls_verify_reads_the_cert_path(tmp_path, monkeypatch):
    """DOCKER_HOST tcp:// with DOCKER_TLS_VERIFY: TLS with DOCKER_CERT_PATH's three files."""
    monkeypatch.setenv("DOCKER_HOST", "tcp://build.example")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))
    found = resolve_endpoint()
    assert found.url == "tcp://build.example:2376"
    assert found.tls == TLSFiles(tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem")


def test_docker_context_variable_and_current_context_are_read(clean_environment, monkeypatch):
    """$DOCKER_CONTEXT names a context; without it, config.json's currentContext does."""
    write_context(clean_environment, "lab", "unix:///run/lab.sock")
    write_context(clean_environment, "prod", "ssh://ops@prod.example")
    (clean_environment / "config.json").write_text(json.dumps({"currentContext": "prod"}))
    assert resolve_endpoint().ssh == "ssh://ops@prod.example"
    monkeypatch.setenv("DOCKER_CONTEXT", "lab")
    found = resolve_endpoint()
    assert (found.url, found.context, found.label) == ("unix:///run/lab.sock", "lab", "context lab")


def test_a_context_with_tls_gives_its_files_and_verification(clean_environment):
    """A tcp:// context's TLS folder gives ca/cert/key; SkipTLSVerify turns verification off."""
    write_context(
        clean_environment,
        "secure",
        "tcp://secure.example:2376",
        tls={"ca": PEM, "cert": PEM, "key": PEM},
        skip_verify=True,
    )
    found = resolve_endpoint(context="secure")
    assert found.url == "tcp://secure.example:2376"
    assert found.tls is not None
    assert found.tls.verify is False
    assert {found.tls.ca.name, found.tls.cert.name, found.tls.key.name} == {  # type: ignore[union-attr]
        "ca.pem",
        "cert.pem",
        "key.pem",
    }
    assert found.tls.ca.read_text() == PEM  # type: ignore[union-attr]


def test_a_tcp_context_without_tls_data_is_plain_tcp(clean_environment):
    """No TLS files and verification not skipped: the context is plain tcp://."""
    write_context(clean_environment, "plain", "tcp://plain.example:2375")
    assert resolve_endpoint(context="plain").tls is None


def test_the_default_context_is_the_environments_engine(monkeypatch):
    """``default`` is DOCKER_HOST or the local socket; it has no store entry."""
    assert resolve_endpoint(context="default").url == DEFAULT_SOCKET
    monkeypatch.setenv("DOCKER_HOST", "tcp://x.example:2375")
    assert resolve_endpoint(context="default").url == "tcp://x.example:2375"


def test_an_unknown_context_is_refused_without_a_process_or_request():
    """A context not in the store: InvalidInput naming it; no docker process, no request."""
    with (
        count_docker_processes() as started,
        record_requests() as sent,
        pytest.raises(InvalidInput, match="no docker context named 'nowhere'"),
    ):
        DockerActionExecutor(context="nowhere")
    assert started.count == 0
    assert sent == []


@pytest.mark.parametrize("name", ["-x", "a b", "", "../up"])
def test_a_malformed_context_name_is_refused(name):
    """A name docker would not take (an option, a blank, a path) is InvalidInput."""
    with pytest.raises(InvalidInput, match="context"):
        resolve_endpoint(context=name)


def test_a_context_store_entry_without_a_docker_endpoint_is_refused(clean_environment):
    """A meta.json that has no docker endpoint is named in the error."""
    meta = write_context(clean_environment, "k8s", "unix:///x.sock")
    meta.write_text(json.dumps({"Name": "k8s", "Endpoints": {}}))
    with pytest.raises(InvalidInput, match="has no docker endpoint"):
        resolve_endpoint(context="k8s")


@pytest.mark.parametrize(
    ("url", "fault"),
    [
        ("http://x.example:2375", "must start with"),
        ("docker.example", "must start with"),
        ("tcp://x.example:0", "port"),
        ("tcp://x.example:99999", "port"),
        ("tcp://-oProxyCommand=x", "starting with '-'"),
        ("ssh://-oProxyCommand=x", "starting with '-'"),
        ("ssh://ops:secret@x.example", "no password"),
        ("ssh://x.example/var/run/docker.sock", "no path"),
        ("unix://", "names no socket"),
        ("unix://relative.sock", "absolute path"),
        ("unix://host/x.sock", "absolute path"),
        ("unix:///x.sock --tls", "blank"),
        ("tcp://x.example:2375?timeout=1", "query"),
        ("tcp://ops@x.example:2375", "no user"),
    ],
)
def test_a_bad_url_is_invalid_input_before_any_connection(url, fault):
    """A URL docker could not use: InvalidInput saying why; nothing is started or sent."""
    with (
        count_docker_processes() as started,
        record_requests() as sent,
        pytest.raises(InvalidInput, match=fault),
    ):
        DockerActionExecutor(host=url)
    assert started.count == 0
    assert sent == []


def test_a_tcp_port_defaults_to_2375_and_to_2376_with_tls():
    """As docker: a tcp:// URL without port is 2375, or 2376 when it carries TLS."""
    assert resolve_endpoint("tcp://x.example").url == "tcp://x.example:2375"
    assert resolve_endpoint("tcp://x.example", tls=TLSFiles()).url == "tcp://x.example:2376"
    assert resolve_endpoint("tcp://x.example:9/base/").url == "tcp://x.example:9/base"


def test_tls_goes_with_tcp_only():
    """TLS files with a unix:// or ssh:// URL, or with a context, are refused."""
    for url in ("unix:///x.sock", "ssh://x.example"):
        with pytest.raises(InvalidInput, match="tcp://"):
            resolve_endpoint(url, tls=TLSFiles())
    with pytest.raises(InvalidInput, match="own TLS"):
        resolve_endpoint(context="default", tls=TLSFiles())


def test_at_most_one_way_of_naming_the_engine():
    """Host and context, or a client and a host, together are InvalidInput."""
    with pytest.raises(InvalidInput, match="not both"):
        resolve_endpoint("unix:///x.sock", "lab")
    with pytest.raises(InvalidInput, match="not client and host"):
        DockerActionExecutor(DockerClient(host="unix:///x.sock"), host="unix:///y.sock")
    with pytest.raises(InvalidInput, match="not host and endpoint"):
        endpoint_for(host="unix:///x.sock", endpoint=Endpoint("unix:///y.sock"))


async def test_an_ssh_url_is_kept_and_reached_through_a_bridge_started_later():
    """ssh:// stays in Endpoint.ssh; its connector's bridge is not started by building it."""
    found = resolve_endpoint("ssh://ops@edge.example:2222")
    assert found.ssh == "ssh://ops@edge.example:2222"
    target = api_target(found)
    assert target.connector is not None
    connector = target.connector()
    assert isinstance(connector, BridgeConnector)
    assert connector.bridge.socket_url is None  # nothing started, nothing connected
    assert ssh_arguments(found.ssh) == [
        "-o",
        "BatchMode=yes",
        "-p",
        "2222",
        "-l",
        "ops",
        "--",
        "edge.example",
    ]


def test_a_tls_endpoint_is_spoken_to_over_https():
    """A tcp:// endpoint with TLS is requested as https:// (aiodocker would say http://)."""
    found = resolve_endpoint("tcp://x.example:2376", tls=TLSFiles(verify=False))
    assert api_target(found).url == "https://x.example:2376"
    assert api_target(resolve_endpoint("tcp://x.example:2375")).url == "http://x.example:2375"


def test_a_python_on_whales_client_is_read_into_an_endpoint(clean_environment):
    """DockerClient(host=..., tls...) keeps working: its host and TLS files are read."""
    client = DockerClient(
        host="tcp://build.example:2376",
        tls=True,
        tlsverify=True,
        tlscacert="/certs/ca.pem",
        tlscert="/certs/cert.pem",
        tlskey="/certs/key.pem",
    )
    executor = DockerActionExecutor(client)
    assert executor.endpoint.url == "tcp://build.example:2376"
    assert executor.endpoint.tls == TLSFiles(
        Path("/certs/ca.pem"), Path("/certs/cert.pem"), Path("/certs/key.pem"), verify=True
    )
    write_context(clean_environment, "lab", "unix:///run/lab.sock")
    assert DockerActionExecutor(DockerClient(context="lab")).endpoint.url == "unix:///run/lab.sock"


def test_a_podman_client_means_podmans_api_socket():
    """DockerClient(client_call=["podman"]) is reached at `podman system service`'s socket."""
    executor = DockerActionExecutor(DockerClient(client_call=["podman"]))
    assert executor.endpoint.url == podman_socket()
