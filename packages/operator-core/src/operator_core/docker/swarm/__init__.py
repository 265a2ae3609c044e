"""Swarm services, tasks and nodes: read them, change them, wait for the truth.

``swarm_bound`` is the deadline a swarm change waits within (the executor applies it).
"""

from operator_core.docker.swarm._wait import swarm_bound

__all__ = ["swarm_bound"]
