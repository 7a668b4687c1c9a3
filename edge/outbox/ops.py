"""Writes other than appends, run by the writer thread inside its next transaction.

An ``Op`` carries ``apply(conn) -> OpResult`` and a ``concurrent.futures.Future`` the caller may wait on
(``asyncio.wrap_future`` from the event loop). The result says which rows the op removed, so the writer
keeps its row counts and its tail cache true without counting the tables again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class OpResult:
    """What an op did: the rows it removed (so the writer keeps its counts) and any value for the caller."""

    readings_removed: int = 0
    events_removed: int = 0
    removed_ranges: tuple[tuple[int, int], ...] = ()  # seq ranges deleted (they leave the tail cache too)
    settled: tuple[tuple[int, int], ...] = ()  # seq ranges no longer in flight (``inflight``), once committed
    value: Any = None


@dataclass(slots=True)
class Op:
    """A write other than an append: ``apply(conn)`` runs inside the commit's transaction."""

    apply: Callable[[sqlite3.Connection], OpResult]
    sync: bool = False  # commit with synchronous=FULL even when the outbox runs at NORMAL
    urgent: bool = True  # commit at once; else with the next commit the rows make due (at once if none wait)
    future: Future[OpResult] = field(default_factory=Future)


def settle(future: Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    """Resolve a caller's future; one the caller cancelled (a task stopping) is simply left as it is."""
    try:
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    except InvalidStateError:
        pass
