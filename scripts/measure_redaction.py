"""Print how redaction time grows with the length of adversarial text (not a test).

For each adversarial pattern, redacts it at 25 kB and at 100 kB, takes the best of three
runs of each, and prints both times and their ratio, measured side by side in one run:
about 4 means linear, about 16 quadratic. The unit tests only bound 100 kB generously
(tests/wall_clock.py: LINEAR_BOUND_S); this shows the shape. Run:
``.venv/bin/python scripts/measure_redaction.py``.
"""

from __future__ import annotations

import time

from operator_core.audit.redact import redact_text

__all__ = ["PATTERNS", "best_of", "main"]

#: Units whose repetition each aims at one redaction rule's worst case.
PATTERNS = [
    "x",
    "a=",
    "token ",
    "a.",
    "'",
    '"',
    'a="',
    "mysql ",
    "-u",
    "-u ",
    "--user=",
    "-ua",
    "user=",
    '"user":"',
    "password '",
    "identified by ",
    "login -p ",
    "hvs.",
    # The scan that reads past a harmless key into its value (``note: password=x``).
    "note: ",
    "a:",
    'm="a=',
    "a='b=\"",
    '-c "',
    "a " + "b" * 16 + " ",
    'a:\\"',
    '\\"a\\": \\"',
]


def best_of(text: str, runs: int = 3) -> float:
    """Return the shortest of ``runs`` timings of redacting ``text``, in seconds."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        redact_text(text)
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    """Print one line per pattern: time at 25 kB, at 100 kB, and the ratio."""
    print(f"{'pattern':<16} {'25 kB':>9} {'100 kB':>9} {'ratio':>6}")
    for unit in PATTERNS:
        small = best_of(unit * (25_000 // len(unit)))
        large = best_of(unit * (100_000 // len(unit)))
        print(f"{unit!r:<16} {small:>8.4f}s {large:>8.4f}s {large / max(small, 1e-9):>6.1f}")


if __name__ == "__main__":
    main()
