"""Start, stop, restart and inspect with the client mocked: whole results and what is read.

Each action reads the container by the caller's reference once, then acts on and reads
it again by its full id (never by a name that could now mean another container); its
errors name the reference and the action. Results are pinned whole.
"""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from python_on_whales.exceptions import NoSuchContainer

from operator_core.docker import DockerActionExecutor
from operator_core.errors import ContainerNotFound

CID = "0123456789ab" * 5 + "cdef"


class StepClock:
    """A monotonic clock that moves only when the fake ``docker stop`` says so."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> StepClock:
    """A clock the tests move by hand."""
    return StepClock()


@pytest.fixture
def executor(client: MagicMock, clock: StepClock) -> DockerActionExecutor:
    """An executor over the mocked client and the step clock."""
    return DockerActionExecutor(clock=clock)


def stop_lasts(client: MagicMock, clock: StepClock, seconds: float) -> None:
    """Make the mocked ``docker stop`` last ``seconds`` on the step clock."""

    def fake_stop(_args: list[str]) -> str:
        clock.now += seconds
        return ""

    client.cli.side_effect = fake_stop


@pytest.mark.parametrize(
    "action", ["start_container", "stop_container", "restart_container", "inspect_container"]
)
async def test_a_missing_container_is_named_by_the_reference_given(client, executor, action):
    """Every lifecycle action turns the engine's 'no such container' into ContainerNotFound."""
    client.container.inspect.side_effect = NoSuchContainer(
        ["docker", "inspect", "ghost"], 1, b"", b"Error: No such container: ghost"
    )
    with pytest.raises(ContainerNotFound) as caught:
        await getattr(executor, action)("ghost")
    assert caught.value.reference == "ghost"
