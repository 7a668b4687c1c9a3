"""The outbox's incarnations: one per open, each row in the one that numbered it, empty ones forgotten."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from edge.outbox import schema
from protocols.incarnations import Incarnation
from tests.edge.outbox.helpers import block, event, open_outbox


def entries(path: Path) -> list[tuple[str, int, str | None, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, first_seq, parent, acked FROM incarnations ORDER BY n").fetchall()
    finally:
        conn.close()


def test_every_open_starts_an_incarnation_and_forgets_the_empty_ones(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    first = open_outbox(path)
    a = first.lineage.current
    assert (a.first_seq, a.parent, len(a.id)) == (1, None, 32)
    first.append_readings(block(1, 100, 10))
    first.close()

    second = open_outbox(path)
    b = second.lineage.current
    assert (b.first_seq, b.parent) == (101, a.id)
    second.close()  # numbered nothing
    third = open_outbox(path)
    c = third.lineage.current
    assert [e[:3] for e in entries(path)] == [(a.id, 1, None), (c.id, 101, a.id)], "the empty one stayed"
    assert third.lineage.listed(np.array([5, 50])) == [a, c]
    third.append_event(event("gw/dev1/p", 1.0))
    third.flush().result(timeout=10)
    # acknowledged and empty: forgotten at the next open, its child keeps it as parent (the central knows it)
    third.acknowledge([(1, 100)], acked_through=100, now_ms=0, incarnations_acked=[a.id]).result(timeout=10)
    third.close()
    fourth = open_outbox(path)
    d = fourth.lineage.current
    assert [e[:3] for e in entries(path)] == [(c.id, 101, a.id), (d.id, 102, c.id)]
    assert fourth.lineage.listed(np.array([101])) == [Incarnation(c.id, 101, a.id), d]
    fourth.close()


def test_a_file_from_before_incarnations_gets_the_legacy_one(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    schema.migrations.apply(db, stop_before="0003_incarnations")
    db.execute("UPDATE meta SET value = 501 WHERE name = 'next_seq'")  # it had numbered 500 rows
    db.execute(
        "INSERT INTO events (seq, channel, ts_ms, rule, level, previous_level, message) "
        "VALUES (500, 'gw/dev1/p', 1700000000000, 'high', 2, 0, 'waiting')"
    )
    db.conn.commit()
    db.close()
    outbox = open_outbox(path)
    legacy = Incarnation("", 1, None)
    assert [e[:3] for e in entries(path)] == [("", 1, None), (outbox.lineage.current.id, 501, "")]
    assert outbox.lineage.listed(np.array([500])) == [legacy, outbox.lineage.current]
    outbox.acknowledge([(500, 500)], acked_through=500, now_ms=0).result(timeout=10)
    outbox.close()
    again = open_outbox(path)  # nothing is owned now: only the new one is left, its parent still ""
    assert [e[1:3] for e in entries(path)] == [(501, "")]
    again.close()
