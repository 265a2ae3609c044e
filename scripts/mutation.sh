#!/usr/bin/env bash
# Mutation testing of the safety-critical modules (issue 8): policy/, redaction/ (redact.py,
# _keyed.py), docker/containers/lifecycle.py, validate.py and runner/ (core, mutate, record,
# stages), and (issue 20) fleet/, watch/ (heal/, alerts/), tools/bounds.py,
# docker/diagnosis/search.py and audit/sqlite.py, against the unit tests (tests/ without
# tests/integration: an engine test per mutant would take hours).
# What is mutated and which tests run is set in [tool.mutmut] of
# packages/operator-core/pyproject.toml; mutmut runs, for each mutant, only the tests
# that call the mutated function. Not part of CI: a full run takes about 20 minutes on
# two shared cores. Then it prints the score per module (scripts/mutation_score.py);
# survivors judged equivalent are listed in docs/mutation.md.
#
#   scripts/mutation.sh                 a fresh run over every mutant
#   scripts/mutation.sh NAME-GLOB...    rerun only these mutants, keeping the other
#                                       results, e.g. 'operator_core.policy.guard.*'
#   scripts/mutation.sh $(.venv/bin/python scripts/mutation_score.py --names)
#                                       retest only the survivors, after adding tests
#   mutmut show NAME                    (in packages/operator-core) a mutant's diff
#
# MUTATION_JOBS sets the number of parallel workers (default 2); they run under nice. On a
# shared machine run one module at a time with MUTATION_JOBS=1: a fresh run generates the
# mutants of the whole scope first (minutes on two busy cores), a glob then tests only its own.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/mutmut" ]; then
    echo "mutation.sh: no mutmut in $VENV; run ./dev test once (it installs the dev extra)" >&2
    exit 2
fi
cd packages/operator-core
if [ "$#" -eq 0 ]; then
    rm -rf mutants  # results of earlier runs would stand even where the tests changed
fi
nice -n 15 "$VENV/bin/mutmut" run --max-children "${MUTATION_JOBS:-2}" "$@"
"$VENV/bin/python" "$ROOT/scripts/mutation_score.py" --survivors
