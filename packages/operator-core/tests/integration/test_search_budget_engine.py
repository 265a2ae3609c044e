"""The log search's read cap holds on a real engine: bytes read, added up, stay under it.

Four stopped containers each logged about 2 MB; with a 3,000,000-byte cap the search
reads less than the cap in all (it read 3,248,500 before the readers drew their
allowances from a shared budget, issue 20), and says it was cut (read_cap).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from python_on_whales import DockerClient

from operator_core.docker import DockerActionExecutor
from operator_core.docker.diagnosis import search as search_module
from operator_core.docker.diagnosis.reading import Pumped
from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name

CAP = 3_000_000
#: 20,000 lines of 100 bytes (with the engine's timestamps, about 2.6 MB read per log).
SCRIPT = 'yes "' + "x" * 99 + '" | head -n 20000'


@pytest.fixture(scope="module")
def four_logs(engine: DockerClient) -> Iterator[list[str]]:
    """Four stopped containers of ~2 MB of logs each; removed after the module."""
    names = [unique_name("opc-search-cap") for _ in range(4)]
    for name in names:
        engine.run(
            TEST_IMAGE, ["sh", "-c", SCRIPT], name=name, detach=True, labels={TEST_LABEL: "1"}
        )
    try:
        for name in names:
            subprocess.run(["docker", "wait", name], capture_output=True, timeout=300, check=True)
        yield names
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", *names], capture_output=True, timeout=60)


async def test_the_readers_together_read_less_than_the_cap(engine, four_logs, monkeypatch):
    """Every byte each log stream gave is counted: the sum is within the cap."""
    monkeypatch.setattr(search_module, "MAX_SEARCH_READ_BYTES", CAP)
    real = search_module.pump
    read: list[int] = []

    async def counted(*args: Any, **kwargs: Any) -> Pumped:
        outcome = await real(*args, **kwargs)
        read.append(outcome.bytes_read)
        return outcome

    monkeypatch.setattr(search_module, "pump", counted)
    executor = DockerActionExecutor(engine)
    result = await executor.search_logs("no-such-text", refs=four_logs, tail=100000)
    assert len(read) >= 2
    assert sum(read) <= CAP
    assert result["truncated"] is True
    assert "read_cap" in result["truncation"]
