"""``fieldwatch-central org create|list``: the organization tree (the county bureau, ``county``, is its
top; enterprises go under it)."""

from __future__ import annotations

import argparse

from central.accounts.orgs import OrgTree, check_new_org
from central.cli.accountdb import database_option, fail, now_ms, opened, record
from central.store.account_records import Org
from central.store.accounts_schema import TOP_ORG

NAME = "org"
HELP = "create or list organizations"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = database_option()
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create an organization", parents=[common])
    create.add_argument("org_id", metavar="ID")
    create.add_argument("--name", required=True)
    create.add_argument("--parent", default=TOP_ORG, help=f"the parent organization (default {TOP_ORG})")
    actions.add_parser("list", help="list organizations", parents=[common])


def run(args: argparse.Namespace) -> int:
    with opened(args) as (_, accounts):
        if args.action == "list":
            for o in accounts.orgs():
                print(f"{o.id:<24}  {o.parent_id or '-':<24}  {o.name}")
            return 0
        try:
            check_new_org(OrgTree(accounts.orgs()), args.org_id, args.parent)
        except ValueError as e:
            return fail("org create", str(e), 2)
        accounts.add_org(Org(args.org_id, args.name, args.parent, now_ms()))
        record(
            accounts, "org.create", args.org_id, args.org_id, {"name": args.name, "parent_id": args.parent}
        )
        print(f"organization {args.org_id} created under {args.parent}")
        return 0
