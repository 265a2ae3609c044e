"""``inspect_service``'s details are read field by field from the engine's JSON (issue 20).

The TypedDicts (``HealthCheck``, ``ChangeConfig``, ``PublishedPort``, ``ServiceNetwork``)
say what each field holds; a field the engine sends of another kind reads as None (or is
left out), never passed on as whatever came.
"""

from __future__ import annotations

from operator_core.docker.swarm import _snapshot
from operator_core.docker.swarm._view import change_config
from operator_core.docker.swarm.services import _details

_SECOND = 1_000_000_000


def _service(template: dict[str, object], **spec: object) -> dict[str, object]:
    return {
        "ID": "s1",
        "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 2}}, "TaskTemplate": template}
        | spec,
        "Endpoint": {"Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080}]},
    }


def test_a_well_formed_service_reads_whole():
    """Each field of a well-formed answer is kept, durations in seconds."""
    template = {
        "ContainerSpec": {
            "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5 * _SECOND, "Retries": 3}
        },
        "Networks": [{"Target": "n1", "Aliases": ["web"]}],
        "Placement": {"Constraints": ["node.role==worker"]},
    }
    update = {
        "Parallelism": 1,
        "Delay": 2 * _SECOND,
        "MaxFailureRatio": 0.5,
        "Order": "start-first",
    }
    details = _details(_snapshot.service_snap(_service(template, UpdateConfig=update)), [])
    assert details["health_check"] == {
        "test": ["CMD", "true"],
        "interval_s": 5.0,
        "timeout_s": None,
        "retries": 3,
        "start_period_s": None,
    }
    assert details["update_config"] == {
        "parallelism": 1,
        "delay_s": 2.0,
        "failure_action": None,
        "monitor_s": 0.0,
        "max_failure_ratio": 0.5,
        "order": "start-first",
    }
    assert details["ports"] == [
        {"protocol": "tcp", "target_port": 80, "published_port": 8080, "publish_mode": None}
    ]
    assert details["networks"] == [{"network_id": "n1", "aliases": ["web"]}]
    assert details["constraints"] == ["node.role==worker"]


def test_fields_of_another_kind_read_as_none_or_are_left_out():
    """A text where a number belongs is None; an entry that is no object is skipped."""
    template = {
        "ContainerSpec": {"Healthcheck": {"Test": ["CMD", 7], "Retries": "3"}},
        "Networks": ["n1", {"Target": "n2", "Aliases": None}],
        "Placement": {"Constraints": "node.role==worker"},
    }
    details = _details(_snapshot.service_snap(_service(template)), [])
    health = details["health_check"]
    assert health is not None
    assert health["test"] == ["CMD", "7"]
    assert health["retries"] is None
    assert details["networks"] == [{"network_id": "n2", "aliases": []}]
    assert details["constraints"] == []
    config = change_config({"Parallelism": "2", "MaxFailureRatio": True})
    assert config is not None
    assert (config["parallelism"], config["max_failure_ratio"]) == (None, None)
    assert change_config(None) is None
    assert change_config(["not", "a", "config"]) is None


def test_a_node_or_task_reads_its_fields_by_kind():
    """A node's or a task's field of another kind reads as None (or text), never as is."""
    node = _snapshot.node_snap(
        {
            "ID": "n1",
            "Spec": {"Role": "manager", "Labels": {"zone": 3}},
            "Description": {"Hostname": "eng1", "Engine": "not an object"},
            "Status": {"State": "ready", "Addr": ["10.0.0.1"]},
            "ManagerStatus": {"Leader": True, "Reachability": "reachable"},
            "Version": {"Index": "7"},
        }
    )
    assert (node.labels, node.engine_version, node.addr, node.version) == (
        {"zone": "3"},
        None,
        None,
        0,
    )
    assert node.manager_status() == {"leader": True, "reachability": "reachable"}
    task = _snapshot.task_snap({"ID": "t1", "NodeID": {"id": "n1"}, "Status": "running"})
    assert (task.node_id, task.state, task.container_id) == (None, "unknown", None)
    service = _snapshot.service_snap({"ID": "s1", "Spec": {"Mode": {"Replicated": None}}})
    assert (service.mode, service.replicas) == ("replicated", 0)
