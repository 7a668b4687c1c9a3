"""``fieldwatch-central site assign SITE_ID --org ORG_ID``: which organization a site belongs to."""

from __future__ import annotations

import argparse

from central.cli.accountdb import database_option, fail, opened, record
from central.store.base import NotFoundError

NAME = "site"
HELP = "assign a site to an organization"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    assign = actions.add_parser("assign", help="give a site to an organization", parents=[database_option()])
    assign.add_argument("site_id")
    assign.add_argument("--org", required=True)


def run(args: argparse.Namespace) -> int:
    with opened(args) as (_, accounts):
        if args.org not in {o.id for o in accounts.orgs()}:
            return fail("site assign", f"no organization {args.org}", 2)
        try:
            accounts.assign_site(args.site_id, args.org)
        except NotFoundError as e:
            return fail("site assign", str(e))
        record(accounts, "site.assign", args.site_id, args.org, {"org_id": args.org})
        print(f"site {args.site_id} now belongs to {args.org}")
        return 0
