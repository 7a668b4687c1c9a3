"""The outbox under kill -9: a child appends under load and is killed at random instants, a few per run.

After each kill the file must open, pass ``integrity_check``, hold every row the child saw committed
(and none it saw deleted), with ``value == seq`` (so no row was torn, reordered or renumbered), seqs
that never go back across restarts, and a stored ``next_seq`` past every row.
"""

from __future__ import annotations

import itertools
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.outbox import blocks
from edge.outbox.reader import MAX_SEQ

ROOT = Path(__file__).resolve().parents[3]
KILLS = 6
READY_TIMEOUT_S = 30.0


class Child:
    """The worker, with what it has said so far (read line by line until a deadline)."""

    def __init__(self, path: Path, synchronous: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.edge.outbox.kill_worker", str(path), synchronous],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.start = -1
        self.committed = 0
        self.acked = 0

    def read_until_committed(self, timeout_s: float) -> None:
        """Read its lines until it has committed past where it started."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self._note(line)
            if self.committed > self.start >= 0:
                return
        raise AssertionError(f"worker did not commit: {self.proc.stderr.read() if self.proc.stderr else ''}")

    def kill_and_collect(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        out, err = self.proc.communicate(timeout=30)
        for line in out.splitlines():
            self._note(line)
        assert self.proc.returncode == -signal.SIGKILL, err

    def _note(self, line: str) -> None:
        word, _, number = line.strip().partition(" ")
        if word == "start":
            self.start = int(number)
        elif word == "committed":
            self.committed = max(self.committed, int(number))
        elif word == "acked":
            self.acked = max(self.acked, int(number))


def check_file(path: Path, child: Child) -> int:
    """The file after a kill: sound, complete, ordered. Returns the stored next_seq."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = blocks.readings(conn, 0, MAX_SEQ, limit=1 << 40)  # a block of readings per row
        readings = list(zip(stored.seq.tolist(), stored.block.value.tolist(), strict=True))
        events = conn.execute("SELECT seq, value FROM events ORDER BY seq").fetchall()
        next_seq = int(conn.execute("SELECT value FROM meta WHERE name = 'next_seq'").fetchone()[0])
    finally:
        conn.close()
    rows = sorted(readings + events)
    seqs = [s for s, _ in rows]
    assert all(a < b for a, b in itertools.pairwise(seqs)), "a seq appears twice"
    assert all(v == s for s, v in rows), "a row's value is not its seq: torn, reordered or renumbered"
    assert seqs, "the outbox is empty"
    assert seqs[-1] < next_seq, f"next_seq {next_seq} does not pass the last row {seqs[-1]}"
    assert seqs[-1] >= child.committed, f"committed through {child.committed}, the file ends at {seqs[-1]}"
    assert seqs[0] > child.acked, f"rows through {child.acked} were acknowledged, {seqs[0]} is still there"
    # every seq between the oldest kept row and the end is there: nothing lost in the middle
    assert seqs == list(range(seqs[0], seqs[-1] + 1))
    return next_seq


@pytest.mark.slow
@pytest.mark.parametrize("synchronous", ["full", "normal"])
def test_outbox_survives_kill9_at_random_instants(tmp_path: Path, synchronous: str) -> None:
    path = tmp_path / "outbox.db"
    rng = random.Random()
    last_next_seq = 1
    for _ in range(KILLS // 2):
        child = Child(path, synchronous)
        child.read_until_committed(READY_TIMEOUT_S)
        assert child.start == last_next_seq - 1, "the worker did not resume where the file said"
        time.sleep(rng.uniform(0.0, 0.4))
        child.kill_and_collect()
        next_seq = check_file(path, child)
        assert next_seq >= last_next_seq, "seq went back across a crash"
        last_next_seq = next_seq
