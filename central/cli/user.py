"""``fieldwatch-central user create|list|disable|passwd|unlock``: people who log in to the console.

Passwords are read from stdin (``--password-stdin``), never from the command line, and stored only as an
argon2id hash. ``disable`` ends the user's sessions at once; ``unlock`` lifts a login lockout.
"""

from __future__ import annotations

import argparse

from central.accounts import lockout, passwords
from central.accounts.users import USER_ROLES, new_user
from central.cli.accountdb import database_option, fail, now_ms, opened, read_password, record
from central.store.base import NotFoundError

NAME = "user"
HELP = "create, list, disable users, set a password, lift a lockout"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = database_option()
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a user", parents=[common])
    create.add_argument("username")
    create.add_argument("--org", required=True, help="the user's organization id")
    create.add_argument("--role", required=True, choices=USER_ROLES)
    create.add_argument("--name", default="", help="display name (shown in timelines)")
    create.add_argument("--password-stdin", action="store_true", required=True, help="read it from stdin")
    actions.add_parser("list", help="list users", parents=[common])
    disable = actions.add_parser("disable", help="disable a user (their sessions end)", parents=[common])
    disable.add_argument("username")
    passwd = actions.add_parser("passwd", help="set a user's password", parents=[common])
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", required=True, help="read it from stdin")
    unlock = actions.add_parser("unlock", help="lift a username's login lockout", parents=[common])
    unlock.add_argument("username")


def run(args: argparse.Namespace) -> int:
    with opened(args) as (_, accounts):
        if args.action == "list":
            for u in accounts.users():
                state = "disabled" if u.disabled_ms is not None else "active"
                print(f"{u.username:<24}  {u.org_id:<20}  {u.role:<8}  {state:<8}  {u.display_name}")
            return 0
        if args.action == "create":
            if args.org not in {o.id for o in accounts.orgs()}:
                return fail("user create", f"no organization {args.org}", 2)
            if accounts.user(args.username) is not None:
                return fail("user create", f"user {args.username} exists already", 2)
            try:
                user = new_user(args.username, args.org, args.role, display_name=args.name,
                                password=read_password(), now_ms=now_ms())  # fmt: skip
            except ValueError as e:
                return fail("user create", str(e), 2)
            accounts.add_user(user)
            record(accounts, "user.create", user.username, user.org_id, {"role": user.role})
            print(f"user {user.username} ({user.role} of {user.org_id}) created")
            return 0
        found = accounts.user(args.username)
        if found is None:
            return fail(f"user {args.action}", f"no user {args.username}")
        try:
            if args.action == "disable":
                accounts.disable_user(args.username, now_ms())
            elif args.action == "passwd":
                accounts.set_password(args.username, passwords.hash_password(read_password()))
            else:
                accounts.clear_failures(lockout.user_subject(args.username))
        except ValueError as e:  # a password too short
            return fail(f"user {args.action}", str(e), 2)
        except NotFoundError as e:
            return fail(f"user {args.action}", str(e))
        kind = {"disable": "user.disable", "passwd": "user.password", "unlock": "lockout.lift"}[args.action]
        record(accounts, kind, args.username, found.org_id)
        print(f"user {args.username}: {args.action} done")
        return 0
