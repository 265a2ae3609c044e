"""``python -m operator_core.demo``: the same as ``operator demo``."""

import sys

from operator_core.demo import main

sys.exit(main())
