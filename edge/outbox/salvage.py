"""A corrupt outbox file: found at open, moved aside, and what SQLite still reads of it salvaged.

An SD card that loses power mid-write, or wears out, can leave a page torn or the file cut short. Then
``check`` (``PRAGMA quick_check``, bounded in time) or the open itself reports it, and ``Outbox.open``:

1. moves the file (and its WAL) aside, kept for a person: ``outbox.db.corrupt-20251128T224640Z``;
2. creates a new file and salvages into it what the old one still reads, block by block and row by row
   (a row that does not read, or does not make sense, is skipped; a region that does not read is stepped
   over): the channel keys, the incarnations, ``next_seq``, the drop counters, the readings, the events
   and the dead letters. Every salvaged row keeps its seq and its incarnation, so a row the central has
   already committed is recognised as such; rows are salvaged only when the incarnations table reads
   (otherwise no row could be attributed to the life that numbered it, and they stay in the kept file);
3. starts the new file's incarnation after the salvaged ones (a new file, for the central, when none
   could be salvaged);
4. appends an event: an equipment-fault alarm ``outbox_corrupt`` on ``<gateway>/_gateway/_outbox`` with
   the counts. Readings known to be lost (a block whose header read but whose data did not) are counted
   under the drop reason ``dropped_corrupt``.

Acquisition goes on; nothing waits for a person.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.outbox import blocks, budget, lineage
from edge.outbox.blocks import StoredReadings
from edge.outbox.transaction import immediate
from protocols.incarnations import LEGACY
from protocols.records import ReadingBlock

log = logging.getLogger(__name__)

CHECK_S = 30.0  # quick_check's time limit: past it the file is taken as sound (and used)
CHUNK_ROWS = 256
MAX_SKIPS = 64  # regions stepped over, per table
CORRUPT_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
MAX_KEY = (1 << 63) - 1


@dataclass
class Report:
    """What happened to a corrupt file, for the fault event and ``fieldwatch-edge status``."""

    problem: str
    moved_to: str
    readings: int = 0
    events: int = 0
    dead_letters: int = 0
    lost_readings: int = 0  # in blocks whose header read but whose data did not
    skipped_regions: int = 0  # parts of a table that did not read at all (their rows are not counted)
    attributed: bool = False  # the incarnations read, so rows could be salvaged
    next_seq: int = 1
    entries: list[lineage.Entry] = field(default_factory=list)

    def message(self) -> str:
        where = os.path.basename(self.moved_to)
        if not self.attributed:
            saved = "nothing could be salvaged (its incarnations do not read)"
        else:
            saved = (
                f"salvaged {self.readings} readings, {self.events} events, {self.dead_letters} dead letters"
            )
        lost = f"; {self.lost_readings} readings did not read" if self.lost_readings else ""
        skipped = f"; {self.skipped_regions} unreadable regions stepped over" if self.skipped_regions else ""
        return f"the outbox file was corrupt ({self.problem}): kept as {where}; {saved}{lost}{skipped}"


def is_corrupt(error: BaseException) -> bool:
    return (
        isinstance(error, sqlite3.DatabaseError) and getattr(error, "sqlite_errorcode", None) in CORRUPT_CODES
    )


def check(path: Path, timeout_s: float = CHECK_S) -> str | None:
    """The first problem ``PRAGMA quick_check`` finds in the file, or None (sound, or not checked in time)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    deadline = time.monotonic() + timeout_s
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        rows = conn.execute("PRAGMA quick_check(8)").fetchall()
    except sqlite3.OperationalError as e:
        if "interrupt" in str(e):
            log.warning("outbox %s: quick_check did not finish in %g s; using the file", path, timeout_s)
            return None
        if is_corrupt(e):
            return str(e)
        raise
    except sqlite3.DatabaseError as e:
        if is_corrupt(e):
            return str(e)
        raise
    finally:
        conn.close()
    found = [str(r[0]) for r in rows]
    return None if found == ["ok"] else " ".join(found)[:300].replace("\n", " ")


def move_aside(path: Path, now_s: float | None = None) -> Path:
    """Rename the file (and its WAL and shared memory) to ``<name>.corrupt-<UTC time>``; the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now_s is None else now_s))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(path) + suffix)
        if source.exists():
            os.replace(source, str(target) + suffix)
    return target


def salvage(old: Path, conn: sqlite3.Connection, report: Report) -> None:
    """Copy what reads of ``old`` into the new outbox (``conn``: freshly migrated, no transaction open)."""
    readable = _readable(old)
    try:
        src = sqlite3.connect(f"file:{readable}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.Error as e:
        log.warning("outbox %s: cannot open the corrupt file to salvage it: %s", old, e)
        return
    try:
        with immediate(conn):
            _salvage(src, conn, report)
    finally:
        src.close()
        if readable != old:
            for suffix in ("", "-wal", "-shm"):
                Path(str(readable) + suffix).unlink(missing_ok=True)


def _readable(old: Path) -> Path:
    """``old``, or, when the file is shorter than its header says (cut short), a copy padded with zero
    pages to that size: SQLite refuses every read of a short file, but reads the pages of a padded copy
    that are still there (the zero ones are skipped as unreadable)."""
    try:
        with old.open("rb") as f:
            header = f.read(100)
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
    except (OSError, ValueError):
        return old
    if not header.startswith(b"SQLite format 3\x00") or old.stat().st_size >= page_size * pages:
        return old
    padded = old.with_name(old.name + ".padded")
    shutil.copyfile(old, padded)
    with padded.open("r+b") as f:
        f.truncate(page_size * pages)
    wal = Path(str(old) + "-wal")
    if wal.exists():
        shutil.copyfile(wal, str(padded) + "-wal")
    return padded


def _salvage(src: sqlite3.Connection, conn: sqlite3.Connection, report: Report) -> None:
    entries = _entries(src)
    meta = dict(_rows(src, "SELECT name, value FROM meta", report) or [])
    old_next = meta.get("next_seq")
    top = 0
    if entries is not None:
        report.attributed = True
        conn.executemany(
            "INSERT INTO incarnations (n, id, first_seq, parent, created_ms, acked) "
            "VALUES (?, ?, ?, ?, 0, ?)",
            [
                (e.n, e.incarnation.id, e.incarnation.first_seq, e.incarnation.parent, int(e.acked))
                for e in entries
            ],
        )
        ids = _channels(src, conn, report)
        top = max(top, _readings(src, conn, ids, report), _events(src, conn, report))
        report.dead_letters = _dead_letters(src, conn, report)
    for reason, rows in _rows(src, "SELECT reason, rows FROM drops", report) or []:
        budget.count(conn, str(reason), int(rows))
    if report.lost_readings:
        budget.count(conn, "dropped_corrupt", report.lost_readings)
    next_seq = max(int(old_next) if isinstance(old_next, int) else 1, top + 1)
    report.next_seq = next_seq
    conn.execute("UPDATE meta SET value = ? WHERE name = 'next_seq'", (next_seq,))
    if isinstance(meta.get("boots"), int):
        conn.execute("UPDATE meta SET value = ? WHERE name = 'boots'", (meta["boots"],))


def _rows(src: sqlite3.Connection, sql: str, report: Report) -> list[tuple[Any, ...]] | None:
    try:
        return src.execute(sql).fetchall()
    except sqlite3.DatabaseError:
        report.skipped_regions += 1
        return None


def _entries(src: sqlite3.Connection) -> list[lineage.Entry] | None:
    """The old file's incarnations; the legacy one for a file from before them; None when they do not read."""
    try:
        found = src.execute("SELECT 1 FROM sqlite_master WHERE name = 'incarnations'").fetchone()
        if found is None:
            return [lineage.Entry(1, LEGACY, True)]
        return lineage.load(src)
    except sqlite3.DatabaseError:
        return None


def _channels(src: sqlite3.Connection, conn: sqlite3.Connection, report: Report) -> dict[int, int]:
    """Old channel id -> new channel id, for every key that reads (the key is what identifies a channel)."""
    out: dict[int, int] = {}
    for old_id, key in _walk(src, "SELECT id, key FROM channels WHERE id > ? ORDER BY id LIMIT ?", report):
        conn.execute("INSERT OR IGNORE INTO channels (key) VALUES (?)", (key,))
        out[int(old_id)] = int(conn.execute("SELECT id FROM channels WHERE key = ?", (key,)).fetchone()[0])
    return out


def _walk(src: sqlite3.Connection, sql: str, report: Report) -> list[tuple[Any, ...]]:
    """Every row of ``sql`` (keyed by its first column, ``> ?`` and ``LIMIT ?``) that reads; a chunk that
    does not read is read row by row, and a row that does not read is stepped over (by growing steps)."""
    out: list[tuple[Any, ...]] = []
    after, skips = 0, 0
    while skips <= MAX_SKIPS:
        try:
            chunk = src.execute(sql, (after, CHUNK_ROWS)).fetchall()
        except sqlite3.DatabaseError:
            chunk = None
        if chunk is None:
            row, after, skipped = _step_over(src, sql, after)
            skips += skipped
            report.skipped_regions += skipped
            if row is None:
                break
            out.append(row)
            continue
        out += chunk
        if len(chunk) < CHUNK_ROWS:
            break
        after = int(chunk[-1][0])
    return out


def _step_over(src: sqlite3.Connection, sql: str, after: int) -> tuple[tuple[Any, ...] | None, int, int]:
    """The next row after ``after`` that reads (one at a time, stepping further on each failure); (row or
    None, its key, regions stepped over)."""
    step, skipped = 1, 0
    key = after
    while skipped <= MAX_SKIPS and key < MAX_KEY:
        try:
            rows = src.execute(sql, (key, 1)).fetchall()
        except sqlite3.DatabaseError:
            skipped += 1
            key, step = key + step, step * 2
            continue
        if not rows:
            return None, key, skipped
        return rows[0], int(rows[0][0]), skipped
    return None, key, skipped


def _readings(src: sqlite3.Connection, conn: sqlite3.Connection, ids: dict[int, int], report: Report) -> int:
    """Copy the blocks that read and make sense (channel ids mapped); the highest seq copied."""
    top = 0
    sql = "SELECT id, first_seq, last_seq, rows, data FROM reading_blocks WHERE id > ? ORDER BY id LIMIT ?"
    for row in _walk(src, sql, report):
        stored = _block(row, ids)
        if stored is None:
            report.lost_readings += row[3] if isinstance(row[3], int) else 0
            continue
        ok = ReadingBlock(
            np.array([ids[int(c)] for c in stored.block.channel], dtype=np.int32),
            stored.block.ts_ms, stored.block.value, stored.block.quality,
        )  # fmt: skip
        blocks.insert(conn, stored.seq, ok, compress=True)
        report.readings += len(stored)
        top = max(top, int(stored.seq[-1]))
    return top


def _block(row: tuple[Any, ...], ids: dict[int, int]) -> StoredReadings | None:
    """A stored block (id, first_seq, last_seq, rows, data) if it unpacks and makes sense, else None."""
    block_id, first, last, rows, data = row
    try:
        stored = blocks.unpack(int(block_id), int(rows), data)
    except Exception:  # a torn block: zlib or numpy refuse it
        return None
    seq = stored.seq
    sane = len(seq) == rows > 0 and seq[0] == first and seq[-1] == last and bool(np.all(np.diff(seq) > 0))
    known = all(int(c) in ids for c in np.unique(stored.block.channel))
    return stored if sane and known else None


def _events(src: sqlite3.Connection, conn: sqlite3.Connection, report: Report) -> int:
    sql = (
        "SELECT seq, channel, ts_ms, rule, level, previous_level, value, message, failure_ts_ms, r2, points "
        "FROM events WHERE seq > ? ORDER BY seq LIMIT ?"
    )
    rows = [r for r in _walk(src, sql, report) if isinstance(r[0], int) and isinstance(r[1], str)]
    conn.executemany(
        "INSERT OR IGNORE INTO events (seq, channel, ts_ms, rule, level, previous_level, value, message, "
        "failure_ts_ms, r2, points) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    report.events = len(rows)
    return max((int(r[0]) for r in rows), default=0)


def _dead_letters(src: sqlite3.Connection, conn: sqlite3.Connection, report: Report) -> int:
    sql = (
        "SELECT id, created_ms, batch_id, error, seq_ranges, rows, payload FROM dead_letters WHERE id > ? "
        "ORDER BY id LIMIT ?"
    )
    rows = _walk(src, sql, report)
    conn.executemany(
        "INSERT INTO dead_letters (id, created_ms, batch_id, error, seq_ranges, rows, payload) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)
