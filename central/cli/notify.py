"""``fieldwatch-central notify check FILE`` and ``notify test CONTACT``: the notification policy file.

``check`` prints every problem of the file as ``file:line: key: message`` (exit 2) or a one-line summary.
``test`` sends a sample red warning to one contact of the policies (``--notify FILE``, else
``FIELDWATCH_NOTIFY_FILE``, else the database's) through the same rendering and delivery as the worker,
and says whether it arrived (exit 0) or why not (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from central.notify.delivery import deliver, safe_url, wants_short
from central.notify.message import AlarmFacts, render
from central.notify.plan import Job, JobKind
from central.notify.policy import PolicyFile
from central.notify.policyfile import load_policies, parse_policies
from central.settings import Settings, load_settings
from central.store import open_store
from central.store.sql_store import SqlStore

NAME = "notify"
HELP = "check a notification policy file, or send a test message to one of its contacts"
EXIT_BAD_INPUT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate a policy file; print every problem with its line")
    check.add_argument("file", metavar="FILE")
    test = actions.add_parser("test", help="send a sample red warning to one contact")
    test.add_argument("contact", metavar="CONTACT", help="a contact's name in the policies")
    test.add_argument("--notify", metavar="FILE", help="the policy file (default: the database's policies)")
    test.add_argument("--database", help="sqlite:///path (default) or postgresql://host/db")
    test.add_argument("--base-url", help="the console's address, for the message's link")


def run(args: argparse.Namespace) -> int:
    if args.action == "check":
        source = load_policies(args.file)  # ConfigError: the entry point prints it, exit 2
        p = source.policies
        print(f"{args.file}: ok ({len(p.contacts)} contacts, {len(p.policies)} policies)")
        return 0
    settings = load_settings(notify_file=args.notify, database=args.database, base_url=args.base_url)
    policies = _policies(settings)
    if policies is None:
        print("no notification policies: give --notify FILE", file=sys.stderr)
        return EXIT_BAD_INPUT
    contact = policies.contact(args.contact)
    if contact is None:
        known = ", ".join(c.name for c in policies.contacts)
        print(f"no contact {args.contact!r} in the policies (known: {known})", file=sys.stderr)
        return EXIT_BAD_INPUT
    now_ms = time.time_ns() // 1_000_000
    job = Job(0, now_ms, "test", contact.name, JobKind.RAISE, 4, now_ms, now_ms)
    templates = policies.templates.get(contact.template) if contact.template else None
    message = render(
        job, sample_facts(now_ms, settings.time_zone), contact, base_url=settings.console_url,
        templates=templates, short=wants_short(contact),
    )  # fmt: skip
    outcome = asyncio.run(deliver(contact, message))
    where = safe_url(contact.url)
    if outcome.ok:
        print(f"sent a test message to {contact.name} ({where})")
        return 0
    print(f"could not notify {contact.name} ({where}): {outcome.detail}", file=sys.stderr)
    return 1


def sample_facts(now_ms: int, time_zone: str) -> AlarmFacts:
    """A red slope warning, marked as a test."""
    return AlarmFacts(
        alarm_id=0, level=4, channel="gnss-gw/gnss-03/north_mm", rule="slope_rate",
        message="TEST: displacement rate 12.34 mm/h above 10 mm/h", event_ms=now_ms, site_id="test",
        site_name="测试 / TEST", value=12.34, unit="mm/h", threshold=10.0, criterion="velocity",
        direction="above", forecast_failure_ms=now_ms + 6 * 3600_000, time_zone=time_zone,
    )  # fmt: skip


def _policies(settings: Settings) -> PolicyFile | None:
    if settings.notify_file is not None:
        return load_policies(settings.notify_file).policies
    store = open_store(settings.database, threads=1)
    try:
        store.migrate()
        found = store.notify_policy_text() if isinstance(store, SqlStore) else None
    finally:
        store.close()
    return None if found is None else parse_policies(found[2], found[1]).policies
