"""One write transaction on the outbox's SQLite connection (autocommit mode: we say where it begins).

``BEGIN IMMEDIATE`` takes the write lock at once, so a writer never fails half-way on a busy database;
the ``with`` body's statements commit together, or any exception (a ``KeyboardInterrupt`` too) rolls them
back and passes on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
