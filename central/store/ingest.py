"""Committing one batch, in one transaction, the same SQL on SQLite and PostgreSQL.

The order matters:

1. upsert the gateway row first: on PostgreSQL that takes the row's lock until commit, so two central
   processes that receive batches of one gateway at once take turns (different gateways run in parallel);
2. the site and the channels it names (registered on first sight, metadata updated when sent);
3. the ledger (``central.store.ledger``): which of the batch's seqs are new;
4. the new readings (bulk insert), the latest value per channel, and the hourly rollups;
5. the new events, in seq order, through the alarm lifecycle (``central.alarms``);
6. the heartbeat, and the end of the gateway's silence if it was silent;
7. the merged ledger ranges and ``acked_through``.

A resent or overlapping batch, in any order, adds nothing twice: step 3 filters every row by seq.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from central.store import alarm_sql, channels_sql, ledger, queries, rollup
from central.store.rows import GatewayChange, IngestOutcome
from protocols.wire import Batch

if TYPE_CHECKING:
    from central.store.db import Db

ONLINE = "online"
SILENT = "silent"


def ingest(db: Db, batch: Batch, now_ms: int, cache: dict[str, int], added: dict[str, int]) -> IngestOutcome:
    gw = batch.gateway
    ranges = batch.seq_ranges()
    status, acked_through = _upsert_gateway(db, gw, now_ms, ranges[-1][1] if ranges else 0)
    if batch.site is not None:
        _put_site(db, batch, now_ms)
    keys = list(dict.fromkeys([*batch.keys, *(e.channel for e in batch.events)]))
    meta = {c.key: c for c in batch.channels}
    ids = channels_sql.ensure_channels(db, keys, cache=cache, added=added, now_ms=now_ms, meta=meta)

    stored: list[ledger.Range] = []
    if ranges:
        lo, hi = ledger.touching(ranges)
        stored = [
            (int(a), int(b))
            for a, b in db.all(
                "SELECT first_seq, last_seq FROM seq_ranges WHERE gateway_id = ? AND last_seq >= ? "
                "AND first_seq <= ? ORDER BY first_seq",
                (gw, lo, hi),
            )
        ]
    readings_added = _insert_readings(db, batch, ids, stored)
    new_events = [e for e in batch.events if not any(a <= e.seq <= b for a, b in stored)]
    changed = alarm_sql.apply_events(db, sorted(new_events, key=lambda e: e.seq), ids, gw, now_ms)

    gateway_changes = []
    if batch.heartbeat is not None:
        _store_heartbeat(db, gw, batch.heartbeat, now_ms)
    if status == SILENT:
        db.run("UPDATE gateways SET status = ? WHERE id = ?", (ONLINE, gw))
        changed += alarm_sql.clear_silence(db, gw, now_ms)
        gateway_changes.append(GatewayChange(gw, ONLINE, now_ms))
    if ranges:
        _write_ranges(db, gw, stored, ranges)
    return IngestOutcome(
        committed=tuple(ranges),
        acked_through=acked_through,
        readings_added=readings_added,
        readings_repeated=len(batch.readings) - readings_added,
        events_added=len(new_events),
        events_repeated=len(batch.events) - len(new_events),
        alarm_changes=alarm_sql.alarms_by_id(db, sorted(set(changed))),
        gateway_changes=gateway_changes,
    )


def _upsert_gateway(db: Db, gw: str, now_ms: int, top_seq: int) -> tuple[str, int]:
    """(status before this batch, acked_through after it). The batch commits all its seqs or nothing, so
    the new ``acked_through`` is known before the rows are written."""
    row = db.one(
        "INSERT INTO gateways (id, status, first_seen_ms, last_seen_ms, acked_through) "
        "VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms, acked_through = "
        "CASE WHEN excluded.acked_through > gateways.acked_through THEN excluded.acked_through "
        "ELSE gateways.acked_through END "
        "RETURNING status, acked_through",
        (gw, ONLINE, now_ms, now_ms, top_seq),
    )
    assert row is not None
    return str(row[0]), int(row[1])


def _put_site(db: Db, batch: Batch, now_ms: int) -> None:
    site = batch.site
    assert site is not None
    queries.put_site(db, site, now_ms)
    db.run("UPDATE gateways SET site_id = ? WHERE id = ?", (site.id, batch.gateway))


def _insert_readings(db: Db, batch: Batch, ids: dict[str, int], stored: list[ledger.Range]) -> int:
    n = len(batch.readings)
    if n == 0:
        return 0
    r = batch.readings
    key_ids = np.array([ids[k] for k in batch.keys], dtype=np.int64)
    new = ledger.uncommitted(batch.reading_seq, stored)
    if not new.all():
        idx = np.flatnonzero(new)
        if len(idx) == 0:
            return 0
        channel_id, ts, seq = key_ids[r.channel[idx]], r.ts_ms[idx], batch.reading_seq[idx]
        value, quality = r.value[idx], r.quality[idx].astype(np.int64)
    else:
        channel_id, ts, seq = key_ids[r.channel], r.ts_ms, batch.reading_seq
        value, quality = r.value, r.quality.astype(np.int64)
    db.insert_readings(channel_id, ts, seq, value, quality)
    _upsert_latest(db, (channel_id, ts, seq, value, quality))
    db.upsert_rollups(rollup.hourly(channel_id, ts, seq, value))
    return len(seq)


def _upsert_latest(db: Db, rows: tuple[Any, Any, Any, Any, Any]) -> None:
    channel_id, ts, seq, value, quality = rows
    order = np.lexsort((seq, ts, channel_id))  # by channel, then time, then seq
    c = channel_id[order]
    last = order[np.flatnonzero(np.append(c[1:] != c[:-1], True))]  # the newest row of each channel
    values = [None if math.isnan(v) else v for v in value[last].tolist()]
    db.upsert_latest(
        list(
            zip(
                channel_id[last].tolist(), ts[last].tolist(), seq[last].tolist(), values,
                quality[last].tolist(), strict=True,
            )
        ),
    )  # fmt: skip


def _store_heartbeat(db: Db, gw: str, heartbeat: dict[str, Any], now_ms: int) -> None:
    interval = heartbeat.get("heartbeat_interval_s")
    interval_s = float(interval) if isinstance(interval, int | float) and interval > 0 else None
    version = heartbeat.get("version")
    db.run(
        "UPDATE gateways SET heartbeat = ?, last_heartbeat_ms = ?, version = COALESCE(?, version), "
        "heartbeat_interval_s = COALESCE(?, heartbeat_interval_s) WHERE id = ?",
        (
            orjson.dumps(heartbeat, option=orjson.OPT_NON_STR_KEYS).decode(),
            now_ms,
            str(version) if version is not None else None,
            interval_s,
            gw,
        ),
    )


def _write_ranges(db: Db, gw: str, stored: list[ledger.Range], ranges: list[ledger.Range]) -> None:
    merged = ledger.merge(stored + ranges)
    if merged == stored:
        return  # a resend: nothing new
    if len(stored) == 1 and len(merged) == 1 and merged[0][0] == stored[0][0]:
        # the common case, the next batch in order: one range grows
        db.run(
            "UPDATE seq_ranges SET last_seq = ? WHERE gateway_id = ? AND first_seq = ?",
            (merged[0][1], gw, stored[0][0]),
        )
        return
    db.many("DELETE FROM seq_ranges WHERE gateway_id = ? AND first_seq = ?", [(gw, a) for a, _ in stored])
    db.many(
        "INSERT INTO seq_ranges (gateway_id, first_seq, last_seq) VALUES (?, ?, ?)",
        [(gw, a, b) for a, b in merged],
    )
