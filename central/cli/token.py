"""``fieldwatch-central token create|list|revoke``: bearer tokens, straight in the database.

``create`` prints the new token once, on stdout (only its hash is stored: it cannot be shown again);
``--org`` and ``--expires-in-days`` give it an organization (default the county) and an end;
``list`` shows ids, names and roles; ``revoke`` ends a token (running processes notice within their
token cache time).
"""

from __future__ import annotations

import argparse
import sys
import time

from central.auth import Role, new_token
from central.cli.accountdb import record
from central.settings import load_settings
from central.store import NotFoundError, open_store
from central.store.accounts import AccountStore
from central.store.accounts_schema import TOP_ORG

NAME = "token"
HELP = "create, list or revoke bearer tokens"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database", help="sqlite:///path (default) or postgresql://host/db")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token and print it once", parents=[common])
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--gateway", help="the gateway id (role gateway only)")
    create.add_argument("--name", default="", help="who: shown in alarm timelines (default: role-id)")
    create.add_argument("--org", default=TOP_ORG, help=f"the organization it acts for (default {TOP_ORG})")
    create.add_argument("--expires-in-days", type=float, help="it stops working after this many days")
    actions.add_parser("list", help="list tokens (never their secrets)", parents=[common])
    revoke = actions.add_parser("revoke", help="revoke a token by its id", parents=[common])
    revoke.add_argument("token_id")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(database=args.database)
    store = open_store(settings.database, threads=1)
    accounts = AccountStore(store)
    try:
        store.migrate()
        now_ms = time.time_ns() // 1_000_000
        if args.action == "create":
            try:
                plain, row = new_token(Role(args.role), args.name, args.gateway, now_ms)
            except ValueError as e:
                print(f"fieldwatch-central token create: {e}", file=sys.stderr)
                return 2
            if args.org not in {o.id for o in accounts.orgs()}:
                print(f"fieldwatch-central token create: no organization {args.org}", file=sys.stderr)
                return 2
            store.add_token(row)
            days = args.expires_in_days
            accounts.set_token_account(
                row.id, args.org, None if days is None else now_ms + int(days * 86_400_000)
            )
            record(accounts, "token.create", row.id, args.org, {"role": row.role, "name": row.name})
            print(f"token {row.id} ({row.role}{', gateway ' + row.gateway_id if row.gateway_id else ''}) "
                  "created; it is shown once:", file=sys.stderr)  # fmt: skip
            print(plain)
        elif args.action == "list":
            for t in store.tokens():
                state = "revoked" if t.revoked_ms is not None else "active"
                print(f"{t.id}  {t.role:<8}  {state:<7}  {t.gateway_id or '-':<20}  {t.name}")
        else:
            try:
                store.revoke_token(args.token_id, now_ms)
            except NotFoundError as e:
                print(f"fieldwatch-central token revoke: {e}", file=sys.stderr)
                return 1
            record(accounts, "token.revoke", args.token_id)
            print(f"token {args.token_id} revoked", file=sys.stderr)
        return 0
    finally:
        store.close()
