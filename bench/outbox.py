"""The outbox: append and drain rates at synchronous=FULL, with and without a slow fsync (an SD card).

    .venv/bin/python bench/outbox.py [--rows 100000] [--fsync-delay-ms 2]

Append: ``--rows`` readings in blocks of 50 (one Modbus read of 50 registers, as acquisition hands them
over) go through the real path, ``Outbox.append_readings`` -> the writer thread -> batched commits of
``commit_rows`` (500), until ``flush()`` returns. Baselines in the same run, same schema, same pragmas:

- ``bare executemany``: plain sqlite3, the rows prepared beforehand as tuples, ``executemany`` and a commit
  every 500 rows: the same number of fsyncs as the outbox, and nothing else. Target: outbox >= 0.5 of it;
- ``bare, commit per block``: the same, committing every 50-row block: what a writer without batching pays.

Drain: the real forwarder (select events/live/backlog, build the wire batch, orjson, gzip, then delete the
acknowledged ranges through the writer) against an in-process uplink that acknowledges at once, so the
figure is the edge's side only.

Slow fsync: the whole measurement runs again in a child process with a tiny LD_PRELOAD library (compiled
here with the system's C compiler) that sleeps ``--fsync-delay-ms`` in every ``fsync``/``fdatasync``. The
outbox's rate should hold (it fsyncs once per 500 rows); the commit-per-block baseline should collapse.

Each case runs three times, interleaved with the others, and the best time of each is kept: on a shared
machine the disk's fsync latency wanders by a factor of several within seconds. Figures are wall-clock on
a shared 2-core machine: compare the columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge.forwarder import Forwarder
from edge.outbox import Outbox
from edge.outbox.schema import INITIAL
from edge.uplink.base import Outgoing
from protocols.records import ReadingBlock
from protocols.site import Forwarding
from protocols.site import Outbox as OutboxSettings
from protocols.wire import Ack, ChannelMeta

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "outbox.json"
BLOCK_ROWS = 50
COMMIT_ROWS = 500
CHANNELS = 500
ROUNDS = 3
TS0_MS = 1_764_370_000_000

SHIM_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
static useconds_t delay(void) { const char *s = getenv("FSYNC_DELAY_US"); return s ? atoi(s) : 2000; }
int fsync(int fd) {
    static int (*real)(int) = 0;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    usleep(delay());
    return real(fd);
}
int fdatasync(int fd) {
    static int (*real)(int) = 0;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    usleep(delay());
    return real(fd);
}
"""


def blocks(rows: int) -> list[ReadingBlock]:
    out = []
    for first in range(0, rows, BLOCK_ROWS):
        n = min(BLOCK_ROWS, rows - first)
        i = np.arange(first, first + n)
        out.append(ReadingBlock.of(i % CHANNELS, TS0_MS + i * 10, 1000.0 + (i % 97) * 0.25, np.zeros(n)))
    return out


def channel_metas() -> list[ChannelMeta]:
    return [ChannelMeta(f"bench/dev{i // 50}/r{i % 50}", "mm", "bench") for i in range(CHANNELS)]


def settings() -> OutboxSettings:
    return OutboxSettings(synchronous="full", commit_rows=COMMIT_ROWS, commit_interval_ms=200)


def outbox_append(folder: Path, data: list[ReadingBlock]) -> float:
    """Seconds from the first append to the flush that commits the last row."""
    outbox = Outbox.open(folder / "append.db", settings(), channels=channel_metas())
    start = time.perf_counter()
    for block in data:
        outbox.append_readings(block)
    outbox.flush().result(timeout=600)
    seconds = time.perf_counter() - start
    assert outbox.produced_through == sum(len(b) for b in data)
    outbox.close()
    return seconds


def bare(folder: Path, data: list[ReadingBlock], commit_rows: int) -> float:
    """Plain sqlite3, same schema and pragmas, rows prepared beforehand; a commit every ``commit_rows``."""
    path = folder / f"bare{commit_rows}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    for statement in INITIAL.split(";"):
        if statement.strip():
            conn.execute(statement)
    rows: list[tuple[Any, ...]] = []
    seq = 1
    for b in data:
        for c, t, v, q in zip(
            b.channel.tolist(), b.ts_ms.tolist(), b.value.tolist(), b.quality.tolist(), strict=True
        ):
            rows.append((seq, c + 1, t, v, q))
            seq += 1
    start = time.perf_counter()
    for i in range(0, len(rows), commit_rows):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?)", rows[i : i + commit_rows])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


class InstantUplink:
    """Acknowledges every batch at once, in process: the drain measures the edge's side only."""

    name = "instant"
    on_stray_ack: Callable[[Ack], None] | None = None

    def __init__(self) -> None:
        self.batches = 0
        self.bytes = 0

    async def run(self) -> None:
        return

    async def send(self, batch: Outgoing) -> Ack:
        self.batches += 1
        self.bytes += len(batch.payload)
        through = batch.seq_ranges[-1][1] if batch.seq_ranges else 0
        return Ack("bench", batch.batch_id, through, batch.seq_ranges)

    def statistics(self) -> dict[str, Any]:
        return {}

    async def aclose(self) -> None:
        return


async def drain(folder: Path, data: list[ReadingBlock]) -> tuple[float, InstantUplink]:
    outbox = Outbox.open(folder / "drain.db", settings(), channels=channel_metas())
    for block in data:
        outbox.append_readings(block)
    outbox.flush().result(timeout=600)
    uplink = InstantUplink()
    forwarder = Forwarder(outbox, uplink, gateway="bench", settings=Forwarding(
        max_batch_rows=5000, backlog_rows_per_s=1e9, send_interval_ms=0))  # fmt: skip
    start = time.perf_counter()
    task = asyncio.create_task(forwarder.run())
    while outbox.writer.reading_rows and not task.done():  # noqa: ASYNC110 - the writer thread's count
        await asyncio.sleep(0.005)
    seconds = time.perf_counter() - start
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    outbox.close()
    return seconds, uplink


def measure(rows: int, rounds: int = ROUNDS) -> dict[str, Any]:
    """Each case ``rounds`` times, interleaved, the best of each kept: the disk's fsync latency on a shared
    machine wanders by a factor of several within seconds, and interleaving gives every case the same
    chances."""
    data = blocks(rows)
    ours, batched, per_block, drained = [], [], [], []
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
        for r in range(rounds):
            folder = Path(tmp) / str(r)
            folder.mkdir()
            ours.append(outbox_append(folder, data))
            batched.append(bare(folder, data, COMMIT_ROWS))
            per_block.append(bare(folder, data, BLOCK_ROWS))
            seconds, uplink = asyncio.run(drain(folder, data))
            drained.append(seconds)
    return {
        "rows": rows,
        "rounds": rounds,
        "outbox_append_rows_per_s": rows / min(ours),
        "bare_executemany_rows_per_s": rows / min(batched),
        "bare_commit_per_block_rows_per_s": rows / min(per_block),
        "append_ratio": min(batched) / min(ours),
        "drain_rows_per_s": rows / min(drained),
        "drain_batches": uplink.batches,
        "drain_wire_bytes_per_row": uplink.bytes / rows,
        "all_seconds": {"outbox": ours, "bare": batched, "per_block": per_block, "drain": drained},
    }


def with_slow_fsync(rows: int, delay_ms: float) -> dict[str, Any] | str:
    """The same measurement in a child whose fsyncs sleep ``delay_ms``; a reason string if impossible."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return "no C compiler to build the fsync-delay library"
    with tempfile.TemporaryDirectory() as tmp:
        src, lib = Path(tmp) / "slowfsync.c", Path(tmp) / "slowfsync.so"
        src.write_text(SHIM_C)
        built = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(lib), str(src), "-ldl"],
                               capture_output=True, text=True, check=False)  # fmt: skip
        if built.returncode != 0:
            return f"could not build the fsync-delay library: {built.stderr.strip()[:200]}"
        env = {**os.environ, "LD_PRELOAD": str(lib), "FSYNC_DELAY_US": str(int(delay_ms * 1000))}
        done = subprocess.run([sys.executable, __file__, "--rows", str(rows), "--child"], env=env,
                              capture_output=True, text=True, check=False, timeout=1800)  # fmt: skip
    if done.returncode != 0:
        return f"the slow-fsync run failed: {done.stderr.strip()[-500:]}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def table(results: dict[str, Any]) -> str:
    lines = [f"{'':34} {'fsync as is':>14} {'fsync +' + str(results['fsync_delay_ms']) + ' ms':>14}"]
    normal, slow = results["normal"], results["slow_fsync"]
    for key, label in (
        ("outbox_append_rows_per_s", "outbox append (rows/s)"),
        ("bare_executemany_rows_per_s", "bare executemany, 500/commit"),
        ("append_ratio", "  ratio outbox / bare (>= 0.5)"),
        ("bare_commit_per_block_rows_per_s", "bare, commit per 50-row block"),
        ("drain_rows_per_s", "drain through forwarder (rows/s)"),
        ("drain_wire_bytes_per_row", "  wire bytes per row (gzip)"),
    ):
        other = slow.get(key) if isinstance(slow, dict) else None
        fmt = "{:>14.2f}" if "ratio" in key or "bytes" in key else "{:>14,.0f}"
        lines.append(
            f"{label:34} {fmt.format(normal[key])} {fmt.format(other) if other is not None else '-':>14}"
        )
    if not isinstance(slow, dict):
        lines.append(f"slow fsync: {slow}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--fsync-delay-ms", type=float, default=2.0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.rows)))
        return
    results = {
        "fsync_delay_ms": args.fsync_delay_ms,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "normal": measure(args.rows),
        "slow_fsync": with_slow_fsync(args.rows, args.fsync_delay_ms),
    }
    print(table(results))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {RESULTS.relative_to(ROOT)} (load average {results['load_average']})")


if __name__ == "__main__":
    main()
