"""Hourly rollups against the obvious computation, and the migration that backfills them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from central.store.rollup import HOUR_MS, hourly, merge
from central.store.sqlite import SqliteStore
from central.store.sqlite_schema import migrations
from tests.central.builders import T0, key


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 5 * HOUR_MS), st.floats(-1e6, 1e6) | st.just(np.nan)),
        max_size=80,
    )
)
def test_hourly_matches_a_reference(rows: list[tuple[int, int, float]]) -> None:
    channel = np.array([r[0] for r in rows], dtype=np.int64)
    ts = np.array([T0 + r[1] for r in rows], dtype=np.int64)
    seq = np.arange(1, len(rows) + 1, dtype=np.int64)
    value = np.array([r[2] for r in rows], dtype=np.float64)
    got = {(r[0], r[1]): r for r in hourly(channel, ts, seq, value)}
    want: dict[tuple[int, int], tuple[int, float, float, float, tuple[int, int, float]]] = {}
    for c, t, s, v in zip(channel.tolist(), ts.tolist(), seq.tolist(), value.tolist(), strict=True):
        if np.isnan(v):
            continue
        k = (c, t // HOUR_MS * HOUR_MS)
        n, total, lo, hi, last = want.get(k, (0, 0.0, np.inf, -np.inf, (-1, -1, 0.0)))
        want[k] = (n + 1, total + v, min(lo, v), max(hi, v), max(last, (t, s, v)))
    assert set(got) == set(want)
    for k, (n, total, lo, hi, (last_ts, last_seq, last_value)) in want.items():
        row = got[k]
        assert (row[2], row[4], row[5], row[6], row[7], row[8]) == (n, lo, hi, last_ts, last_seq, last_value)
        assert np.isclose(row[3], total, rtol=1e-9, atol=1e-6)


def test_merge_hours_into_days() -> None:
    day = 86_400_000
    rows = [(0, 2, 4.0, 1.0, 3.0, 100, 1, 3.0), (HOUR_MS, 1, 9.0, 9.0, 9.0, HOUR_MS + 5, 2, 9.0),
            (day, 3, 3.0, 0.5, 2.0, day + 7, 3, 0.5)]  # fmt: skip
    assert merge(rows, day) == [(0, 1.0, 9.0, 13.0 / 3, 9.0, 3), (day, 0.5, 2.0, 1.0, 0.5, 3)]
    assert merge([], day) == []


def test_the_rollup_migration_backfills_existing_readings(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="0002_rollup_hour")  # a database made before rollups existed
    db.execute(
        "INSERT INTO channels (id, key, gateway_id, device, point, unit, profile, first_seen_ms) "
        "VALUES (1, ?, 'gw-1', 'dev-1', 'p0', '', '', 0)",
        [key("gw-1", "dev-1", "p0")],
    )
    db.conn.executemany(
        "INSERT INTO readings (channel_id, ts_ms, seq, value, quality) VALUES (1, ?, ?, ?, 0)",
        [(T0 + s * 600_000, s, float(s)) for s in range(1, 13)],
    )
    db.conn.commit()
    db.close()
    store = SqliteStore(path, threads=1)
    try:
        assert store.migrate()[:2] == ["0002_rollup_hour", "0003_incarnations_and_site_owners"]  # and later
        got = store.history(key("gw-1", "dev-1", "p0"), T0, T0 + 3 * HOUR_MS, HOUR_MS)
        assert sum(b.count for b in got) == 12
        assert got[-1].last == 12.0 and got[0].min == 1.0
    finally:
        store.close()
