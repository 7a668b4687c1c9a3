"""The forwarder, through the HTTP uplink, against the real central (FastAPI under uvicorn, on SQLite)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge.uplink.http import HttpUplink
from protocols.site import HttpUplink as HttpUplinkSettings
from tests.edge.uplink.central import Central
from tests.edge.uplink.helpers import (
    GATEWAY,
    alarm,
    fast_forwarding,
    forwarding,
    open_outbox,
    readings,
)  # fmt: skip
from tests.support.waiting import until


def http_uplink(central: Central, token: str | None = None, **settings: object) -> HttpUplink:
    config = HttpUplinkSettings.model_validate(
        {"type": "http", "url": central.url, "timeout_s": 5} | settings
    )
    return HttpUplink(config, token or central.token)


async def test_every_row_reaches_the_central_once_and_leaves_the_outbox(tmp_path: Path) -> None:
    central = Central(tmp_path, GATEWAY)
    outbox = open_outbox(tmp_path / "outbox.db")
    outbox.append_readings(readings(1, 3000))
    outbox.append_event(alarm(3001.0))
    outbox.append_readings(readings(3002, 999))
    outbox.flush().result(timeout=10)
    async with (
        central.serve(),
        forwarding(outbox, http_uplink(central), fast_forwarding(max_batch_rows=700)) as fwd,
    ):
        await until(lambda: outbox.statistics()["rows"] == 0, what="the outbox drained")
        assert fwd.counters["batches_acked"] >= 6
    assert central.reading_seqs() == [s for s in range(1, 4001) if s != 3001]
    assert central.event_seqs() == [3001]
    values = central.query("SELECT seq, value FROM readings ORDER BY seq")
    assert all(v == s for s, v in values), "a value moved to another seq on the way"
    assert central.query("SELECT acked_through FROM gateways") == [(4000,)]
    # the channels' metadata went with the first batches and is now acknowledged
    assert central.query("SELECT key, unit, range_max FROM channels WHERE key LIKE '%dev1%'") == [
        (f"{GATEWAY}/dev1/p", "mm", 100.0)
    ]
    assert outbox.reader().unacked_channels() == {}
    assert outbox.reader().meta()["site_acked_hash"] == outbox.site_hash
    outbox.close()


async def test_events_go_first_and_the_backlog_waits_its_budget(tmp_path: Path) -> None:
    central = Central(tmp_path, GATEWAY)
    outbox = open_outbox(tmp_path / "outbox.db")
    outbox.append_readings(readings(1, 2000))  # a backlog: older than the live window by the time we send
    outbox.flush().result(timeout=10)
    await asyncio.sleep(0.1)
    outbox.append_event(alarm(2001.0, level=4))
    outbox.flush().result(timeout=10)
    settings = fast_forwarding(live_window_s=0.05, backlog_rows_per_s=100, max_batch_rows=500)
    async with central.serve(), forwarding(outbox, http_uplink(central), settings) as fwd:
        await until(lambda: fwd.counters["events_acked"] == 1, what="the alarm was delivered")
        delivered = len(central.reading_seqs())
        assert delivered <= 500, "the backlog went ahead of (or with more than its budget beside) the alarm"
        assert central.event_seqs() == [2001]
        await until(lambda: len(central.reading_seqs()) > delivered, what="the backlog moves on")
    assert central.reading_seqs() == sorted(central.reading_seqs())
    outbox.close()


async def test_the_backlog_goes_in_steps_of_its_budget_not_in_a_trickle(tmp_path: Path) -> None:
    central = Central(tmp_path, GATEWAY)
    outbox = open_outbox(tmp_path / "outbox.db")
    outbox.append_readings(readings(1, 1200))
    outbox.flush().result(timeout=10)
    await asyncio.sleep(0.1)  # all of it is backlog now
    settings = fast_forwarding(live_window_s=0.05, backlog_rows_per_s=400, max_batch_rows=1000)
    async with central.serve(), forwarding(outbox, http_uplink(central), settings) as fwd:
        await until(lambda: outbox.statistics()["rows"] == 0, what="the backlog drained")
    assert fwd.counters["rows_acked"] == 1200
    assert fwd.counters["batches_acked"] <= 4, "the backlog went in a trickle of small batches"
    assert central.reading_seqs() == list(range(1, 1201))
    outbox.close()


async def test_a_refused_batch_goes_to_the_dead_letters_and_the_queue_moves_on(tmp_path: Path) -> None:
    central = Central(tmp_path, GATEWAY)
    outbox = open_outbox(tmp_path / "outbox.db")
    outbox.append_event(alarm(1.0, level=2, previous=2))  # a level that does not change: malformed
    outbox.flush().result(timeout=10)
    async with central.serve(), forwarding(outbox, http_uplink(central), fast_forwarding()) as fwd:
        await until(lambda: fwd.counters["dead_letters"] == 1, what="a dead letter")
        outbox.append_readings(readings(2, 10))
        await asyncio.wrap_future(outbox.flush())
        await until(lambda: outbox.statistics()["rows"] == 0, what="later rows still flow")
    assert central.reading_seqs() == list(range(2, 12))
    [dl] = outbox.reader().dead_letters()
    assert "levels must be 0-4 and differ" in dl["error"]
    assert (dl["rows"], dl["seq_ranges"]) == (1, "[[1,1]]")
    outbox.close()


async def test_a_wrong_token_keeps_the_rows_and_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    central = Central(tmp_path, GATEWAY)
    outbox = open_outbox(tmp_path / "outbox.db")
    outbox.append_readings(readings(1, 10))
    outbox.flush().result(timeout=10)
    uplink = http_uplink(central, token="fw_not-a-token")
    async with central.serve(), forwarding(outbox, uplink, fast_forwarding(retry_max_s=0.05)) as fwd:
        await until(lambda: fwd.counters["auth_errors"] >= 3, what="retries")
        assert fwd.last_error.startswith(f"{central.url}/api/v1/ingest: HTTP 401")
    assert outbox.statistics()["rows"] == 10
    assert central.reading_seqs() == []
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "credentials" in r.message]
    assert len(errors) == 1, "an auth failure is logged once, not once per retry"
    assert outbox.reader().meta()["uplink_state"] == "failing"
    outbox.close()


async def test_the_central_down_then_up_delivers_everything(tmp_path: Path) -> None:
    central = Central(tmp_path, GATEWAY)
    outbox = open_outbox(tmp_path / "outbox.db")
    outbox.append_readings(readings(1, 500))
    outbox.flush().result(timeout=10)
    async with forwarding(outbox, http_uplink(central), fast_forwarding()) as fwd:
        await until(lambda: fwd.counters["transient_errors"] >= 2, what="connection refused, retried")
        assert fwd.error_since_ms is not None
        async with central.serve():
            await until(lambda: outbox.statistics()["rows"] == 0, what="delivered once the central is up")
        assert fwd.statistics()["failing_since_ms"] is None
    assert central.reading_seqs() == list(range(1, 501))
    assert outbox.reader().meta()["uplink_state"] == "ok"
    outbox.close()


async def test_too_large_halves_the_batch(tmp_path: Path) -> None:
    central = Central(tmp_path, GATEWAY, max_body_bytes=4096)
    outbox = open_outbox(tmp_path / "outbox.db")
    values = readings(1, 2000)
    values.value[:] = values.value * 1.2345678901  # digits gzip cannot squeeze much
    outbox.append_readings(values)
    outbox.flush().result(timeout=10)
    async with (
        central.serve(),
        forwarding(outbox, http_uplink(central), fast_forwarding(max_batch_rows=2000)) as fwd,
    ):
        await until(lambda: outbox.statistics()["rows"] == 0, what="delivered in smaller batches")
        assert fwd.counters["too_large"] >= 1
    assert central.reading_seqs() == list(range(1, 2001))
    outbox.close()


async def test_a_heartbeat_travels_alone_when_there_is_nothing_else(tmp_path: Path) -> None:
    central = Central(tmp_path, GATEWAY)
    outbox = open_outbox(tmp_path / "outbox.db")
    async with central.serve(), forwarding(outbox, http_uplink(central), fast_forwarding()) as fwd:
        fwd.post_heartbeat({"version": "test", "heartbeat_interval_s": 60, "outbox": {"rows": 0}})
        await until(lambda: fwd.counters["heartbeats_sent"] == 1, what="the heartbeat was sent")
    [(version, interval)] = central.query("SELECT version, heartbeat_interval_s FROM gateways")
    assert (version, interval) == ("test", 60)
    outbox.close()
