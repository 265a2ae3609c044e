"""Print the mutation score per module from the results of a mutmut run.

Reads the ``.meta`` files mutmut leaves under ``packages/operator-core/mutants/`` (see
``scripts/mutation.sh``) and, per mutated source file, counts the mutants killed (a test
failed, or the tests ran past mutmut's time limit), survived, not covered by any test and
not yet checked. Survivors named in ``docs/mutation.md`` (the mutant's name in backquotes)
were judged equivalent: they leave the denominator. The score is
``killed / (total - equivalent)``.

Run: ``.venv/bin/python scripts/mutation_score.py [--survivors | --names]``; with
``--survivors`` it also lists every survivor not judged equivalent (``mutmut show NAME``
gives its diff); ``--names`` prints only those names, to rerun them after new tests:
``scripts/mutation.sh $(.venv/bin/python scripts/mutation_score.py --names)``.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

__all__ = ["equivalent_mutants", "main", "outcome", "results"]

_ROOT = Path(__file__).resolve().parent.parent
_MUTANTS = _ROOT / "packages" / "operator-core" / "mutants"
_EQUIVALENTS = _ROOT / "docs" / "mutation.md"
#: A mutant's name as mutmut spells it (class methods carry "ǁ" separators).
_MUTANT_NAME = re.compile(r"`(operator_core\.[^`\s]+__mutmut_\d+)`")
#: mutmut's exit codes of a mutant's test run, by what they mean here.
_KILLED = {1, 3, 24, -24, 36, 152, 255}  # a failing test, or the time limit (a hang)
_SURVIVED = {0}
#: Packages mutated whole, whose modules are also scored together.
_POOLED = (
    "operator_core/policy",
    "operator_core/fleet",
    "operator_core/watch",
    "operator_core/watch/heal",
    "operator_core/watch/alerts",
)
_NO_TESTS = {5, 33}


def outcome(exit_code: int | None) -> str:
    """Return what mutmut's exit code for a mutant means: killed, survived, no tests..."""
    if exit_code is None:
        return "unchecked"
    if exit_code in _KILLED:
        return "killed"
    if exit_code in _SURVIVED:
        return "survived"
    if exit_code in _NO_TESTS:
        return "no tests"
    return "suspicious"


def results(mutants: Path) -> dict[str, dict[str, int | None]]:
    """Return the exit code of each mutant, grouped by the source file it mutates."""
    by_module: dict[str, dict[str, int | None]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        codes = data.get("exit_code_by_key", {})
        if codes:
            module = str(meta.relative_to(mutants / "src")).removesuffix(".meta")
            by_module[module] = codes
    return by_module


def equivalent_mutants(doc: Path) -> set[str]:
    """Return the names of the mutants ``doc`` lists as equivalent."""
    if not doc.exists():
        return set()
    return set(_MUTANT_NAME.findall(doc.read_text(encoding="utf-8")))


def _survivors(codes: dict[str, int | None]) -> set[str]:
    """Return the mutants no test killed (survived, or covered by no test)."""
    return {name for name, code in codes.items() if outcome(code) in ("survived", "no tests")}


def _packages(by_module: dict[str, dict[str, int | None]]) -> dict[str, dict[str, int | None]]:
    """Return the mutants of each package mutated as a whole (``_POOLED``), pooled."""
    pooled: dict[str, dict[str, int | None]] = {}
    for module, codes in by_module.items():
        package = module.rsplit("/", 1)[0]
        if package in _POOLED:
            pooled.setdefault(f"{package}/ (all)", {}).update(codes)
    return pooled


def _row(module: str, codes: dict[str, int | None], equivalent: set[str]) -> str:
    """Return one line of the table: counts and the score of ``codes``."""
    counts = Counter(outcome(code) for code in codes.values())
    equiv = len(_survivors(codes) & equivalent)
    judged = len(codes) - equiv
    score = f"{100 * counts['killed'] / judged:6.1f}%" if judged else "      -"
    unchecked = f"  ({counts['unchecked']} unchecked)" if counts["unchecked"] else ""
    return (
        f"{module:40} {len(codes):5d} {counts['killed']:6d} {counts['survived']:5d} "
        f"{equiv:5d} {counts['no tests']:4d} {score}{unchecked}"
    )


def main() -> None:
    """Print the per-module table (and, on request, the survivors left to kill)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="list survivors to kill")
    parser.add_argument(
        "--names", action="store_true", help="print only the survivors' names, one a line"
    )
    parser.add_argument(
        "--mutants", type=Path, default=_MUTANTS, help="a mutants/ directory (a kept copy)"
    )
    args = parser.parse_args()
    by_module = results(args.mutants)
    if not by_module:
        raise SystemExit(f"no mutmut results under {args.mutants}; run scripts/mutation.sh first")
    equivalent = equivalent_mutants(_EQUIVALENTS)
    if args.names:
        for codes in by_module.values():
            print("\n".join(sorted(_survivors(codes) - equivalent)))
        return
    header = f"{'module':40} {'total':>5} {'killed':>6} {'surv':>5} {'equiv':>5} {'none':>4}"
    print(f"{header} {'score':>7}")
    left: list[str] = []
    groups = {**by_module, **_packages(by_module)}
    for module, codes in groups.items():
        print(_row(module, codes, equivalent))
        if module in by_module:
            left.extend(sorted(_survivors(codes) - equivalent))
    if args.survivors:
        print(f"\nsurvivors not judged equivalent: {len(left)}")
        for name in left:
            print(f"  {name}")


if __name__ == "__main__":
    main()
