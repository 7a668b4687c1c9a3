"""``python -m central``: the same as ``fieldwatch-central``."""

import sys

from central.cli import main

sys.exit(main())
