"""The real central for the uplink tests: the FastAPI app under uvicorn on a loopback port, on SQLite.

``Central`` owns a database file, a gateway token and a port; ``serve()`` runs the app (in the test's
event loop) for as long as the ``async with`` lasts, so a test can stop it and start it again on the same
file and the same address.
The checks read the central's SQLite file directly: what is committed, not what an API chooses to show.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from central.app import create_app
from central.auth import Role
from central.settings import load_settings
from central.store.sqlite import SqliteStore
from tests.central.client import add_token
from tests.support.ports import free_port
from tests.support.serving import serving


class Central:
    def __init__(self, folder: Path, gateway: str, **settings: Any) -> None:
        self.db_path = folder / "central.db"
        self.settings = load_settings({}, database=f"sqlite:///{self.db_path}", **settings)
        store = SqliteStore(self.db_path, threads=1)
        store.migrate()
        self.token = add_token(store, Role.GATEWAY, gateway)
        store.close()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        store = SqliteStore(self.db_path, threads=2)
        app = create_app(self.settings, store=store)
        try:
            async with serving(app, self.port) as url:
                yield url
        finally:
            store.close()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.db_path)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def reading_seqs(self) -> list[int]:
        return [s for (s,) in self.query("SELECT seq FROM readings ORDER BY seq")]

    def event_seqs(self) -> list[int]:
        rows = self.query(
            "SELECT event_seq FROM alarm_timeline WHERE event_seq IS NOT NULL ORDER BY event_seq"
        )
        return [s for (s,) in rows]
