"""A network alias may not be a name another container answers to on that network.

Docker's DNS answers a name with every container that has it, so connecting a container
under the alias ``pg`` where ``pg`` is protected would let it take part of pg's traffic.
"""

from __future__ import annotations

from typing import Any

import pytest

from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor, container_id

CONNECT = "docker_connect_container_to_network"


def _setup(**policy: Any) -> tuple[FakeExecutor, ToolRunner]:
    """Return pg (protected) and cache on 'backend', and web off it, with a runner."""
    fake = FakeExecutor("web")
    for name in ("pg", "cache"):
        fake.add(name)
        fake.containers[container_id(name)]["networks"] = ["backend"]
    fake.containers[container_id("cache")]["aliases"] = {"backend": ["redis"]}
    settings: dict[str, Any] = {
        "mode": "execute",
        "approval": {"risks": []},
        "protected": {"names": ["pg", "vault"], "patterns": ["prod-*"]},
        **policy,
    }
    run = ToolRunner(fake, policy=Policy(**settings), own_container_id=None)
    return fake, run


def _connected(fake: FakeExecutor) -> bool:
    """Whether the executor was asked to connect anything."""
    return any(name == "connect_container_to_network" for name, _ in fake.calls)


@pytest.mark.parametrize(
    ("alias", "rule"),
    [
        ("pg", "alias.protected"),
        ("PG", "alias.protected"),
        (container_id("pg")[:12], "alias.protected"),
        ("prod-db", "alias.protected"),  # a protected pattern, on the network or not
        ("Prod-DB", "alias.protected"),  # DNS ignores case: it would answer for prod-db
        ("Vault", "alias.protected"),  # a protected name not on the network, other case
        ("cache", "alias.taken"),
        ("redis", "alias.taken"),
    ],
)
async def test_an_alias_another_container_answers_to_is_refused(alias, rule):
    """Names, short ids and aliases of others on the network; protected ones first."""
    fake, run = _setup()
    envelope = await run.execute_tool(
        CONNECT, {"container_id": "web", "network": "backend", "alias": alias}
    )
    assert envelope["ok"] is False
    assert envelope["error"]["rule"] == rule, envelope["error"]
    assert not _connected(fake)


async def test_sharing_an_unprotected_name_is_allowed_when_the_policy_says_so():
    """allow_alias_sharing lets 'redis' be shared, but 'pg' stays refused."""
    _, run = _setup(allow_alias_sharing=True)
    shared = await run.execute_tool(
        CONNECT, {"container_id": "web", "network": "backend", "alias": "redis"}
    )
    assert shared["ok"] is True
    _, run2 = _setup(allow_alias_sharing=True)
    refused = await run2.execute_tool(
        CONNECT, {"container_id": "web", "network": "backend", "alias": "pg"}
    )
    assert refused["error"]["rule"] == "alias.protected"


async def test_a_fresh_alias_or_no_alias_connects():
    """An alias nobody has, or none at all, connects as before."""
    for alias in ("web-2", None):
        fake, run = _setup()
        arguments = {"container_id": "web", "network": "backend", "alias": alias}
        envelope = await run.execute_tool(CONNECT, arguments)
        assert envelope["ok"] is True, envelope
        assert _connected(fake)


async def test_a_protected_alias_is_refused_in_dry_run_too():
    """The dry run reports the denial rather than a plan."""
    _, run = _setup(dry_run=True)
    envelope = await run.execute_tool(
        CONNECT, {"container_id": "web", "network": "backend", "alias": "pg"}
    )
    assert envelope["error"]["rule"] == "alias.protected"
