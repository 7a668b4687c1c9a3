"""The byte budget and a full disk: old readings are thinned, then dropped, every row counted; events stay."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.outbox import Outbox, budget
from edge.outbox.ops import Op, OpResult
from protocols.records import ReadingBlock
from tests.edge.outbox.helpers import block, event, open_outbox

NCHANNELS = 10


def fill(
    outbox: Outbox, readings: int, *, events_every: int = 0, chunk: int = 500, noisy: bool = False
) -> tuple[int, int]:
    """Append ``readings`` readings (and an event every ``events_every``); returns (readings, events).

    ``noisy``: values that do not compress (the outbox compresses its blocks), to fill a disk sooner."""
    value, events = 1, 0
    rng = np.random.default_rng(1)
    for i in range(readings // chunk):
        b = block(value, chunk, NCHANNELS)
        if noisy:
            b = ReadingBlock(b.channel, b.ts_ms, rng.random(chunk), b.quality)
        outbox.append_readings(b)
        value += chunk
        if events_every and i % events_every == 0:
            outbox.append_event(event(f"gw/dev{i % NCHANNELS}/p", float(value)))
            value += 1
            events += 1
        if i % 20 == 0:
            outbox.flush().result(timeout=60)  # keep the queue short, as a real gateway's is
    outbox.flush().result(timeout=60)
    return readings // chunk * chunk, events


def test_over_budget_thins_then_drops_and_every_row_is_counted(tmp_path: Path) -> None:
    max_bytes = 1 << 20
    outbox = open_outbox(tmp_path / "o.db", max_bytes=max_bytes, commit_rows=500, nchannels=NCHANNELS)
    appended, events = fill(outbox, 200_000, events_every=25)
    stats = outbox.statistics()
    drops = stats["drops"]
    assert drops.get("thinned_budget", 0) > 0, drops
    assert drops.get("dropped_budget", 0) > 0, drops
    assert stats["readings"] + drops["thinned_budget"] + drops["dropped_budget"] == appended
    assert stats["events"] == events, "an event was evicted"
    reader = outbox.reader()
    assert len(reader.events(limit=10_000)) == events
    assert reader.counts()["readings"] == stats["readings"]
    assert stats["bytes"] <= outbox.writer.budget.page_budget
    outbox.writer.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert reader.bytes_used()["total"] <= max_bytes
    # the newest rows (the protected tail) are whole: no gap at the end
    tail = reader.readings(outbox.produced_through - 2000).seq.tolist()
    assert tail == [s for s in range(outbox.produced_through - 1999, outbox.produced_through + 1)
                    if s not in {e.seq for e in reader.events(limit=10_000)}]  # fmt: skip
    assert reader.drops() == dict(drops)
    outbox.close()


def test_thinning_keeps_every_kth_reading_of_each_channel(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db", commit_rows=1000, nchannels=NCHANNELS, thin_keep_every=4)
    fill(outbox, 40_000)
    plan = budget.Eviction(
        page_budget=1, keep_every=4, protect_after_seq=20_000, thin_reason="thinned_budget",
        drop_reason="dropped_budget",
    )  # fmt: skip
    outbox.flush().result(timeout=10)
    conn = outbox.writer.conn  # the writer is idle (waiting on its queue): one thinning pass, by hand
    conn.execute("BEGIN IMMEDIATE")
    removed = budget._thin(conn, plan, want=7500)
    conn.execute("COMMIT")
    kept = outbox.reader().readings(0, 10_000, limit=100_000)
    assert removed == 10_000 - len(kept)
    for ch in range(NCHANNELS):
        values = kept.block.value[kept.block.channel == outbox.writer.channel_ids[ch]]
        original = [v for v in range(1, 10_001) if v % NCHANNELS == ch]
        assert values.tolist() == original[::4], f"channel {ch} was not thinned to every 4th"
    outbox.close()


def test_sqlite_full_is_handled_like_the_budget(tmp_path: Path) -> None:
    """SQLITE_FULL from SQLite itself (a page limit) takes the disk-full path: evict, count, go on."""
    outbox = open_outbox(tmp_path / "o.db", commit_rows=500, nchannels=NCHANNELS)

    def limit_pages(conn: object) -> OpResult:
        outbox.writer.conn.execute("PRAGMA max_page_count = 200")  # 800 KiB at 4 KiB pages
        return OpResult()

    outbox._op(Op(limit_pages)).result(timeout=10)
    appended, events = fill(outbox, 200_000, events_every=20, noisy=True)
    stats = outbox.statistics()
    drops = stats["drops"]
    assert stats["writer"]["disk_full"] >= 1
    assert set(drops) <= {"thinned_disk_full", "dropped_disk_full"}, drops
    assert drops.get("dropped_disk_full", 0) > 0
    assert stats["readings"] + sum(drops.values()) == appended
    assert stats["events"] == events
    assert outbox.healthy()
    outbox.close()


@contextlib.contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``path`` (needs the right to mount; skipped where there is none)."""
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_disk(folder: Path) -> Path:
    """Write a ballast file until the file system says ENOSPC."""
    ballast = folder / "ballast"
    with ballast.open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)
    return ballast


@pytest.mark.slow
def test_a_small_disk_limits_the_outbox_before_it_fills(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "disk", "3m") as disk:
        outbox = open_outbox(disk / "o.db", commit_rows=500, nchannels=NCHANNELS)  # budget 1 GiB > disk
        appended, events = fill(outbox, 500_000, events_every=20, noisy=True)
        stats = outbox.statistics()
        drops = stats["drops"]
        assert stats["disk_limited"]
        assert drops.get("thinned_disk_full", 0) > 0 and drops.get("dropped_disk_full", 0) > 0, drops
        assert stats["readings"] + sum(drops.values()) == appended
        assert stats["events"] == events
        assert outbox.reader().integrity() == "ok"
        outbox.close()


@pytest.mark.slow
def test_a_disk_filled_by_someone_else_is_detected_and_counted(tmp_path: Path) -> None:
    """Another program fills the disk to the last byte: no write can succeed, not even a delete (SQLite
    needs WAL room for it). Readings that cannot be kept are dropped and counted, events wait in memory,
    and when room comes back the outbox goes on."""
    with small_filesystem(tmp_path / "disk", "3m") as disk:
        outbox = open_outbox(disk / "o.db", commit_rows=500, nchannels=NCHANNELS)
        first, first_events = fill(outbox, 20_000, events_every=20)
        ballast = fill_disk(disk)
        for i in range(20):
            outbox.append_readings(block(100_000 + 500 * i, 500, NCHANNELS))
            outbox.append_event(event("gw/dev1/p", float(i)))
        deadline = time.monotonic() + 30
        while outbox.statistics()["drops"].get("dropped_disk_full", 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = outbox.statistics()
        assert stats["writer"]["disk_full"] >= 1, "SQLITE_FULL never came"
        assert stats["drops"].get("dropped_disk_full", 0) > 0
        ballast.unlink()  # room again: the queued events are written, the outbox goes on
        outbox.flush().result(timeout=30)
        stats = outbox.statistics()
        assert stats["readings"] + sum(stats["drops"].values()) == first + 20 * 500
        assert stats["events"] == first_events + 20, "an event was lost to the full disk"
        assert outbox.healthy()
        assert outbox.reader().integrity() == "ok"
        outbox.close()
