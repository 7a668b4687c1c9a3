"""Where the central keeps what it knows: one ``Store`` interface, a SQLite and a PostgreSQL store.

``open_store(url)`` picks the implementation from the URL's scheme; the caller runs ``migrate()`` once
(the app's lifespan does) and ``close()`` at the end.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from central.store.base import NotFoundError, Store

__all__ = ["NotFoundError", "Store", "open_store"]


def open_store(url: str, threads: int = 4) -> Store:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from central.store.sqlite import SqliteStore  # noqa: PLC0415 (each store imports only its driver)

        return SqliteStore.from_url(url, threads)
    if scheme in ("postgresql", "postgres"):
        from central.store.postgres import PostgresStore  # noqa: PLC0415

        return PostgresStore(url, threads)
    raise ValueError(f"unknown database URL scheme {scheme!r}: expected sqlite:/// or postgresql://")
