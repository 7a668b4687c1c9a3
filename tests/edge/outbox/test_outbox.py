"""The outbox's contract, one behaviour at a time, on real SQLite files."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from edge.outbox import Outbox, OutboxError
from edge.outbox import writer as writer_module
from protocols.records import ReadingBlock
from protocols.site import Outbox as OutboxSettings
from protocols.wire import ChannelMeta
from tests.edge.outbox.helpers import TS0_MS, block, channels, event, open_outbox


def test_rows_get_seqs_in_arrival_order_and_keep_their_values(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db")
    outbox.append_readings(block(1, 5, 10))
    outbox.append_event(event("gw/dev3/p", 6.0))
    outbox.append_readings(block(7, 4, 10))
    outbox.flush().result(timeout=10)
    reader = outbox.reader()
    stored = reader.readings(0)
    assert stored.seq.tolist() == [1, 2, 3, 4, 5, 7, 8, 9, 10]
    assert stored.block.value.tolist() == [1, 2, 3, 4, 5, 7, 8, 9, 10]
    assert stored.block.ts_ms.tolist() == [TS0_MS + v for v in (1, 2, 3, 4, 5, 7, 8, 9, 10)]
    [ev] = reader.events()
    assert (ev.seq, ev.channel, ev.value, ev.level) == (6, "gw/dev3/p", 6.0, 2)
    assert outbox.produced_through == 10
    outbox.close()


def test_nan_values_and_quality_round_trip(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db")
    outbox.append_readings(ReadingBlock.of([0, 1], [TS0_MS, TS0_MS], [np.nan, 2.5], [1, 0x20003]))
    outbox.flush().result(timeout=10)
    stored = outbox.reader().readings(0)
    assert np.isnan(stored.block.value[0]) and stored.block.value[1] == 2.5
    assert stored.block.quality.tolist() == [1, 0x20003]
    outbox.close()


def test_seq_continues_after_reopen_and_acked_rows_never_renumber(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    outbox = open_outbox(path)
    outbox.append_readings(block(1, 50, 10))
    outbox.flush().result(timeout=10)
    outbox.acknowledge([(1, 50)], acked_through=50, now_ms=1).result(timeout=10)
    outbox.close()
    again = open_outbox(path)
    assert again.produced_through == 50
    again.append_readings(block(51, 3, 10))
    again.flush().result(timeout=10)
    assert again.reader().readings(0).seq.tolist() == [51, 52, 53]
    assert again.boots == 2
    again.close()


def test_acknowledge_deletes_exactly_the_committed_ranges(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db")
    outbox.append_readings(block(1, 20, 10))
    outbox.append_event(event("gw/dev1/p", 21.0))
    outbox.flush().result(timeout=10)
    result = outbox.acknowledge([(3, 5), (9, 9), (21, 21)], acked_through=21, now_ms=7).result(timeout=10)
    assert (result.readings_removed, result.events_removed) == (4, 1)
    reader = outbox.reader()
    left = reader.readings(0).seq.tolist()
    assert left == [1, 2, 6, 7, 8, *range(10, 21)]
    assert reader.events() == []
    assert outbox.statistics()["rows"] == len(left)
    assert reader.meta()["acked_through"] == 21 and reader.meta()["last_ack_ms"] == 7
    outbox.close()


def test_dead_letter_moves_rows_out_of_the_queue_and_keeps_them(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db")
    outbox.append_readings(block(1, 10, 10))
    outbox.flush().result(timeout=10)
    outbox.dead_letter([(1, 4)], batch_id=77, error="gap", payload=b"{...}", now_ms=5).result(timeout=10)
    reader = outbox.reader()
    assert reader.readings(0).seq.tolist() == [5, 6, 7, 8, 9, 10]
    [dl] = reader.dead_letters()
    assert (dl["batch_id"], dl["error"], dl["rows"], dl["seq_ranges"]) == (77, "gap", 4, "[[1,4]]")
    assert reader.counts()["dead_letter_rows"] == 4
    outbox.close()


def test_channel_keys_keep_their_ids_when_the_site_changes(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    first = Outbox.open(path, OutboxSettings(), channels=channels(3))
    first.append_readings(ReadingBlock.of([2], [TS0_MS], [1.0], [0]))  # gw/dev2/p
    first.close()
    # the technician removed dev0 and added dev9: index 0 is now dev1, index 1 is dev2, index 2 is dev9
    renamed = [ChannelMeta(k, "mm", "test") for k in ("gw/dev1/p", "gw/dev2/p", "gw/dev9/p")]
    second = Outbox.open(path, OutboxSettings(), channels=renamed)
    second.append_readings(ReadingBlock.of([1, 2], [TS0_MS, TS0_MS], [2.0, 3.0], [0, 0]))
    second.flush().result(timeout=10)
    reader = second.reader()
    stored = reader.readings(0)
    keys = reader.channel_keys(stored.block.channel)
    assert [keys[int(c)] for c in stored.block.channel] == ["gw/dev2/p", "gw/dev2/p", "gw/dev9/p"]
    second.close()


def test_metadata_is_unacked_until_acknowledged_and_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    outbox = Outbox.open(path, OutboxSettings(), channels=channels(2))
    reader = outbox.reader()
    pending = reader.unacked_channels()
    assert sorted(pending) == ["gw/dev0/p", "gw/dev1/p"]
    outbox.acknowledge([], acked_through=0, now_ms=1, channels_acked=pending).result(timeout=10)
    assert reader.unacked_channels() == {}
    outbox.close()
    changed = [ChannelMeta("gw/dev0/p", "m", "test"), ChannelMeta("gw/dev1/p", "mm", "test")]
    again = Outbox.open(path, OutboxSettings(), channels=changed)
    assert list(again.reader().unacked_channels()) == ["gw/dev0/p"]
    again.close()


def test_append_never_waits_for_the_disk(tmp_path: Path) -> None:
    """While the writer is held inside a transaction, appends from another thread still return."""
    outbox = open_outbox(tmp_path / "o.db")
    outbox.append_readings(block(1, 10, 10))
    outbox.flush().result(timeout=10)
    blocker = sqlite3.connect(tmp_path / "o.db", timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # the writer's next BEGIN IMMEDIATE waits behind this lock
    appended = threading.Event()

    def append_many() -> None:
        for i in range(200):
            outbox.append_readings(block(11 + 10 * i, 10, 10))
        appended.set()

    threading.Thread(target=append_many).start()
    assert appended.wait(timeout=10), "appends waited for the writer"
    assert outbox.writer.pending_rows > 0
    blocker.execute("ROLLBACK")
    blocker.close()
    outbox.flush().result(timeout=30)
    assert outbox.produced_through == 2010
    outbox.close()


def test_a_full_queue_drops_readings_counted_but_never_events(tmp_path: Path) -> None:
    outbox = Outbox.open(tmp_path / "o.db", OutboxSettings(), channels=channels(10), max_pending_rows=100)
    blocker = sqlite3.connect(tmp_path / "o.db", timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    for i in range(30):
        outbox.append_readings(block(1 + 10 * i, 10, 10))
    outbox.append_event(event("gw/dev0/p", 1.0))
    blocker.execute("ROLLBACK")
    blocker.close()
    outbox.flush().result(timeout=30)
    stats = outbox.statistics()
    dropped = stats["drops"].get("dropped_queue_full", 0)
    assert dropped > 0
    assert stats["readings"] + dropped == 300
    assert stats["events"] == 1
    outbox.close()
    assert Outbox.open(tmp_path / "o.db", OutboxSettings(), channels=channels(10)).reader().drops() == {
        "dropped_queue_full": dropped
    }


def test_a_bad_channel_index_is_counted_not_a_crash(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db", nchannels=2)
    outbox.append_readings(ReadingBlock.of([5], [TS0_MS], [1.0], [0]))
    outbox.append_readings(ReadingBlock.of([1], [TS0_MS], [1.0], [0]))
    outbox.flush().result(timeout=10)
    assert outbox.statistics()["drops"] == {"dropped_unknown_channel": 1}
    assert outbox.produced_through == 1
    outbox.close()


def test_commits_group_rows_by_count_and_by_time(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db", commit_rows=100, commit_interval_ms=60_000)
    for i in range(10):
        outbox.append_readings(block(1 + 50 * i, 50, 10))  # 500 rows: five commits of 100
    deadline = time.monotonic() + 10
    while outbox.produced_through < 500 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert outbox.produced_through == 500
    assert outbox.writer.counters["commits"] <= 5
    outbox.append_readings(block(501, 10, 10))  # below commit_rows: waits for the interval (a minute)
    time.sleep(0.2)
    assert outbox.produced_through == 500
    outbox.flush().result(timeout=10)
    assert outbox.produced_through == 510
    outbox.close()


def test_normal_mode_tracks_what_is_durable(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db", synchronous="normal")
    outbox.append_readings(block(1, 10, 10))
    outbox.flush().result(timeout=10)
    assert outbox.durable_through == 0
    outbox.make_durable().result(timeout=10)
    assert outbox.durable_through == 10
    outbox.close()
    full = open_outbox(tmp_path / "f.db")
    full.append_readings(block(1, 10, 10))
    full.flush().result(timeout=10)
    assert full.durable_through == 10
    full.close()


def test_close_commits_what_is_queued(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    outbox = open_outbox(path, commit_interval_ms=60_000)
    outbox.append_readings(block(1, 7, 10))
    outbox.close()
    outbox.close()  # idempotent
    with pytest.raises(OutboxError, match="closed"):
        outbox.flush().result(timeout=1)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT sum(rows) FROM reading_blocks").fetchone()[0] == 7
    conn.close()


def test_an_unwritable_place_is_a_clear_startup_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutboxError, match=r"cannot open the outbox at .*file/o\.db"):
        Outbox.open(tmp_path / "file" / "o.db", OutboxSettings())


def test_rows_reaching_an_idle_writer_are_committed_by_their_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle writer sleeps long (its liveness tick); a few rows must not wait for that tick, only for
    commit_interval_ms (here 1 ms): they wake it so it can time their commit."""
    monkeypatch.setattr(writer_module, "LIVENESS_S", 60.0)
    outbox = open_outbox(tmp_path / "o.db", commit_interval_ms=1)
    outbox.flush().result(timeout=10)
    time.sleep(0.05)  # the writer is back in its idle wait
    outbox.append_readings(block(1, 10, 10))  # far below commit_rows
    deadline = time.monotonic() + 10  # a bound, not a measurement: the idle tick is 60 s away
    while outbox.produced_through < 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert outbox.produced_through == 10
    outbox.close()


def test_a_lazy_ack_rides_with_the_rows_commit_or_goes_at_once_when_none_flow(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db", commit_interval_ms=2000)
    outbox.append_readings(block(1, 10, 10))
    outbox.flush().result(timeout=10)
    time.sleep(2.1)  # no readings appended for commit_interval_ms: none flow
    outbox.acknowledge([(1, 3)], acked_through=3, now_ms=0, urgent=False).result(timeout=1.5)  # at once
    outbox.append_readings(block(11, 10, 10))  # readings flow, below commit_rows: a commit in 2 s
    ack = outbox.acknowledge([(4, 6)], acked_through=6, now_ms=0, urgent=False)
    time.sleep(0.2)
    assert not ack.done(), "the delete took a commit of its own while the rows were about to bring one"
    outbox.flush().result(timeout=10)  # the rows' commit, with the delete in it
    assert ack.result(timeout=10).readings_removed == 3
    assert outbox.reader().readings(0).seq.tolist() == list(range(7, 21))
    outbox.close()


def test_an_events_structured_fields_survive_the_outbox(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db")
    fired = dataclasses.replace(
        event("gw/dev3/p", 6.0), rule_kind="level", criterion="level", unit="m", threshold=5.0,
        direction="rising",
    )  # fmt: skip
    outbox.append_event(fired)
    outbox.append_event(event("gw/dev3/p", 7.0))  # one without them
    outbox.flush().result(timeout=10)
    first, second = outbox.reader().events()
    assert (first.rule_kind, first.criterion, first.unit, first.threshold, first.direction) == (
        "level", "level", "m", 5.0, "rising",
    )  # fmt: skip
    assert (second.rule_kind, second.threshold) == (None, None)
    outbox.close()
