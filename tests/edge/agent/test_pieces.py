"""The agent's pieces in one process: the detecting sink, the heartbeat's snapshot, the detector state file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import numpy as np

from edge.agent import Agent, channel_metas, outbox_path, site_meta
from edge.clock import Clock
from edge.detect import DetectorBank
from edge.forwarder import Forwarder
from edge.heartbeat import Heartbeat
from edge.outbox import Outbox
from edge.pipeline import DetectingSink
from edge.siteconfig import load_site
from edge.uplink.http import HttpUplink
from protocols.config import BoundSite
from protocols.quality import Quality
from protocols.records import Event, ReadingBlock
from protocols.site import HttpUplink as HttpUplinkSettings
from tests.edge.agent.sites import write_site
from tests.support.ports import free_port

T0_MS = 1_764_370_000_000


def bound_site(folder: Path) -> BoundSite:
    return load_site(
        write_site(folder, modbus_port=free_port(), uplink='{type: http, url: "http://127.0.0.1:9"}')
    )


def open_outbox(site: BoundSite) -> Outbox:
    return Outbox.open(
        outbox_path(site), site.site.outbox, channels=channel_metas(site), site=site_meta(site)
    )


def test_the_sink_stores_readings_then_the_events_they_raised(tmp_path: Path) -> None:
    site = bound_site(tmp_path)
    outbox = open_outbox(site)
    sink = DetectingSink(DetectorBank.from_site(site), outbox)
    sink.put_readings(ReadingBlock.of([0, 1], [T0_MS] * 2, [50.0, 250.0], [0, 0]))
    sink.put_readings(ReadingBlock.of([2], [T0_MS], [60.0], [0]))
    assert outbox.writer.appended_rows == 0, "gathered, not yet detected and appended"
    sink.flush()
    outbox.flush().result(timeout=10)
    reader = outbox.reader()
    assert reader.readings(0).seq.tolist() == [1, 2, 3]
    [event] = reader.events()
    assert (event.seq, event.channel, event.rule, event.level) == (4, "gw-agent/dev1/r1", "high", 4)
    outbox.close()


def test_a_device_event_keeps_its_place_after_the_readings_before_it(tmp_path: Path) -> None:
    site = bound_site(tmp_path)
    outbox = open_outbox(site)
    sink = DetectingSink(DetectorBank.from_site(site), outbox)
    sink.put_readings(ReadingBlock.of([0, 1], [T0_MS] * 2, [1.0, 2.0], [0, 0]))
    sink.put_event(Event("gw-agent/dev1/_device", T0_MS, "comm", 2, 0, float("nan"), "offline"))
    sink.put_readings(ReadingBlock.of([2], [T0_MS], [3.0], [0]))
    sink.flush()
    outbox.flush().result(timeout=10)
    reader = outbox.reader()
    assert reader.readings(0).seq.tolist() == [1, 2, 4]
    assert [e.seq for e in reader.events()] == [3]
    outbox.close()


def test_a_not_available_reading_is_kept_with_its_flag_and_skipped_by_detection(tmp_path: Path) -> None:
    site = bound_site(tmp_path)
    outbox = open_outbox(site)
    sink = DetectingSink(DetectorBank.from_site(site), outbox)
    na = int(Quality.NOT_AVAILABLE)
    sink.put_readings(ReadingBlock.of([0, 0], [T0_MS, T0_MS + 1000], [float("nan"), 150.0], [na, 0]))
    sink.flush()
    outbox.flush().result(timeout=10)
    reader = outbox.reader()
    stored = reader.readings(0).block
    assert stored.quality.tolist() == [na, 0] and np.isnan(stored.value[0])  # the outbox keeps bit 8
    assert [(e.rule, e.level) for e in reader.events()] == [("high", 2)]  # only the real value warns
    outbox.close()


def test_a_detection_failure_never_costs_a_reading(tmp_path: Path) -> None:
    site = bound_site(tmp_path)
    outbox = open_outbox(site)
    narrow = DetectorBank.from_channels(site.channels[:1])  # knows channel 0 only
    sink = DetectingSink(narrow, outbox)
    sink.put_readings(ReadingBlock.of([0, 2], [T0_MS] * 2, [1.0, 2.0], [0, 0]))
    sink.flush()
    outbox.flush().result(timeout=10)
    assert outbox.reader().readings(0).block.value.tolist() == [1.0, 2.0]
    assert sink.detector_errors == 1
    outbox.close()


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
