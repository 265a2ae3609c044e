"""Fuzz ``execute_tool`` with random and hostile arguments; print what came back.

Every call goes through a real ``DockerActionExecutor`` whose process creation is
counted and refused (no docker process ever runs), under an execute policy that asks an
approver for every call. For each call the script checks the promises of issue 9:

* no exception escapes ``execute_tool`` and no envelope says ``internal``;
* the envelope and the audit record are strict JSON (no NaN or Infinity), and the record
  is valid UTF-8 (a lone surrogate would make a JSONL or SQLite trail refuse it);
* a call refused as ``invalid_arguments`` or ``unknown_tool`` started no docker process
  and asked nobody.

Run: ``.venv/bin/python scripts/fuzz_tools.py [CASES] [SEED]`` (default 3000 cases, seed 9).
Needs no engine.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from collections import Counter
from typing import Any
from unittest.mock import patch

from operator_core.audit import AuditQuery
from operator_core.docker import DockerActionExecutor
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.tools import TOOLS

STRINGS = [
    "",
    " ",
    "web",
    "-rm",
    "/pg",
    "a\x00b",
    "=/",
    "é" * 70000,
    "\u0800" * 65536,
    "x" * (2 << 20),
    "NaN",
    '{"a": ' * 3000,
    "[" * 50000 + "]" * 50000,
    '["sh", "-c", "echo\\u0000"]',
    '{"LEVEL": "debug"}',
    "SIGTERM",
    "\ud800",
    "healthy",
]
NUMBERS = [0, -1, 1, 10**30, 1.5, float("nan"), float("inf"), -float("inf"), True]


def nested(depth: int) -> Any:
    """Return a list or dict nested ``depth`` deep, built without recursion."""
    value: Any = "x"
    for index in range(depth):
        value = [value] if index % 2 else {"k": value}
    return value


def value(rng: random.Random, depth: int = 0) -> Any:
    """Return one random argument value: scalar, container or a hostile shape."""
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(STRINGS)
    if roll < 0.55:
        return rng.choice(NUMBERS)
    if roll < 0.6:
        return None
    if roll < 0.7:
        return nested(rng.choice([3, 20, 600, 5000]))
    if depth > 2:
        return "leaf"
    if roll < 0.85:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["a", "env", "x", ""]): value(rng, depth + 1) for _ in range(3)}


def arguments(rng: random.Random, spec: Any) -> Any:
    """Return arguments for ``spec``: its own keys with random values, sometimes not a dict."""
    roll = rng.random()
    if roll < 0.05:
        return value(rng)
    if roll < 0.1:
        return json.dumps({"container_id": "web", "timeout": 1}).replace("1}", "NaN}")
    keys = list(spec.input_schema.get("properties", {}))
    chosen = {key: value(rng) for key in keys if rng.random() < 0.7}
    if rng.random() < 0.1:
        chosen["bogus"] = value(rng)
    if rng.random() < 0.3 and "container_id" in keys:
        chosen["container_id"] = "web"
    if rng.random() < 0.2:
        try:
            return json.dumps(chosen, default=str)
        except RecursionError:  # too deep for json itself: send it as objects instead
            return chosen
    return chosen


def strict(text: str) -> Any:
    """Parse JSON refusing NaN and Infinity, as strict parsers do."""

    def refuse(name: str) -> Any:
        raise ValueError(f"non-JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


async def main(cases: int, seed: int) -> int:
    """Run ``cases`` random calls; print the tallies; return the number of broken promises."""
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
    spawned: list[Any] = []
    asked: list[Any] = []

    async def approve(request: Any) -> bool:
        asked.append(request)
        return False

    def spawn(popen: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        spawned.append(args)
        raise OSError("the fuzzer starts no process")

    policy = Policy(mode="execute", approval={"risks": ["low", "medium", "high"]})
    outcomes: Counter[str] = Counter()
    broken: Counter[str] = Counter()
    invalid_spawns = invalid_asks = 0
    names = [spec.name for spec in TOOLS] + ["docker_nuke", "", "DOCKER_STOP_CONTAINER"]
    with patch.object(subprocess.Popen, "_execute_child", spawn):
        for _ in range(cases):
            run = ToolRunner(
                DockerActionExecutor(), policy=policy, approver=approve, own_container_id=()
            )
            name = rng.choice(names)
            spec = next((s for s in TOOLS if s.name == name), TOOLS[0])
            before_spawned, before_asked = len(spawned), len(asked)
            sent = arguments(rng, spec)
            try:
                envelope = await run.execute_tool(name, sent)
            except Exception as exc:  # a broken promise: nothing may escape
                broken[f"raised {type(exc).__name__}"] += 1
                continue
            kind = "ok" if envelope.get("ok") else envelope["error"]["type"]
            outcomes[kind] += 1
            if kind == "internal":
                broken["internal"] += 1
            try:
                strict(json.dumps(envelope, allow_nan=False))
                for record in run.audit.query(AuditQuery()):
                    strict(record.to_json().encode("utf-8").decode("utf-8"))
            except ValueError as exc:  # UnicodeEncodeError included: a file can't hold it
                broken["not strict JSON"] += 1
                if "-v" in sys.argv:
                    print(name, kind, str(exc)[:200], repr(sent)[:200])
            if kind in ("invalid_arguments", "unknown_tool"):
                invalid_spawns += len(spawned) - before_spawned
                invalid_asks += len(asked) - before_asked
    print(f"cases: {cases} (seed {seed})")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
    print(f"internal errors or escaped exceptions: {sum(broken.values())} {dict(broken)}")
    print(f"docker processes started for invalid input: {invalid_spawns}")
    print(f"approvers asked for invalid input: {invalid_asks}")
    print(f"docker processes tried for valid input (refused by the fuzzer): {len(spawned)}")
    return sum(broken.values()) + invalid_spawns + invalid_asks


if __name__ == "__main__":
    numbers = [arg for arg in sys.argv[1:] if arg != "-v"]
    count = int(numbers[0]) if numbers else 3000
    start = int(numbers[1]) if len(numbers) > 1 else 9
    sys.exit(1 if asyncio.run(main(count, start)) else 0)
