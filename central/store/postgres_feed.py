r"""PostgreSQL's change feed: ``pg_notify`` payloads on ``fieldwatch_changes``, heard with ``LISTEN``.

``PostgresStore.announce`` sends ``notification``\s on the store's connections after the commit;
``PgChangeFeed.listen`` hears them on a connection of its own. psycopg's errors become ``FeedLostError``
here, so the relay (``central.relay``) knows nothing of the driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import psycopg

from central.store.base import ChangeFeed, FeedLostError

NOTIFY_CHANNEL = "fieldwatch_changes"
MAX_NOTIFY_BYTES = 7900  # PostgreSQL refuses a payload of 8000 bytes or more


def notification(origin: str, kind: str, data: dict[str, Any]) -> str:
    """The payload for one change; a change too large to travel goes by reference (the alarm's id)."""
    text = orjson.dumps({"origin": origin, "kind": kind, "data": data}).decode()
    if len(text.encode()) > MAX_NOTIFY_BYTES:
        text = orjson.dumps({"origin": origin, "kind": kind, "ref": data.get("id")}).decode()
    return text


class PgChangeFeed(ChangeFeed):
    def __init__(self, url: str) -> None:
        self.url = url

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[AsyncIterator[str]]:
        try:
            async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
                await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                yield _payloads(conn)
        except psycopg.Error as e:
            raise FeedLostError(str(e)) from e


async def _payloads(conn: psycopg.AsyncConnection[Any]) -> AsyncIterator[str]:
    async for note in conn.notifies():
        yield note.payload
