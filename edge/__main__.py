"""``python -m edge``: the same as ``fieldwatch-edge``."""

import sys

from edge.cli import main

sys.exit(main())
