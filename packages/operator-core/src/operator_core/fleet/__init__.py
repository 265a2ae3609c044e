"""Many Docker hosts as one fleet: ``Fleet``, the inventory and ``load_inventory``.

``from operator_core.fleet import Fleet, load_inventory``::

    fleet = Fleet(load_inventory("inventory.toml"))
    listing = await fleet.list_containers(all=True)   # every host at once, each entry's host
    await fleet.executor("edge-1").restart_container("web")
    health = await fleet.check()                       # reachable, version, containers, latency
"""

from operator_core.fleet.executor import FleetExecutor
from operator_core.fleet.fleet import Fleet, host_error
from operator_core.fleet.inventory import (
    DEFAULT_HOST_DEADLINE_S,
    HOST_NAME_PATTERN,
    HostEntry,
    Inventory,
    TLSFiles,
    inventory_from_dict,
    load_inventory,
    resolve_inventory_path,
)
from operator_core.fleet.results import (
    FleetCheck,
    FleetContainer,
    FleetContainerList,
    HostCheck,
    HostError,
    ListFilters,
)

__all__ = [
    "DEFAULT_HOST_DEADLINE_S",
    "HOST_NAME_PATTERN",
    "Fleet",
    "FleetCheck",
    "FleetContainer",
    "FleetContainerList",
    "FleetExecutor",
    "HostCheck",
    "HostEntry",
    "HostError",
    "Inventory",
    "ListFilters",
    "TLSFiles",
    "host_error",
    "inventory_from_dict",
    "load_inventory",
    "resolve_inventory_path",
]
