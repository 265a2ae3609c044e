"""Swarm tasks under the healer: never restarted in place; a service that keeps failing escalates.

Swarm replaces an unhealthy or dead task itself, and restarting a task's container under
Swarm fails or fights the orchestrator, so the healer never does. Instead, for each
incident of an opted-in task's container (unhealthy, died, OOM-killed, looping) it:

* counts a task failure of the service, once per task (in the heal store, keyed by the
  swarm's cluster ID, or the engine's ID outside a cluster, and ``service:<service id>``);
* reads the service's task churn from the engine (``docker_list_service_tasks`` through
  the runner, so it is audited and the policy applies) at most every ``CHURN_READ_S``
  seconds per service, and reports it (``heal_skipped``: "not restarted in place");
* escalates the service once ``max_attempts`` task failures fall within ``window_s``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from operator_core.watch.incidents import Incident

if TYPE_CHECKING:
    from operator_core.watch.heal.healer import Healer

__all__ = ["CHURN_READ_S", "SERVICE_ID_LABEL", "TASK_ID_LABEL", "SwarmChurn", "is_swarm_task"]

#: The label Swarm puts on a task's container.
TASK_ID_LABEL = "com.docker.swarm.task.id"
SERVICE_ID_LABEL = "com.docker.swarm.service.id"
_SERVICE_NAME_LABEL = "com.docker.swarm.service.name"
#: A service's tasks are read from the engine at most this often (seconds).
CHURN_READ_S = 10.0
_FAILED = ("failed", "rejected")
#: The task IDs remembered so that each failing task counts once.
_REMEMBERED_TASKS = 10000


def is_swarm_task(labels: dict[str, str]) -> bool:
    """Whether a container with these labels is a Swarm task."""
    return bool(labels.get(TASK_ID_LABEL) or labels.get(SERVICE_ID_LABEL))


def _churn(result: object) -> str:
    """Return a task listing as 'N failed, M running of T tasks' (the swarm's history)."""
    listed = result.get("tasks") if isinstance(result, dict) else None
    tasks = [t for t in listed if isinstance(t, dict)] if isinstance(listed, list) else []
    failed = sum(1 for t in tasks if t.get("state") in _FAILED or t.get("error"))
    running = sum(1 for t in tasks if t.get("state") == "running")
    return f"{failed} failed, {running} running of {len(tasks)} tasks in its history"


class SwarmChurn:
    """The healer's handling of Swarm tasks (see the module)."""

    def __init__(self, healer: Healer) -> None:
        self.healer = healer
        self._read_at: dict[str, float] = {}
        self._counted: deque[str] = deque(maxlen=_REMEMBERED_TASKS)

    async def consider(self, incident: Incident) -> None:
        """Count the task's failure, report the churn, escalate the service at the bound."""
        healer, store, rules = self.healer, self.healer.store, self.healer.rules
        labels = incident["labels"]
        service_id = labels.get(SERVICE_ID_LABEL) or labels.get(TASK_ID_LABEL) or "?"
        service = labels.get(_SERVICE_NAME_LABEL) or service_id[:12]
        identity = await healer.identity(incident["host"])
        if identity is None:
            healer.report("heal_failed", incident, "a Swarm task: could not read its engine's ID")
            return
        key = (str(identity.get("cluster_id") or identity["engine_id"]), f"service:{service_id}")
        if await store.run(store.escalation, *key) is not None:
            said = f"a Swarm task of service {service}, escalated earlier: not acted on"
            healer.report("heal_skipped", incident, said)
            return
        task = labels.get(TASK_ID_LABEL) or incident["container_id"]
        if task in self._counted:
            return  # this task's failure is counted (an unhealthy task then dies)
        self._counted.append(task)
        now = healer.clock()
        await store.run(store.mark, *key, "failure", now)
        failures = await store.run(store.count, *key, "failure", now - rules.window_s)
        churn = await self._read(incident, service_id, now)
        seen = f"{failures} failed task(s) of service {service} within {rules.window_s:g}s"
        said = f"a Swarm task ({incident['kind']}): never restarted in place, Swarm replaces it; "
        healer.report("heal_skipped", incident, said + seen + churn)
        if failures >= rules.max_attempts:
            why = f"service {service}: {seen}{churn}: its tasks keep failing; Swarm replaces them"
            await healer.escalate(incident, key, why, failures, name=f"service:{service}")

    async def _read(self, incident: Incident, service_id: str, now: float) -> str:
        """Return '; manager: <churn>' read at most every CHURN_READ_S per service, else ''."""
        last = self._read_at.get(service_id)
        if last is not None and now - last < CHURN_READ_S:
            return ""
        self._read_at[service_id] = now
        arguments: dict[str, object] = {"service": service_id}
        if incident["host"] is not None:
            arguments["host"] = incident["host"]
        envelope = await self.healer.runner.execute_tool(
            "docker_list_service_tasks",
            arguments,
            actor="operator:watch-heal",
            reason="watch --heal: a Swarm task's service churn",
        )
        if not envelope.get("ok"):
            error = envelope.get("error")
            return f"; its tasks unreadable here ({error['type'] if error else None})"
        return f"; engine: {_churn(envelope.get('result'))}"
