"""Two central processes on one PostgreSQL: a change made through one reaches the other's event stream."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from central.app import create_app
from central.auth import Role
from central.changes import ChangeHub
from central.relay import ChangeRelay
from central.settings import load_settings
from central.store.base import ChangeFeed, FeedLostError, Store
from central.store.postgres import PostgresStore
from protocols.wire import encode_batch
from tests.central.builders import event, readings_batch
from tests.central.client import add_token, bearer
from tests.support.serving import read_event, serving

WAIT_S = 10.0


class FlakyFeed(ChangeFeed):
    """Refuses the first connection, then hears ``payloads`` and nothing more."""

    def __init__(self, payloads: list[str]) -> None:
        self.payloads = payloads
        self.connections = 0

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[AsyncIterator[str]]:
        self.connections += 1
        if self.connections == 1:
            raise FeedLostError("connection refused")
        yield self._heard()

    async def _heard(self) -> AsyncIterator[str]:
        for payload in self.payloads:
            yield payload
        await asyncio.Event().wait()  # the connection stays up, quiet


async def test_the_relay_listens_again_after_losing_its_feed(sqlite_store: Store) -> None:
    hub = ChangeHub(queue_size=8)
    other = '{"origin": "elsewhere", "kind": "gateway", "data": {"gateway_id": "gw-1"}}'
    own = f'{{"origin": "{hub.origin}", "kind": "gateway", "data": {{"gateway_id": "gw-2"}}}}'
    feed = FlakyFeed([own, "not json", other])
    relay = ChangeRelay(feed, hub, sqlite_store)
    async with hub.subscribe() as sub, asyncio.TaskGroup() as tg:
        task = tg.create_task(relay.run())
        async with asyncio.timeout(WAIT_S):
            assert await sub.queue.get() == ("gateway", {"gateway_id": "gw-1"})
        task.cancel()
    assert feed.connections == 2
    assert relay.statistics() == {
        "received": 3, "own_skipped": 1, "delivered": 1, "bad": 1, "reconnects": 1, "listening": True,
    }  # fmt: skip


@pytest.mark.service
async def test_changes_reach_the_other_process_stream(pg_schema: str, tmp_path: Path) -> None:
    stores = [PostgresStore(pg_schema, threads=2) for _ in range(2)]
    stores[0].migrate()
    gateway = bearer(add_token(stores[0], Role.GATEWAY, "gw-1"))
    operator = bearer(add_token(stores[0], Role.OPERATOR, name="alice"))
    settings = load_settings({}, database=pg_schema)
    try:
        async with AsyncExitStack() as stack:
            url_a = await stack.enter_async_context(serving(create_app(settings, store=stores[0])))
            url_b = await stack.enter_async_context(serving(create_app(settings, store=stores[1])))
            a = await stack.enter_async_context(httpx.AsyncClient(base_url=url_a))
            b = await stack.enter_async_context(httpx.AsyncClient(base_url=url_b))
            async with asyncio.timeout(WAIT_S), a.stream("GET", "/api/v1/stream", headers=operator) as stream:
                lines = stream.aiter_lines()
                assert (await anext(lines)).startswith(": fieldwatch")
                long_message = "x" * 9000  # too long for a notification: travels by reference
                batch = readings_batch("gw-1", [1], events=[event("gw-1", 2, 3, 0, rule="velocity")])
                batch.events[0] = dataclasses.replace(batch.events[0], message=long_message)
                assert (
                    await b.post("/api/v1/ingest", content=encode_batch(batch), headers=gateway)
                ).status_code == 200
                raised = await read_event(lines, "alarm")
                assert (raised["rule"], raised["status"], raised["message"]) == (
                    "velocity",
                    "open",
                    long_message,
                )
                r = await b.post(
                    f"/api/v1/alarms/{raised['id']}/acknowledge", json={"note": "ok"}, headers=operator
                )
                assert r.status_code == 200
                acked = await read_event(lines, "alarm")
                assert (acked["status"], acked["acknowledged_by"]) == ("acknowledged", "alice")
            metrics = (await a.get("/metrics", headers=operator)).text
            assert "fieldwatch_central_relay_delivered_total 2" in metrics
            assert "fieldwatch_central_stream_relayed_in_total 2" in metrics
    finally:
        for s in stores:
            s.close()
