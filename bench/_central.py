"""Helpers for the central's benchmarks: a real ``fieldwatch-central serve``, tokens, PostgreSQL schemas."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import psycopg

from central.auth import Role, new_token
from central.store.postgres import PostgresStore
from central.store.sqlite import SqliteStore

T0 = 1_764_370_000_000


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` whose connections use ``schema`` (``options=-csearch_path=...``)."""
    parts = urlsplit(base_url)
    query = [*parse_qsl(parts.query), ("options", f"-csearch_path={schema}")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``fieldwatch-central serve`` on a database, with an admin token (admins may ingest for any gateway)."""

    def __init__(self, database: str, token: str, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.token = token
        env = {
            **os.environ,
            "FIELDWATCH_DATABASE": database,
            "FIELDWATCH_PORT": str(self.port),
            **(extra_env or {}),
        }
        exe = Path(sys.executable).parent / "fieldwatch-central"
        self.proc = subprocess.Popen([str(exe), "serve"], env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("fieldwatch-central serve did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


def admin_token(store: SqliteStore | PostgresStore) -> str:
    store.migrate()
    plain, token_row = new_token(Role.ADMIN, "bench", None, T0)
    store.add_token(token_row)
    store.close()
    return plain


class PgSchemas:
    """Fresh schemas in the benchmark database, all dropped at the end."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.names: list[str] = []

    def fresh(self) -> str:
        name = f"bench_{os.getpid()}_{len(self.names)}"
        self.names.append(name)
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return schema_url(self.base, name)

    def drop(self) -> None:
        with psycopg.connect(self.base, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
