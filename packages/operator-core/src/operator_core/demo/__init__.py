"""The main demonstration, for a person watching: a service breaks and an agent heals it.

Run with ``operator demo`` (or ``python -m operator_core.demo``; the README's
``./dev demo``). Against the local engine, with the local test image and no registry:

1. start a small web service (busybox httpd) with a health check, and wait until healthy;
2. break it: its web server dies, the container keeps running, the health check fails
   and the service writes why to its logs;
3. find it with ``ps`` filtered on ``health=unhealthy``;
4. read its logs, which say why;
5. try a restart in observe mode: the policy denies it (nothing happens);
6. restart it under an execute-mode policy with a rate limit and an approval gate;
7. wait until it is healthy again;
8. try a second restart, as a looping agent would: the rate limit denies it;
9. show the audit trail (a temporary SQLite file), then clean up, even on failure or
   Ctrl-C.

The rooms: ``story`` (the steps and the agent's tool calls), ``scene`` (the service and
the incident, set up on the engine directly, each call bounded) and ``show`` (printing,
through ``operator_core.present.views``, which the CLI uses too). Importing the demo never
builds the command line.
"""

from __future__ import annotations

from operator_core.demo.scene import DEMO_LABEL, SERVICE_SCRIPT, DemoFailed
from operator_core.demo.story import run_demo, run_demo_cli
from operator_core.present.views import make_console

__all__ = ["DEMO_LABEL", "SERVICE_SCRIPT", "DemoFailed", "main", "run_demo", "run_demo_cli"]


def main() -> int:
    """Run the demo (``python -m operator_core.demo``); return a process exit code."""
    return run_demo_cli(make_console(stderr=False))
