"""Outbox incarnations at the central, the same suite on both stores: a new outbox's seqs are new rows, a
restored copy's old rows are not stored twice and its new ones are, every change of outbox is a fault
alarm with the seqs of the old life that never arrived, and alarm events keep their order across lives."""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np

from central.store.base import Store
from central.store.incarnations import OUTBOX_FORKED, OUTBOX_REPLACED, OUTBOX_RESTORED
from central.store.records import AlarmFilter
from protocols.incarnations import LEGACY, Incarnation
from protocols.records import ReadingBlock
from protocols.wire import Batch
from tests.central.builders import T0, event, key, readings_batch

ALL_TIME = (0, 1 << 62)
A1, A2, B1, C1 = "a1" * 16, "a2" * 16, "b1" * 16, "c1" * 16


def life(batch: Batch, *incarnations: Incarnation, value_offset: float = 0.0) -> Batch:
    """The batch as an outbox with these incarnations sends it; values moved by ``value_offset`` (so the
    readings of two lives with the same seqs differ)."""
    r = batch.readings
    readings = ReadingBlock(r.channel, r.ts_ms, r.value + value_offset, r.quality)
    return dataclasses.replace(batch, readings=readings, incarnations=list(incarnations))


def stored(store: Store, gateway: str = "gw-1", n_channels: int = 2) -> list[tuple[int, float]]:
    """(seq, value) of every stored reading, sorted."""
    out: list[tuple[int, float]] = []
    for c in range(n_channels):
        with contextlib.suppress(LookupError):
            out += [
                (r.seq, float(r.value or 0))
                for r in store.readings(key(gateway, "dev-1", f"p{c}"), *ALL_TIME, 10**6)
            ]
    return sorted(out)


def outbox_alarms(store: Store, rule: str) -> list[tuple[float | None, str]]:
    page = store.alarms(AlarmFilter(limit=100))
    return [(a.value, a.message) for a in page.data if a.rule == rule]


def test_a_new_outbox_numbering_from_1_again_is_stored_and_the_old_life_counted(store: Store) -> None:
    a = Incarnation(A1, 1, None)
    first = store.ingest(
        life(readings_batch("gw-1", range(1, 101), heartbeat={"produced_through": 150}), a), T0
    )
    assert first.acked_through == 100
    b = Incarnation(B1, 1, None)  # the outbox was deleted: a new file, seq 1 again
    outcome = store.ingest(life(readings_batch("gw-1", range(1, 51), batch_id=2), b, value_offset=0.5), T0)
    assert outcome.committed == ((1, 50),)
    assert (outcome.readings_added, outcome.readings_repeated) == (50, 0), (
        "a new life's rows were taken as old"
    )
    assert outcome.acked_through == 50
    rows = stored(store)
    assert len(rows) == 150
    assert [v for s, v in rows if s <= 50] == sorted(
        [float(s) for s in range(1, 51)] + [s + 0.5 for s in range(1, 51)]
    )
    ((value, message),) = outbox_alarms(store, OUTBOX_REPLACED)
    assert value == 50.0, message  # seqs 101..150 of the old outbox never arrived
    gw = store.gateway("gw-1")
    assert gw is not None
    assert (gw.incarnation, gw.outbox_changes, gw.outbox_lost_seqs, gw.acked_through) == (B1, 1, 50, 50)
    again = store.ingest(life(readings_batch("gw-1", range(1, 51), batch_id=2), b, value_offset=0.5), T0)
    assert again.readings_added == 0
    late = store.ingest(life(readings_batch("gw-1", range(101, 121), batch_id=3), a), T0)  # the old card
    assert late.readings_added == 20 and late.acked_through == 120
    assert len(stored(store)) == 170 and len(outbox_alarms(store, OUTBOX_REPLACED)) == 1


def test_a_restart_goes_on_in_the_same_epoch_without_an_alarm(store: Store) -> None:
    a1, a2 = Incarnation(A1, 1, None), Incarnation(A2, 101, A1)
    store.ingest(life(readings_batch("gw-1", range(1, 91)), a1), T0)
    outcome = store.ingest(life(readings_batch("gw-1", range(91, 121), batch_id=2), a1, a2), T0)
    assert outcome.readings_added == 30 and outcome.acked_through == 120
    assert (
        store.ingest(life(readings_batch("gw-1", range(91, 121), batch_id=2), a1, a2), T0).readings_added == 0
    )
    assert [s for s, _ in stored(store)] == list(range(1, 121))
    assert store.alarms(AlarmFilter()).count == 0
    assert store.gateway("gw-1").outbox_changes == 0  # type: ignore[union-attr]


def test_a_restored_older_copy_neither_loses_nor_duplicates(store: Store) -> None:
    a1, a2 = Incarnation(A1, 1, None), Incarnation(A2, 101, A1)
    store.ingest(life(readings_batch("gw-1", range(1, 41)), a1), T0)  # 41..100 wait in the outbox: backup
    store.ingest(
        life(readings_batch("gw-1", range(41, 101), batch_id=2), a1, a2), T0
    )  # the original sends on
    store.ingest(life(readings_batch("gw-1", range(101, 201), batch_id=3), a1, a2), T0)
    c1 = Incarnation(C1, 101, A1)  # the backup (a1's file at next_seq 101) restored: a second child of a1
    outcome = store.ingest(
        life(readings_batch("gw-1", range(41, 131), batch_id=1), a1, c1, value_offset=0.25), T0
    )
    assert outcome.committed == ((41, 130),)
    # 41..100 are a1's rows again (the same readings): not stored twice; 101..130 are the copy's new ones
    assert (outcome.readings_added, outcome.readings_repeated) == (30, 60)
    rows = stored(store)
    assert len(rows) == 230
    assert sum(1 for s, _ in rows if 101 <= s <= 130) == 60  # a2's and c1's, both kept
    ((value, message),) = outbox_alarms(store, OUTBOX_RESTORED)
    assert value == 0.0, message  # everything a2 numbered had arrived


def test_a_fork_seen_late_keeps_both_copies_rows(store: Store) -> None:
    a1, c1 = Incarnation(A1, 1, None), Incarnation(C1, 61, A1)
    store.ingest(life(readings_batch("gw-1", range(1, 51)), a1), T0)
    store.ingest(life(readings_batch("gw-1", range(51, 81), batch_id=2), a1, c1, value_offset=0.25), T0)
    late = store.ingest(life(readings_batch("gw-1", range(61, 71), batch_id=3), a1), T0)  # the original's
    assert late.readings_added == 10
    assert store.ingest(life(readings_batch("gw-1", range(61, 71), batch_id=3), a1), T0).readings_added == 0
    assert len(stored(store)) == 90
    assert len(outbox_alarms(store, OUTBOX_FORKED)) == 1


def test_a_legacy_edge_upgraded_goes_on_without_an_alarm(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(1, 11)), T0)  # no incarnations: a legacy batch
    x = Incarnation(A1, 21, "")
    outcome = store.ingest(life(readings_batch("gw-1", range(11, 31), batch_id=2), LEGACY, x), T0)
    assert outcome.readings_added == 20 and outcome.acked_through == 30
    assert store.gateway("gw-1").outbox_changes == 0  # type: ignore[union-attr]


def test_alarm_events_of_a_new_outbox_are_newer_than_the_old_ones(store: Store) -> None:
    a, b = Incarnation(A1, 1, None), Incarnation(B1, 1, None)
    store.ingest(life(readings_batch("gw-1", [], events=[event("gw-1", 90, 3, 0)]), a), T0)
    store.ingest(life(readings_batch("gw-1", [], events=[event("gw-1", 3, 0, 3)], batch_id=2), b), T0)
    alarm = next(x for x in store.alarms(AlarmFilter()).data if x.rule == "level")
    assert alarm.status == "cleared", "the new outbox's clear was taken for a late event"
    store.ingest(life(readings_batch("gw-1", [], events=[event("gw-1", 95, 4, 3)], batch_id=3), a), T0)
    detail = store.alarm(alarm.id)
    assert detail.alarm.status == "cleared" and detail.timeline[-1].kind == "late"


def test_the_readings_key_holds_two_lives_with_equal_channel_time_and_seq(store: Store) -> None:
    a, b = Incarnation(A1, 1, None), Incarnation(B1, 1, None)
    store.ingest(life(readings_batch("gw-1", range(1, 6)), a), T0)
    outcome = store.ingest(life(readings_batch("gw-1", range(1, 6), batch_id=2), b, value_offset=7.0), T0)
    assert outcome.readings_added == 5
    values = np.array([v for _, v in stored(store)])
    assert len(values) == 10 and set(values) == set(range(1, 6)) | {s + 7.0 for s in range(1, 6)}
