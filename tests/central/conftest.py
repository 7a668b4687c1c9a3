"""Fixtures for the central's tests: a store of each kind (one shared suite), tokens, an app.

``store`` is parametrised over SQLite (a file in ``tmp_path``) and PostgreSQL (a fresh schema per test in
the ``database_url`` database, dropped afterwards; skipped with the reason outside CI when PostgreSQL is
not running). Tests that take ``store`` therefore run once per store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from central.store.base import Store
from central.store.postgres import PostgresStore
from central.store.sqlite import SqliteStore
from tests.central import client  # noqa: F401  (imports the TestClient before anyone else does)
from tests.central.builders import schema_url
from tests.services import unique_name


@pytest.fixture
def pg_schema(database_url: str) -> Iterator[str]:
    """The URL of a fresh, empty schema in the test database; dropped (with everything in it) afterwards."""
    schema = unique_name("central")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(database_url, schema)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.service)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "sqlite":
        made = SqliteStore(tmp_path / "central.db", threads=2)
    else:
        made = PostgresStore(request.getfixturevalue("pg_schema"), threads=2)
    made.migrate()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    made = SqliteStore(tmp_path / "central.db", threads=2)
    made.migrate()
    try:
        yield made
    finally:
        made.close()
