"""The agent's pieces in one process: the heartbeat's snapshot, the detector state file. (The detecting
sink's tests are ``tests/edge/test_pipeline.py``.)"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import numpy as np

from edge.agent import Agent
from edge.clock import Clock
from edge.forwarder import Forwarder
from edge.heartbeat import Heartbeat
from edge.uplink.http import HttpUplink
from protocols.records import ReadingBlock
from protocols.site import HttpUplink as HttpUplinkSettings
from tests.edge.agent.sites import T0_MS, bound_site, open_outbox


async def test_the_heartbeat_reports_depth_age_drops_and_the_uplink(tmp_path: Path) -> None:
    site = bound_site(tmp_path)
    outbox = open_outbox(site)
    clock = Clock(speed=1.0, start_ms=T0_MS + 90_000)
    forwarder = Forwarder(outbox, HttpUplink(HttpUplinkSettings(type="http", url="http://127.0.0.1:9"), "t"),
                          gateway=site.gateway_id, now_ms=clock.now_ms)  # fmt: skip
    beat = Heartbeat(clock=clock, outbox=outbox, forwarder=forwarder, interval_s=30,
                     buses=lambda: {"tcp1": {"requests": 7}}, detector=lambda: {"samples": 3})  # fmt: skip
    outbox.append_readings(ReadingBlock.of([0, 1], [T0_MS, T0_MS + 1000], [1.0, 2.0], [0, 0]))
    outbox.writer.note_drop("dropped_queue_full", 5)
    await asyncio.wrap_future(outbox.flush())
    hb = await beat.snapshot()
    assert hb["version"] and hb["heartbeat_interval_s"] == 30 and hb["clock_synchronised"] is True
    assert hb["produced_through"] == 2
    assert hb["outbox"]["rows"] == 2 and hb["outbox"]["events"] == 0
    assert hb["outbox"]["oldest_unacked_ts_ms"] == T0_MS
    assert 90_000 <= hb["outbox"]["oldest_unacked_ms"] < 100_000
    assert hb["outbox"]["bytes"] > 0 and hb["outbox"]["healthy"] is True
    assert hb["drops"] == {"dropped_queue_full": 5}
    assert hb["dead_letters"] == {"batches": 0, "rows": 0}
    assert hb["buses"] == {"tcp1": {"requests": 7}} and hb["detector"] == {"samples": 3}
    assert hb["uplink"]["uplink"] == "http"
    await forwarder.uplink.aclose()
    beat.reader.close()
    forwarder.reader.close()
    outbox.close()


async def test_the_detector_state_survives_a_restart(tmp_path: Path) -> None:
    site = bound_site(tmp_path)
    env = {"FIELDWATCH_TOKEN": "fw_test"}
    agent = Agent.start(site, Clock(), env)
    agent.sink.put_readings(ReadingBlock.of([1], [T0_MS], [250.0], [0]))  # raises "high" to red
    agent.sink.flush()
    assert agent.sink.alarms_changed.is_set(), "a step that raised an alarm asks for a state save"
    await agent.save_state_safely()
    # the state knows of the alarm only once its event is committed: read the file from another connection
    conn = sqlite3.connect(tmp_path / "outbox.db")
    try:
        assert conn.execute("SELECT rule, level FROM events").fetchall() == [("high", 4)]
    finally:
        conn.close()
    agent.outbox.close()
    again = Agent.start(site, Clock(), env)
    [alarm] = again.bank.open_alarms()
    assert (alarm.channel, alarm.rule, alarm.level) == ("gw-agent/dev1/r1", "high", 4)
    again.outbox.close()
    assert np.isfinite(alarm.value)
