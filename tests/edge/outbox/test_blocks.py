"""Readings stored a block per row: exact deletes inside blocks, and the migration from a row per reading."""

from __future__ import annotations

import math
import sqlite3
import zlib
from pathlib import Path

import numpy as np
import pytest
from sqlite_utils import Database

from edge.outbox import OutboxError, blocks, budget, schema, writer
from edge.outbox.reader import MAX_SEQ
from tests.edge.outbox.helpers import TS0_MS, block, event, open_outbox


def stored_seqs(path: Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        seqs: list[int] = blocks.readings(conn, 0, MAX_SEQ, 1 << 40).seq.tolist()
        return seqs
    finally:
        conn.close()


def test_acks_across_and_inside_blocks_delete_exactly_their_seqs(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db", commit_interval_ms=60_000)
    for first in range(1, 101, 10):
        outbox.append_readings(block(first, 10, 10))
        outbox.flush().result(timeout=10)  # a block of 10 per commit
    ranges = [(5, 27), (33, 33), (40, 41), (60, 200)]
    result = outbox.acknowledge(ranges, acked_through=200, now_ms=0).result(timeout=10)
    left = [s for s in range(1, 101) if not any(a <= s <= b for a, b in ranges)]
    assert result.readings_removed == 100 - len(left)
    assert outbox.reader().readings(0, limit=1000).seq.tolist() == left
    assert outbox.statistics()["readings"] == len(left)
    outbox.acknowledge([(1, 4)], acked_through=4, now_ms=0).result(timeout=10)
    outbox.close()
    assert stored_seqs(tmp_path / "o.db") == left[4:]


def test_reads_start_inside_a_block_and_stop_at_the_limit(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db", commit_rows=1000)
    outbox.append_readings(block(1, 3000, 10))  # one run: blocks of MAX_BLOCK_ROWS
    outbox.flush().result(timeout=10)
    reader = outbox.reader()
    got = reader.readings(1500, 2600, limit=700)
    assert got.seq.tolist() == list(range(1501, 2201))
    assert got.block.value.tolist() == [float(s) for s in range(1501, 2201)]
    assert reader.readings(2990).seq.tolist() == list(range(2991, 3001))
    assert reader.oldest_ts_ms() == TS0_MS + 1
    outbox.close()


def test_dropping_the_oldest_cuts_a_block_exactly(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db", commit_rows=100)
    for first in range(1, 501, 100):
        outbox.append_readings(block(first, 100, 10))
        outbox.flush().result(timeout=10)
    outbox.close()
    conn = sqlite3.connect(tmp_path / "o.db", isolation_level=None)
    assert budget._drop_oldest(conn, 250) == 250
    assert budget._drop_oldest(conn, 1000) == 250
    conn.close()
    assert stored_seqs(tmp_path / "o.db") == []


def write_old_outbox(path: Path, rows: list[tuple[int, int, int, float | None, int]], next_seq: int) -> None:
    """An outbox as the row-per-reading layout (migration 0001 only) left it."""
    conn = schema.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    db = Database(conn)
    schema.migrations.apply(db, stop_before="0002_reading_blocks")
    conn.executemany("INSERT INTO channels (key) VALUES (?)", [(f"gw/dev{i}/p",) for i in range(10)])
    conn.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?)", rows)
    conn.execute("UPDATE meta SET value = ? WHERE name = 'next_seq'", (next_seq,))
    conn.close()


def old_rows() -> list[tuple[int, int, int, float | None, int]]:
    """Readings with gaps (acks, thinning), a NULL value and a seq taken by an event."""
    seqs = [s for s in range(1, 3001) if s % 7 != 0 and not 100 <= s < 400]
    return [(s, s % 10 + 1, TS0_MS + s, None if s == 5 else float(s), s % 3) for s in seqs]


def test_an_outbox_of_rows_is_migrated_to_blocks_with_every_reading_and_seq(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    rows = old_rows()
    write_old_outbox(path, rows, next_seq=3001)
    outbox = open_outbox(path)
    stored = outbox.reader().readings(0, limit=10_000)
    assert stored.seq.tolist() == [r[0] for r in rows]
    assert stored.block.channel.tolist() == [r[1] for r in rows]
    assert stored.block.ts_ms.tolist() == [r[2] for r in rows]
    expected = np.array([math.nan if r[3] is None else r[3] for r in rows])
    assert np.array_equal(stored.block.value, expected, equal_nan=True) and math.isnan(expected[4])
    assert stored.block.quality.tolist() == [r[4] for r in rows]
    assert outbox.statistics()["readings"] == len(rows)
    outbox.append_readings(block(3001, 5, 10))
    outbox.append_event(event("gw/dev1/p", 3006.0))
    outbox.flush().result(timeout=10)
    assert outbox.reader().readings(2999).seq.tolist() == [3000, 3001, 3002, 3003, 3004, 3005]
    assert outbox.produced_through == 3006
    outbox.close()
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert "readings" not in tables and "reading_blocks" in tables


def test_a_migration_cut_short_resumes_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "o.db"
    rows = old_rows()
    write_old_outbox(path, rows, next_seq=3001)
    monkeypatch.setattr(schema, "MIGRATE_CHUNK_ROWS", 500)
    real_insert = blocks.insert
    calls = []

    def failing_insert(conn: sqlite3.Connection, seq: np.ndarray, b: object, **kw: bool) -> None:
        calls.append(len(seq))
        if len(calls) == 3:
            raise sqlite3.OperationalError("disk I/O error")  # a crash in the third chunk's transaction
        real_insert(conn, seq, b, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(blocks, "insert", failing_insert)
    with pytest.raises(OutboxError, match="disk I/O error"):
        open_outbox(path)
    conn = sqlite3.connect(path)
    moved = conn.execute("SELECT sum(rows) FROM reading_blocks").fetchone()[0]
    waiting = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    conn.close()
    assert (moved, waiting) == (1000, len(rows) - 1000), "each chunk moves all of its rows or none"
    monkeypatch.setattr(blocks, "insert", real_insert)
    outbox = open_outbox(path)
    assert outbox.reader().readings(0, limit=10_000).seq.tolist() == [r[0] for r in rows]
    outbox.close()


def test_pack_and_unpack_round_trip_raw_compressed_and_bare_zlib() -> None:
    b = block(1, 50, 7)
    seq = np.arange(101, 151, dtype=np.int64)
    raw = blocks.pack(101, seq, b)
    packed = blocks.pack(101, seq, b, compress=True)
    assert raw[0] == blocks.RAW and packed[0] == blocks.ZLIB and len(packed) < len(raw)
    bare = zlib.compress(raw[1:], blocks.ZLIB_LEVEL)  # a block as the first block format wrote it
    for data in (raw, packed, bare):
        got = blocks.unpack(101, 50, data)
        assert got.seq.tolist() == seq.tolist()
        assert got.block.value.tolist() == b.value.tolist()
        assert got.block.ts_ms.tolist() == b.ts_ms.tolist()
        assert got.block.channel.tolist() == b.channel.tolist()


def test_blocks_that_wait_are_compressed_in_place_and_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocks, "COMPACT_AFTER_S", 0.0)  # every block has waited long enough
    monkeypatch.setattr(writer, "COMPACT_BLOCKS", 2)  # five blocks: three steps
    outbox = open_outbox(tmp_path / "o.db", commit_rows=1000)
    outbox.append_readings(block(1, 5000, 10))
    outbox.flush().result(timeout=10)
    before = outbox.reader().readings(0, limit=10_000)
    for last in (4, 7, 10):  # an op each: a compaction step each
        outbox.acknowledge([(1, last)], acked_through=last, now_ms=0).result(timeout=10)
    outbox.close()
    conn = sqlite3.connect(tmp_path / "o.db")
    marks = [bytes(row[0]) for row in conn.execute("SELECT substr(data, 1, 1) FROM reading_blocks")]
    conn.close()
    assert marks and set(marks) == {blocks.ZLIB_MARK}, marks
    outbox = open_outbox(tmp_path / "o.db")
    after = outbox.reader().readings(0, limit=10_000)
    assert after.seq.tolist() == before.seq.tolist()[10:]
    assert after.block.value.tolist() == before.block.value.tolist()[10:]
    outbox.close()


def test_compaction_steps_look_at_a_bounded_number_of_blocks_and_resume(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "b.db", isolation_level=None)
    conn.execute("CREATE TABLE reading_blocks (id INTEGER PRIMARY KEY, first_seq, last_seq, rows, data BLOB)")
    for first in range(1, 101, 10):  # ten blocks of ten; the 3rd and 4th already compressed
        seq = np.arange(first, first + 10, dtype=np.int64)
        blocks.insert(conn, seq, block(first, 10, 3), compress=first in (21, 31))

    def packing() -> list[int]:
        return [bytes(d)[0] for (d,) in conn.execute("SELECT data FROM reading_blocks ORDER BY id")]

    through = blocks.compact(conn, 0, 60, limit=4)  # looks at blocks 1, 11, 21, 31 only
    assert through == 31
    assert packing() == [blocks.ZLIB] * 4 + [blocks.RAW] * 6
    through = blocks.compact(conn, through, 60, limit=4)  # 41, 51: fewer than the limit, so done to 60
    assert through == 60
    assert packing() == [blocks.ZLIB] * 6 + [blocks.RAW] * 4  # 61 and later were not old enough
    got = blocks.readings(conn, 0, MAX_SEQ, 1000)
    assert got.seq.tolist() == list(range(1, 101))
    assert got.block.value.tolist() == block(1, 100, 3).value.tolist()
