"""The pipeline: the detecting sink between acquisition and the outbox (``edge.pipeline.DetectingSink``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.detect import DetectorBank
from edge.pipeline import DetectingSink
from protocols.quality import Quality
from protocols.records import Event, ReadingBlock
from tests.edge.agent.sites import T0_MS, bound_site, open_outbox


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
