"""Run the ``operator`` command as a subprocess, the way a person or a script does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

#: The command line: the installed package's CLI under this interpreter.
OPERATOR = [sys.executable, "-m", "operator_core.cli"]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Return this environment with a private audit file and no user policy or mode."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OPERATOR_POLICY", "OPERATOR_MODE", "COLUMNS")
    }
    env["OPERATOR_AUDIT_DB"] = str(tmp_path / "audit.sqlite3")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env.update(extra)
    return env


def run_operator(
    env: dict[str, str], *args: str, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """Run ``operator ARGS``; return the finished process (stdout and stderr as text)."""
    return subprocess.run(
        [*OPERATOR, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_out(process: subprocess.CompletedProcess[str]) -> Any:
    """Return the JSON document a ``--json`` command printed on stdout."""
    try:
        return json.loads(process.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(
            f"stdout is not JSON ({exc}):\n{process.stdout}\nstderr:\n{process.stderr}"
        ) from None
