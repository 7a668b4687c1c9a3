"""The HTTP path through a real uvicorn on a loopback port: ingest, and the live event stream."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import httpx

from central.app import create_app
from central.auth import Role
from central.settings import load_settings
from central.store.base import Store
from protocols.wire import decode_ack, encode_batch
from tests.central.builders import event, readings_batch
from tests.central.client import add_token, bearer
from tests.support.serving import read_event, serving

WAIT_S = 10.0


async def test_ingest_over_real_http(sqlite_store: Store, tmp_path: Path) -> None:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db")
    headers = bearer(add_token(sqlite_store, Role.GATEWAY, "gw-1"))
    async with (
        serving(create_app(settings, store=sqlite_store)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        for first in range(1, 3001, 1000):
            body = gzip.compress(
                encode_batch(readings_batch("gw-1", range(first, first + 1000), batch_id=first))
            )
            r = await client.post(
                "/api/v1/ingest", content=body, headers={**headers, "Content-Encoding": "gzip"}
            )
            ack = decode_ack(r.content)
            assert (r.status_code, ack.committed, ack.acked_through) == (
                200,
                ((first, first + 999),),
                first + 999,
            )
        resent = await client.post("/api/v1/ingest", content=body, headers=headers)
        assert decode_ack(resent.content).acked_through == 3000
    assert sqlite_store.gateway("gw-1").acked_through == 3000  # type: ignore[union-attr]
    assert sum(len(sqlite_store.readings(f"gw-1/dev-1/p{c}", 0, 1 << 62, 10_000)) for c in (0, 1)) == 3000


async def test_the_stream_carries_alarm_changes(sqlite_store: Store, tmp_path: Path) -> None:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db")
    gateway = bearer(add_token(sqlite_store, Role.GATEWAY, "gw-1"))
    operator = bearer(add_token(sqlite_store, Role.OPERATOR, name="alice"))
    async with (
        serving(create_app(settings, store=sqlite_store)) as url,
        httpx.AsyncClient(base_url=url) as client,
        asyncio.timeout(WAIT_S),
        client.stream("GET", "/api/v1/stream", headers=operator) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert (await anext(lines)).startswith(": fieldwatch")  # subscribed before anything happens
        batch = readings_batch("gw-1", [1], events=[event("gw-1", 2, 3, 0, rule="velocity")])
        r = await client.post("/api/v1/ingest", content=encode_batch(batch), headers=gateway)
        assert r.status_code == 200
        raised = await read_event(lines, "alarm")
        assert (raised["rule"], raised["level"], raised["status"]) == ("velocity", 3, "open")
        r = await client.post(
            f"/api/v1/alarms/{raised['id']}/acknowledge", json={"note": "ok"}, headers=operator
        )
        assert r.status_code == 200
        acknowledged = await read_event(lines, "alarm")
        assert (acknowledged["status"], acknowledged["acknowledged_by"]) == ("acknowledged", "alice")


async def test_the_stream_needs_a_reader(sqlite_store: Store, tmp_path: Path) -> None:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db")
    gateway = bearer(add_token(sqlite_store, Role.GATEWAY, "gw-1"))
    async with (
        serving(create_app(settings, store=sqlite_store)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        assert (await client.get("/api/v1/stream", headers=gateway)).status_code == 403
        assert (await client.get("/api/v1/stream")).status_code == 401
