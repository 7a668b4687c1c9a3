"""The statements of a DDL script, for the edge's and the central's SQLite migrations.

A migration runs its statements one by one inside the migration's transaction, because
``executescript`` would commit first. The scripts we write have no ``;`` inside a statement.
"""

from __future__ import annotations


def statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
