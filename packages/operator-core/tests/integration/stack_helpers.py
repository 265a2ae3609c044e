"""deploy/stack.yaml on the lab's swarm, for the stack engine tests.

The lab's engines share this machine's file system, so the stack's watchers mount their own
node's socket through Swarm's node template: ``OPERATOR_DOCKER_SOCKET`` is
``/run/operator-lab/nodes/{{.Node.Hostname}}/docker.sock``, a link ``scripts/lab.sh up``
makes for every engine. Every node gets the operator's image by ``docker save | docker load``
(there is no registry). A stack has a unique name per run; ``remove`` takes it down and then
its volumes on every node, and its MCP token secret.

``alert_overlay`` adds an alert receiver to a stack (a second compose file): busybox
``httpd`` on the stack's network whose CGI script appends each POST body to a file, and the
watchers' policy with a webhook sink pointing at it (the watchers run in the lab engines'
network namespaces and cannot reach the host's loopback).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from image_helpers import OPERATOR_IMAGE
from swarm_helpers import SwarmLab

__all__ = [
    "ALERT_SERVICE",
    "ALERT_URL",
    "NODE_SOCKETS",
    "STACK_FILE",
    "Stack",
    "alert_overlay",
    "load_image_everywhere",
    "node_links_problem",
    "received_alerts",
]

STACK_FILE = Path(__file__).resolve().parents[4] / "deploy" / "stack.yaml"
#: Where ``scripts/lab.sh`` links each engine's socket by its node's hostname.
NODE_SOCKETS = Path("/run/operator-lab/nodes")
_SERVICE = "com.docker.swarm.service.name"
#: Seconds a watcher is given to start and follow its engine (an image loaded, a slow node).
WATCHER_BOUND_S = 180.0
_NAMESPACE = "com.docker.stack.namespace"
#: The alert receiver's service (and host) name on the stack's network.
ALERT_SERVICE = "alerts"
#: Where the receiver keeps what it was sent: a line per POST, ``<epoch seconds> <body>``.
_RECEIVED = "/tmp/alerts.jsonl"
# busybox httpd hands a CGI script the body on stdin and its size in CONTENT_LENGTH.
_CGI = f"""#!/bin/sh
{{ printf '%s ' "$(date +%s)"; head -c "${{CONTENT_LENGTH:-0}}"; echo; }} >> {_RECEIVED}
printf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'
"""
#: The sink's URL: the receiver's service name on the stack's network.
ALERT_URL = f"http://{ALERT_SERVICE}:8080/cgi-bin/alert"
_SINK = """
[alerts.test]
kind = "webhook"
url = "{url}"
kinds = ["died"]
retry_for_s = 300
"""


def alert_overlay(directory: Path, node: str, test_image: str, *, url: str | None = None) -> Path:
    """Write a compose file adding the alert receiver (on ``node``) and the sink's policy.

    The watchers' policy is deploy/watch-policy.toml plus ``[alerts.test]``, a webhook to
    the receiver's service name (``url`` replaces its URL). Returns the compose file.
    """
    cgi = directory / "alert.cgi"
    cgi.write_text(_CGI)
    sink = _SINK.replace("{url}", url or ALERT_URL)
    policy = directory / "watch-policy.toml"
    policy.write_text((STACK_FILE.parent / "watch-policy.toml").read_text() + sink)
    start = (
        "mkdir -p /www/cgi-bin && cp /etc/alert.cgi /www/cgi-bin/alert"
        " && chmod 755 /www/cgi-bin/alert && exec httpd -f -p 8080 -h /www"
    )
    service = {
        "image": test_image,
        "command": ["sh", "-c", start],
        "labels": {"org.operator-core.test": "1"},
        "configs": [{"source": "alert_cgi", "target": "/etc/alert.cgi"}],
        "deploy": {
            "replicas": 1,
            "endpoint_mode": "dnsrr",
            "placement": {"constraints": [f"node.hostname == {node}"]},
            "restart_policy": {"condition": "any", "delay": "2s"},
        },
    }
    overlay = {
        "version": "3.8",
        "services": {ALERT_SERVICE: service},
        "configs": {"watch_policy": {"file": str(policy)}, "alert_cgi": {"file": str(cgi)}},
    }
    path = directory / "alert-overlay.yaml"
    path.write_text(json.dumps(overlay, indent=2))  # JSON is YAML
    return path


def _image_id(docker: list[str]) -> str | None:
    """Return the operator image's ID on an engine, or None when it lacks it."""
    done = subprocess.run(
        [*docker, "image", "inspect", "--format", "{{.Id}}", OPERATOR_IMAGE],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def load_image_everywhere(lab: SwarmLab) -> None:
    """Give every node of the swarm the host's operator image (the same ID)."""
    want = _image_id(["docker"])
    for socket in lab.sockets.values():
        if _image_id(["docker", "-H", socket]) == want:
            continue
        save = subprocess.Popen(["docker", "save", OPERATOR_IMAGE], stdout=subprocess.PIPE)
        try:
            subprocess.run(
                ["docker", "-H", socket, "load", "-q"],
                stdin=save.stdout,
                capture_output=True,
                timeout=600,
                check=True,
            )
        finally:
            if save.stdout is not None:
                save.stdout.close()
            save.wait(60)


def node_links_problem(lab: SwarmLab) -> str | None:
    """Return why a node's socket is not reachable by its hostname, or None."""
    for host, name in lab.hostnames.items():
        link = NODE_SOCKETS / name / "docker.sock"
        if not link.is_socket() or f"unix://{link.resolve()}" != lab.sockets[host]:
            return f"{link} is not {lab.sockets[host]} (run scripts/lab.sh up 3 --swarm)"
    return None


@dataclass
class Stack:
    """deploy/stack.yaml deployed on the lab's swarm under a unique name."""

    lab: SwarmLab
    name: str = field(default_factory=lambda: f"opc-stack-{uuid.uuid4().hex[:8]}")
    deployed_at: str = ""
    #: More compose files deployed over deploy/stack.yaml (``alert_overlay``).
    overlays: list[Path] = field(default_factory=list)

    @property
    def secret(self) -> str:
        """The name of this stack's MCP token secret."""
        return f"{self.name}_mcp_token"

    def deploy(self) -> None:
        """Create the token secret and deploy the stack file (detached, no image lookup)."""
        self.deployed_at = datetime.now(UTC).isoformat()
        subprocess.run(
            ["docker", "-H", self.lab.manager_socket, "secret", "create", self.secret, "-"],
            input=uuid.uuid4().hex,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        env = {
            **os.environ,
            "OPERATOR_IMAGE": OPERATOR_IMAGE,
            "OPERATOR_DOCKER_SOCKET": f"{NODE_SOCKETS}/{{{{.Node.Hostname}}}}/docker.sock",
            "OPERATOR_MCP_TOKEN_SECRET": self.secret,
        }
        done = subprocess.run(
            ["docker", "-H", self.lab.manager_socket, "stack", "deploy", "--detach=true",
             "--resolve-image", "never", "-c", str(STACK_FILE),
             *(arg for path in self.overlays for arg in ("-c", str(path))), self.name],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"stack deploy failed: {done.stderr.strip()[-500:]}")

    def containers(self, service: str, host: str, *, running: bool = True) -> list[dict[str, Any]]:
        """Return the containers of ``service`` (watch, mcp, alerts) on ``host``, newest first."""
        out = self.lab.docker(
            "ps",
            *(() if running else ("-a",)),
            "--filter",
            f"label={_SERVICE}={self.name}_{service}",
            "--format",
            "{{json .}}",
            host=host,
        )
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def wait_for_watcher(self, host: str, *, not_id: str | None = None) -> str:
        """Return the ID of the watcher on ``host`` once it follows its engine's events.

        That is, once its output says ``connected``; ``not_id``: a container to pass over
        (the one that was killed). Bounded at ``WATCHER_BOUND_S``.
        """
        until = time.monotonic() + WATCHER_BOUND_S
        while time.monotonic() < until:
            for container in self.containers("watch", host):
                if container["ID"] != not_id and self._connected(host, container["ID"]):
                    return str(container["ID"])
            time.sleep(0.5)
        raise AssertionError(f"no watcher of {self.name} follows {host} after {WATCHER_BOUND_S}s")

    def _connected(self, host: str, container: str) -> bool:
        """Whether the watcher ``container`` said it follows its engine's events."""
        done = subprocess.run(
            ["docker", "-H", self.lab.sockets[host], "logs", container],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        return any(
            line.startswith("{") and json.loads(line).get("kind") == "connected"
            for line in done.stdout.splitlines()
        )

    def remove(self) -> None:
        """Take the stack down, wait (bounded) for its containers, then its volumes and secret."""
        subprocess.run(
            ["docker", "-H", self.lab.manager_socket, "stack", "rm", self.name],
            capture_output=True,
            timeout=120,
            check=False,
        )
        until = time.monotonic() + 120
        while time.monotonic() < until and any(self._left(host) for host in self.lab.sockets):
            time.sleep(0.5)
        for socket in self.lab.sockets.values():
            subprocess.run(
                ["docker", "-H", socket, "volume", "rm", f"{self.name}_state"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        subprocess.run(
            ["docker", "-H", self.lab.manager_socket, "secret", "rm", self.secret],
            capture_output=True,
            timeout=60,
            check=False,
        )

    def _left(self, host: str) -> str:
        """Return the IDs of this stack's containers still on ``host``."""
        label = f"label={_NAMESPACE}={self.name}"
        return self.lab.docker("ps", "-aq", "--filter", label, host=host)


def received_alerts(stack: Stack, host: str) -> list[tuple[float, dict[str, Any]]]:
    """Return what the stack's alert receiver on ``host`` was sent: (epoch seconds, body)."""
    got: list[tuple[float, dict[str, Any]]] = []
    for container in stack.containers(ALERT_SERVICE, host):
        done = subprocess.run(
            ["docker", "-H", stack.lab.sockets[host], "exec", container["ID"], "cat", _RECEIVED],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        for line in done.stdout.splitlines():
            when, _, body = line.partition(" ")
            got.append((float(when), json.loads(body)))
    return got
