"""What the account sub-commands share: the database option, an opened store, and their audit entries
(actor ``cli <os user>``)."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from central.settings import load_settings
from central.store import open_store
from central.store.account_records import AuditEntry
from central.store.accounts import AccountStore
from central.store.accounts_schema import TOP_ORG
from central.store.base import Store


def database_option() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database", help="sqlite:///path (default) or postgresql://host/db")
    return common


@contextmanager
def opened(args: argparse.Namespace) -> Iterator[tuple[Store, AccountStore]]:
    settings = load_settings(database=args.database)
    store = open_store(settings.database, threads=1)
    try:
        store.migrate()
        yield store, AccountStore(store)
    finally:
        store.close()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def record(
    accounts: AccountStore,
    kind: str,
    target: str,
    org_id: str = TOP_ORG,
    detail: dict[str, Any] | None = None,
) -> None:
    actor = f"cli {getpass.getuser()}"
    accounts.append_audit(AuditEntry(0, now_ms(), org_id, actor, kind, target, "local", detail or {}))


def fail(command: str, message: str, status: int = 1) -> int:
    print(f"fieldwatch-central {command}: {message}", file=sys.stderr)
    return status


def read_password() -> str:
    """The password on stdin (its first line): never an argument, which ``ps`` would show. At a
    terminal, asked for without echoing it."""
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\r\n")
