"""``fieldwatch-edge check SITE.yaml...``: validate site files and every profile they use."""

from __future__ import annotations

import argparse

from edge.siteconfig import load_profile, load_site
from protocols.errors import ConfigError, ConfigIssue

NAME = "check"
HELP = "validate site files (and the profiles they use) or profiles; print every problem with its line"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="site files, or profiles with --profile")
    parser.add_argument("--profile", action="store_true", help="the files are hardware profiles")


def run(args: argparse.Namespace) -> int:
    issues: list[ConfigIssue] = []
    for path in args.files:
        try:
            if args.profile:
                profile = load_profile(path)
                print(f"{path}: ok ({profile.protocol}, {len(profile.points)} points)")
            else:
                site = load_site(path)
                counts = ", ".join(
                    _count(n, what)
                    for n, what in ((len(site.site.buses), "bus"), (len(site.devices), "device"),
                                    (len(site.channels), "channel"))
                )  # fmt: skip
                print(f"{path}: ok (gateway {site.gateway_id}, {counts})")
        except ConfigError as e:
            issues += e.issues
    if issues:
        raise ConfigError(issues)
    return 0


def _count(n: int, what: str) -> str:
    plural = "buses" if what == "bus" else what + "s"
    return f"{n} {what if n == 1 else plural}"
