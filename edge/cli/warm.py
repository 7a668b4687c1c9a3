"""``fieldwatch-edge warm SITE.yaml``: compile the site's detection kernels into numba's cache, ahead of time.

The agent's first start after an install compiles the numba kernels (minutes on a Pi, see ``docs/edge.md``);
``warm`` does it in the workshop instead, so the gateway starts in seconds in the field. It builds the
site's detector bank as ``run`` does and steps it once, which compiles (or loads) every kernel a step calls,
and prints where numba cached them. Run it as the service's user with the service's ``NUMBA_CACHE_DIR``
(``deploy/raspberry-pi.md``): numba's cache is per folder, per installation and per CPU.

Exit status: 0 the kernels are in the cache, 2 a bad site file.
"""

from __future__ import annotations

import argparse
import os

from edge.agent import describe_warm_up
from edge.detect import DetectorBank
from edge.siteconfig import load_site

NAME = "warm"
HELP = "compile the site's detection kernels into numba's cache (NUMBA_CACHE_DIR), so the agent starts fast"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("site", metavar="SITE.yaml", help="the gateway's site file")


def run(args: argparse.Namespace) -> int:
    site = load_site(args.site)  # a ConfigError becomes exit status 2 in edge.cli.main
    bank = DetectorBank.from_site(site)
    print(f"{args.site}: {describe_warm_up(bank.warm_up())} for {len(site.channels)} channels")
    if not os.environ.get("NUMBA_CACHE_DIR"):
        print(
            "NUMBA_CACHE_DIR is not set: the agent finds this cache only if it runs without it too "
            "(the systemd unit sets NUMBA_CACHE_DIR=/var/lib/fieldwatch/numba-cache: warm with the same)"
        )
    return 0
