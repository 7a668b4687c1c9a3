"""Bounded work per request: the seq bound, the channels a gateway may register, pages of /latest and
/channels, 503 with Retry-After when every database thread is busy (and /healthz still fast), a body
that trickles in (408), a client that goes away (one info line), the stream-subscriber gauge."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from central.app import create_app
from central.auth import Role
from central.settings import load_settings
from central.store.base import Store
from protocols.wire import ChannelMeta, batch_to_dict, encode_batch
from tests.central.builders import T0, readings_batch
from tests.central.client import TestClient, add_token, bearer
from tests.support.serving import serving


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db", max_channels_per_gateway=6)
    with TestClient(create_app(settings, store=store, clock_ms=lambda: T0)) as c:
        yield c, bearer(add_token(store, Role.GATEWAY, "gw-1")), bearer(add_token(store, Role.VIEWER))


def test_a_seq_past_2_to_the_53_is_refused_with_422(
    client: tuple[TestClient, dict[str, str], dict[str, str]], store: Store
) -> None:
    c, gw, _ = client
    for seq in (2**63 - 1, 2**53):
        body = batch_to_dict(readings_batch("gw-1", [1, 2]))
        body["readings"]["seq"][1] = seq
        body["seq_ranges"] = [[1, 1], [seq, seq]]
        r = c.post(
            "/api/v1/ingest", content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), headers=gw
        )
        assert r.status_code == 422 and f"readings.seq: {seq} is outside" in r.json()["error"], r.text
    assert store.gateway("gw-1") is None, "nothing of a refused batch is stored"


def test_a_gateway_may_register_only_so_many_channels(
    client: tuple[TestClient, dict[str, str], dict[str, str]], store: Store
) -> None:
    c, gw, _ = client
    ok = c.post(
        "/api/v1/ingest", content=encode_batch(readings_batch("gw-1", range(1, 11), n_channels=5)), headers=gw
    )
    assert ok.status_code == 200
    metas = [ChannelMeta(f"gw-1/dev-9/x{i}", "mm", "test") for i in range(2)]
    over = c.post(
        "/api/v1/ingest",
        content=encode_batch(readings_batch("gw-1", range(11, 21), channels=metas)),
        headers=gw,
    )
    assert over.status_code == 422
    assert "gateway gw-1 would have 7 channels, more than the limit of 6" in over.json()["error"]
    assert len(store.channels(gateway_id="gw-1")) == 5


def test_latest_and_channels_come_in_pages_with_the_total(
    client: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    c, gw, viewer = client
    assert (
        c.post(
            "/api/v1/ingest",
            content=encode_batch(readings_batch("gw-1", range(1, 11), n_channels=5)),
            headers=gw,
        ).status_code
        == 200
    )
    for path in ("/api/v1/latest", "/api/v1/channels"):
        first = c.get(path, params={"limit": 2}, headers=viewer).json()
        rest = c.get(path, params={"limit": 2, "offset": 2}, headers=viewer).json()
        assert (first["count"], first["limit"], first["offset"], len(first["data"])) == (5, 2, 0, 2)
        keys = [d.get("channel", d.get("key")) for d in first["data"] + rest["data"]]
        assert keys == sorted(keys) and len(set(keys)) == 4
        assert c.get(path, params={"limit": 10_001}, headers=viewer).status_code == 422


async def test_a_busy_pool_answers_503_at_once_and_healthz_stays_fast(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db", db_max_waiting=1)
    viewer = bearer(add_token(sqlite_store, Role.VIEWER))
    real = sqlite_store.sites

    def slow_sites() -> object:
        time.sleep(1.0)
        return real()

    monkeypatch.setattr(sqlite_store, "sites", slow_sites)
    async with (
        serving(create_app(settings, store=sqlite_store)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        await http.get("/api/v1/gateways", headers=viewer)  # the token is checked and cached
        calls = [http.get("/api/v1/sites", headers=viewer) for _ in range(10)]
        started = time.monotonic()
        tasks = [asyncio.ensure_future(c) for c in calls]
        await asyncio.sleep(0.3)
        health = await http.get("/healthz")
        health_s = time.monotonic() - started
        answers = await asyncio.gather(*tasks)
    codes = sorted(r.status_code for r in answers)
    assert codes.count(200) == sqlite_store.threads + 1 and codes.count(503) == 10 - 3, codes
    busy = next(r for r in answers if r.status_code == 503)
    assert busy.headers["Retry-After"] == "1" and "busy" in busy.json()["detail"]
    assert health.status_code == 200 and health_s < 0.9, f"/healthz took {health_s:.2f} s"


async def test_a_body_that_trickles_in_gets_408_and_a_client_gone_is_one_info_line(
    sqlite_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db", body_timeout_s=1.0)
    token = add_token(sqlite_store, Role.GATEWAY, "gw-1")
    head = (
        "POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n"
    ).encode()
    caplog.set_level(logging.INFO)
    async with serving(create_app(settings, store=sqlite_store)) as url:
        host, port = urlsplit(url).hostname, urlsplit(url).port
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(head + b'{"v": 1, ')
        started = time.monotonic()
        for _ in range(30):  # a byte every 0.1 s: it would take hours
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.1)
            if reader.at_eof() or reader._buffer:  # type: ignore[attr-defined]
                break
        status = (await asyncio.wait_for(reader.readline(), 5)).decode()
        assert " 408 " in status and time.monotonic() - started < 2.5, status
        writer.close()
        _, writer2 = await asyncio.open_connection(host, port)
        writer2.write(head + b'{"v": 1, ')
        await writer2.drain()
        await asyncio.sleep(0.2)
        writer2.close()  # gone, half-way through its body
        await asyncio.sleep(0.5)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert any("went away" in r.getMessage() for r in caplog.records)


def test_stream_subscribers_are_a_gauge(client: tuple[TestClient, dict[str, str], dict[str, str]]) -> None:
    c, _, viewer = client
    text = c.get("/metrics", headers=viewer).text
    assert "# TYPE fieldwatch_central_stream_subscribers gauge" in text
    assert "fieldwatch_central_stream_subscribers_total" not in text
    (line,) = [x for x in text.splitlines() if x.startswith("fieldwatch_central_stream_subscribers ")]
    assert float(line.split()[1]) == 0
