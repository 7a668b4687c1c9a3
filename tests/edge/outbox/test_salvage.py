"""A corrupt outbox at open: moved aside, what reads salvaged with its seqs and incarnations, a fault event,
and the outbox goes on. Files damaged as SD cards damage them: a page overwritten, the file cut short,
the header gone."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from edge.outbox import Outbox, blocks
from edge.outbox.reader import MAX_SEQ
from edge.outbox.salvage import check
from tests.cli_runner import run_cli
from tests.edge.agent.sites import write_site
from tests.edge.outbox.helpers import block, event, open_outbox
from tests.support.ports import free_port

NCHANNELS = 10
PAGE = 4096


def make(path: Path) -> tuple[dict[int, float], list[int], str]:
    """An outbox of 100 000 readings and 10 events, closed; (seq -> value, event seqs, its incarnation)."""
    outbox = open_outbox(path, nchannels=NCHANNELS)
    for i in range(200):
        outbox.append_readings(block(1 + i * 500, 500, NCHANNELS))
        if i % 20 == 0:
            outbox.append_event(event(f"gw/dev{i % NCHANNELS}/p", float(i)))
    outbox.flush().result(timeout=30)
    incarnation = outbox.lineage.current.id
    outbox.close()
    readings, events = contents(path)
    return readings, events, incarnation


def contents(path: Path) -> tuple[dict[int, float], list[int]]:
    conn = sqlite3.connect(path)
    try:
        stored = blocks.readings(conn, 0, MAX_SEQ, limit=1 << 40)
        events = [int(s) for (s,) in conn.execute("SELECT seq FROM events ORDER BY seq")]
    finally:
        conn.close()
    return dict(zip(stored.seq.tolist(), stored.block.value.tolist(), strict=True)), events


def damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        if how == "page":
            f.seek(PAGE * (size // PAGE // 2))
            f.write(np.random.default_rng(7).bytes(PAGE))
        elif how == "truncated":
            f.truncate(size // 2)
        else:  # the header: not a database any more
            f.seek(0)
            f.write(b"\xff" * 100)


@pytest.mark.parametrize("how", ["page", "truncated", "header"])
def test_a_corrupt_outbox_is_moved_aside_salvaged_and_the_outbox_goes_on(tmp_path: Path, how: str) -> None:
    path = tmp_path / "o.db"
    readings, events, incarnation = make(path)
    damage(path, how)
    assert check(path) is not None, "the damage went unnoticed"

    outbox = open_outbox(path, nchannels=NCHANNELS)  # no exception: a fault the gateway survives
    outbox.flush().result(timeout=10)
    report = outbox.corrupt
    assert report is not None
    kept = Path(report.moved_to)
    assert kept.exists() and kept.name.startswith("o.db.corrupt-") and kept.stat().st_size > 0
    assert check(path) is None, "the new file is not sound"
    got, got_events = contents(path)
    assert all(readings[s] == v for s, v in got.items()), "a salvaged reading changed its seq or value"
    assert set(got_events) - {max(got_events)} <= set(events)  # the last is the fault event
    if how == "header":
        assert not report.attributed and got == {} and outbox.lineage.current.parent is None
    else:
        assert report.attributed and outbox.lineage.current.parent == incarnation
        assert len(got) >= len(readings) // 4, report.message()
        assert (report.readings, report.events) == (len(got), len(got_events) - 1)
        # the new incarnation starts after every seq the old file numbered
        assert outbox.lineage.current.first_seq == max(*readings, *events) + 1
    # the fault event is the first row of this run, and the outbox takes new rows
    fault = outbox.reader().events(limit=1000)[-1]
    assert (fault.channel, fault.rule, fault.level) == ("gw/_gateway/_outbox", "outbox_corrupt", 3)
    assert kept.name in fault.message
    outbox.append_readings(block(10**6, 500, NCHANNELS))
    outbox.flush().result(timeout=10)
    assert outbox.statistics()["readings"] == len(got) + 500
    assert outbox.statistics()["drops"].get("dropped_corrupt", 0) == report.lost_readings
    outbox.close()
    again: Outbox = open_outbox(path, nchannels=NCHANNELS)
    assert again.corrupt is None
    again.close()


def test_status_says_a_corrupt_outbox_is_corrupt(tmp_path: Path) -> None:
    site = write_site(tmp_path, modbus_port=free_port(), uplink='{type: http, url: "http://127.0.0.1:9"}')
    make(tmp_path / "outbox.db")
    assert run_cli(["status", str(site)]).status == 0
    damage(tmp_path / "outbox.db", "page")
    result = run_cli(["status", str(site)])
    assert result.status == 1
    assert "is corrupt" in result.stderr and "quick_check" not in result.stdout
    os.unlink(tmp_path / "outbox.db")
