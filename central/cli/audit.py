"""``fieldwatch-central audit [--since ...]``: the audit log, oldest first, one line per entry."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import orjson

from central.cli.accountdb import fail, now_ms, opened
from central.store.account_records import AuditFilter

NAME = "audit"
HELP = "print the audit log"
UNITS_S = {"m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: int) -> int:
    """``2h``, ``3d``, ``30m`` ago, or an ISO time (UTC unless it says otherwise): epoch milliseconds."""
    if text[:-1].isdigit() and text[-1] in UNITS_S:
        return now - int(text[:-1]) * UNITS_S[text[-1]] * 1000
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", help="sqlite:///path (default) or postgresql://host/db")
    parser.add_argument("--since", default="1d", help="30m, 2h, 7d ago or an ISO time (default 1d)")
    parser.add_argument("--actor")
    parser.add_argument("--kind", help="login.ok, login.failed, user.create, alarm.close ...")
    parser.add_argument("--limit", type=int, default=1000)


def run(args: argparse.Namespace) -> int:
    try:
        since = parse_since(args.since, now_ms())
    except ValueError:
        return fail("audit", f"--since: expected 30m, 2h, 7d or an ISO time (got {args.since!r})", 2)
    with opened(args) as (_, accounts):
        entries, _ = accounts.audit(AuditFilter(None, since, None, args.actor, args.kind, args.limit, 0))
    for e in reversed(entries):
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e.ts_ms / 1000))
        detail = orjson.dumps(e.detail).decode() if e.detail else ""
        print(f"{at}  {e.org_id:<16}  {e.kind:<16}  {e.actor}  {e.target}  {e.client}  {detail}".rstrip())
    return 0
