"""The ``operator`` command line: docker actions, the audit trail, policies, MCP, the demo.

``main`` is the console script. Every docker command runs through the tool layer
(``operator_core.runner.ToolRunner``), so the policy and the audit trail apply to it
exactly as to an agent.
"""

from __future__ import annotations

from operator_core.cli.app import app
from operator_core.cli.commands import diagnosis as diagnosis_cmds
from operator_core.cli.commands.audit import audit_app
from operator_core.cli.commands.docker import docker_app
from operator_core.cli.commands.heal import heal_app
from operator_core.cli.commands.health import health
from operator_core.cli.commands.hosts import hosts
from operator_core.cli.commands.policy import policy_app
from operator_core.cli.commands.retention import history_app
from operator_core.cli.commands.serve import register
from operator_core.cli.commands.swarm import swarm_app
from operator_core.cli.commands.watch import watch_command
from operator_core.cli.exit_codes import EXIT_CODES_HELP, ExitCode

__all__ = ["EXIT_CODES_HELP", "ExitCode", "app", "main"]

del diagnosis_cmds  # imported for its commands, which it adds to docker_app

app.add_typer(docker_app, name="docker")
app.add_typer(audit_app, name="audit")
app.add_typer(policy_app, name="policy")
app.add_typer(swarm_app, name="swarm")
app.add_typer(history_app, name="history")
app.add_typer(heal_app, name="heal")
register(app)
app.command("watch")(watch_command)
app.command("hosts")(hosts)
app.command("health")(health)


def main() -> None:
    """Run the ``operator`` command line (the console script)."""
    app(prog_name="operator")


if __name__ == "__main__":
    main()
