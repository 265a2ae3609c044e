"""``heal_watch``: the watch with a healer; and the approver of the healer's own restarts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Unpack

from operator_core.errors import ApprovalUnavailable
from operator_core.policy import ApprovalRequest, Approver, HealRules
from operator_core.watch.heal.healer import HEAL_ACTOR, Healer, HealReport
from operator_core.watch.incidents import Incident, IncidentDetector
from operator_core.watch.intents import AuditIntents
from operator_core.watch.sources import WatchSource
from operator_core.watch.stream import Notice, WatchOptions, watch

__all__ = ["heal_approver", "heal_watch"]


def heal_approver(approver: Approver | None, rules: HealRules) -> Approver | None:
    """Return ``approver``, answering yes itself to the healer's restarts when ``preapproved``.

    Only ``docker_restart_container`` asked for by the healer (actor ``HEAL_ACTOR``) is
    pre-approved; every other request goes to ``approver`` (None: the runner's default).
    """
    if not rules.preapproved:
        return approver

    async def approve(request: ApprovalRequest) -> bool:
        if request.tool == "docker_restart_container" and request.actor == HEAL_ACTOR:
            return True
        if approver is None:
            raise ApprovalUnavailable("no approver is configured")
        return await approver(request)

    return approve


async def heal_watch(
    source: WatchSource, healer: Healer, **options: Unpack[WatchOptions]
) -> AsyncGenerator[Incident | Notice | HealReport, None]:
    """Yield the watch's incidents and notices, and the healer's reports, as they happen.

    ``options`` go to ``watch``. Each incident is handed to ``healer`` as it arrives (it
    acts on firing ones only). The detector learns the healer's restarts from its runner's
    audit trail, so each shows as ``restarted_by_operator``, never as a death.
    """
    items: asyncio.Queue[Incident | Notice | HealReport] = asyncio.Queue()
    detector = options.get("detector") or IncidentDetector()
    options["detector"] = detector
    if detector.intents is None:  # the healer's own restarts are said as such, not deaths
        detector.intents = AuditIntents(healer.runner.audit)

    async def follow() -> None:
        async with contextlib.aclosing(watch(source, **options)) as stream:
            async for item in stream:
                await items.put(item)
                if "container_id" in item:
                    healer.consider(item)  # type: ignore[arg-type]

    async def relay() -> None:
        while True:
            await items.put(await healer.reports.get())

    tasks = [asyncio.create_task(follow()), asyncio.create_task(relay())]
    try:
        while True:
            getter = asyncio.ensure_future(items.get())
            done, _ = await asyncio.wait({getter, *tasks}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
                continue
            getter.cancel()
            for task in tasks:
                if task.done():
                    task.result()  # a watch that failed raises its error here
            return
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await healer.close()
