"""Print the length distribution of the functions and methods of operator-core's source.

A function's length is its number of source lines, from its ``def`` line to its last line
(decorators left out; docstring, comments and blank lines inside it counted). Nested
functions count on their own as well as inside the function that holds them.

Prints the count, median, 90th percentile and maximum, then the longest functions.

Run: ``.venv/bin/python scripts/function_lengths.py [SRC_DIR] [--top N]``
(default: ``packages/operator-core/src``, top 10).
"""

from __future__ import annotations

import argparse
import ast
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Function", "function_lengths", "main", "percentile"]

_DEFAULT_SRC = Path(__file__).resolve().parent.parent / "packages" / "operator-core" / "src"


@dataclass(frozen=True)
class Function:
    """One function or method: where it is and how many lines it spans."""

    path: str
    line: int
    qualname: str
    lines: int


def _walk(tree: ast.AST, path: str, prefix: str = "") -> list[Function]:
    """Return every function under ``tree``, named with its enclosing classes and functions."""
    found: list[Function] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{node.name}"
            end = node.end_lineno if node.end_lineno is not None else node.lineno
            found.append(Function(path, node.lineno, name, end - node.lineno + 1))
            found.extend(_walk(node, path, f"{name}.<locals>."))
        elif isinstance(node, ast.ClassDef):
            found.extend(_walk(node, path, f"{prefix}{node.name}."))
        else:
            found.extend(_walk(node, path, prefix))
    return found


def function_lengths(src: Path) -> list[Function]:
    """Return every function and method of the Python files under ``src``."""
    functions: list[Function] = []
    for file in sorted(src.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        functions.extend(_walk(tree, str(file.relative_to(src))))
    return functions


def percentile(values: list[int], fraction: float) -> int:
    """Return the nearest-rank percentile of ``values`` (``fraction`` 0.9 for p90)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def main() -> None:
    """Print the distribution and the longest functions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", type=Path, default=_DEFAULT_SRC)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    functions = function_lengths(args.src)
    if not functions:
        raise SystemExit(f"no functions found under {args.src}")
    lengths = [f.lines for f in functions]
    shown = args.src.resolve()
    if shown.is_relative_to(Path.cwd()):
        shown = shown.relative_to(Path.cwd())
    print(f"functions and methods under {shown}: {len(lengths)}")
    print(
        f"lines per function: median {statistics.median(lengths):g}, "
        f"p90 {percentile(lengths, 0.9)}, max {max(lengths)}"
    )
    print(f"the {args.top} longest:")
    for f in sorted(functions, key=lambda f: (-f.lines, f.path, f.line))[: args.top]:
        print(f"  {f.lines:4d}  {f.path}:{f.line}  {f.qualname}")


if __name__ == "__main__":
    main()
