"""``python -m operator_core.cli``: the same as the ``operator`` command."""

from operator_core.cli import main

main()
