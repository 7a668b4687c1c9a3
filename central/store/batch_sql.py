"""Committing one batch, in one transaction, the same SQL on SQLite and PostgreSQL.

The order matters:

1. upsert the gateway row first: on PostgreSQL that takes the row's lock until commit, so two central
   processes that receive batches of one gateway at once take turns (different gateways run in parallel);
2. the batch's outbox incarnations (``central.store.incarnations``): each row's epoch, and a replaced or
   restored outbox noticed (its fault alarm below);
3. the site, if the gateway may write it (``queries.gateway_site``: its own or a new one; an admin's
   settings win), and the channels it names (registered on first sight, metadata updated when sent);
4. the ledger (``central.store.ledger``), per epoch: which of the batch's seqs are new;
5. the new readings (bulk insert), the latest value per channel, and the hourly rollups;
6. the new events, in (epoch, seq) order, through the alarm lifecycle (``central.alarms``);
7. the heartbeat, and the end of the gateway's silence if it was silent;
8. the merged ledger ranges and ``acked_through``.

A resent or overlapping batch, in any order, adds nothing twice: step 4 filters every row by (epoch, seq),
and a row's epoch is decided once, the first time its incarnation is seen.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import orjson

from central.store import alarm_sql, channels_sql, incarnations, ledger, queries, rollup
from central.store.incarnations import Resolved
from central.store.records import GatewayChange, IngestOutcome
from protocols.incarnations import LEGACY, owners
from protocols.records import Event, Level
from protocols.wire import Batch
from protocols.wire import seq_ranges as batch_ranges

if TYPE_CHECKING:
    from central.store.handle import Db

ONLINE = "online"
SILENT = "silent"
OUTBOX_CHANNEL = "{gateway}/_gateway/_outbox"  # the reserved channel of outbox faults
OUTBOX_FAULT_LEVEL = int(Level.ORANGE)


def ingest(
    db: Db,
    batch: Batch,
    now_ms: int,
    cache: dict[str, int],
    added: dict[str, int],
    *,
    max_channels: int | None = None,
) -> IngestOutcome:
    gw = batch.gateway
    listed = batch.incarnations or [LEGACY]
    seqs = batch.seqs()
    current_top = _current_top(listed, seqs)
    status, acked_through, gateway_incarnation, site_id = _upsert_gateway(
        db, gw, now_ms, current_top, listed[-1].id
    )
    resolved = incarnations.resolve(db, gw, listed, now_ms)
    epochs = incarnations.row_epochs(db, gw, resolved, seqs) if len(seqs) else np.empty(0, dtype=np.int64)
    site_refused = batch.site is not None and not queries.gateway_site(db, gw, site_id, batch.site, now_ms)
    keys = list(dict.fromkeys([*batch.keys, *(e.channel for e in batch.events)]))
    meta = {c.key: c for c in batch.channels}
    ids = channels_sql.ensure_channels(
        db, keys, cache=cache, added=added, now_ms=now_ms, meta=meta, limit=max_channels, gateway=gw
    )

    ledgers = {int(e): _stored(db, gw, int(e), seqs[epochs == e]) for e in np.unique(epochs)}
    readings_added = _insert_readings(
        db, batch, ids, ledgers, epochs[np.searchsorted(seqs, batch.reading_seq)]
    )
    event_seqs = np.fromiter((e.seq for e in batch.events), dtype=np.int64, count=len(batch.events))
    event_epochs = epochs[np.searchsorted(seqs, event_seqs)].tolist()
    new_events = [
        (incarnations.order_key(epoch, e.seq), e)
        for e, epoch in zip(batch.events, event_epochs, strict=True)
        if not _in(ledgers[epoch], e.seq)
    ]
    new_events.sort(key=lambda pair: pair[0])
    changed = alarm_sql.apply_events(
        db, [e for _, e in new_events], ids, gw, now_ms, order=[k for k, _ in new_events]
    )

    gateway_changes = []
    if batch.heartbeat is not None:
        _store_heartbeat(db, gw, batch.heartbeat, now_ms, resolved)
    if status == SILENT:
        db.run("UPDATE gateways SET status = ? WHERE id = ?", (ONLINE, gw))
        changed += alarm_sql.clear_silence(db, gw, now_ms)
        gateway_changes.append(GatewayChange(gw, ONLINE, now_ms))
    for epoch, stored in ledgers.items():
        _write_ranges(db, gw, epoch, stored, batch_ranges(seqs[epochs == epoch]))
    if resolved.new_current or resolved.changes:
        acked_through = _outbox_changed(db, gw, resolved, now_ms)
        changed += _outbox_alarms(db, gw, resolved, now_ms, cache=cache, added=added)
    elif gateway_incarnation != listed[-1].id:  # a late batch of another incarnation: its own epoch's top
        acked_through = _epoch_top(db, gw, resolved.current.epoch)
    return IngestOutcome(
        committed=tuple(batch_ranges(seqs)),
        acked_through=acked_through,
        readings_added=readings_added,
        readings_repeated=len(batch.readings) - readings_added,
        events_added=len(new_events),
        events_repeated=len(batch.events) - len(new_events),
        alarm_changes=alarm_sql.alarms_by_id(db, sorted(set(changed))),
        gateway_changes=gateway_changes,
        site_refused=site_refused,
    )


def _current_top(listed: list[Any], seqs: npt.NDArray[np.int64]) -> int:
    """The highest seq of the batch's rows that its current (last listed) incarnation numbered."""
    if len(seqs) == 0:
        return 0
    mine = seqs[owners(listed, seqs) == len(listed) - 1]
    return int(mine[-1]) if len(mine) else 0


def _in(stored: list[ledger.Range], seq: int) -> bool:
    return any(a <= seq <= b for a, b in stored)


def _stored(db: Db, gw: str, epoch: int, seqs: npt.NDArray[np.int64]) -> list[ledger.Range]:
    """The committed ranges of the epoch that may overlap or touch these (sorted) seqs."""
    lo, hi = int(seqs[0]) - 1, int(seqs[-1]) + 1
    return [
        (int(a), int(b))
        for a, b in db.all(
            "SELECT first_seq, last_seq FROM seq_ranges WHERE gateway_id = ? AND epoch = ? AND last_seq >= ? "
            "AND first_seq <= ? ORDER BY first_seq",
            (gw, epoch, lo, hi),
        )
    ]


def _upsert_gateway(
    db: Db, gw: str, now_ms: int, top_seq: int, incarnation: str
) -> tuple[str, int, str, str | None]:
    """(status before this batch, acked_through after it, the gateway's current incarnation, its site).
    The batch commits all its seqs or nothing, so the new ``acked_through`` (of the gateway's current
    incarnation's epoch) is known before the rows are written."""
    row = db.one(
        "INSERT INTO gateways (id, status, first_seen_ms, last_seen_ms, acked_through, incarnation) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms, acked_through = "
        "CASE WHEN excluded.incarnation = gateways.incarnation AND excluded.acked_through > "
        "gateways.acked_through THEN excluded.acked_through ELSE gateways.acked_through END "
        "RETURNING status, acked_through, incarnation, site_id",
        (gw, ONLINE, now_ms, now_ms, top_seq, incarnation),
    )
    assert row is not None
    return str(row[0]), int(row[1]), str(row[2]), None if row[3] is None else str(row[3])


def _epoch_top(db: Db, gw: str, epoch: int) -> int:
    row = db.one(
        "SELECT coalesce(max(last_seq), 0) FROM seq_ranges WHERE gateway_id = ? AND epoch = ?", (gw, epoch)
    )
    return int(row[0]) if row is not None else 0


def _outbox_changed(db: Db, gw: str, resolved: Resolved, now_ms: int) -> int:
    """The gateway's current incarnation and epoch after a batch with a new one; its ``acked_through``."""
    current = resolved.current
    top = _epoch_top(db, gw, current.epoch)
    lost = sum(c.lost for c in resolved.changes)
    if resolved.new_current:
        db.run(
            "UPDATE gateways SET incarnation = ?, epoch = ?, acked_through = ? WHERE id = ?",
            (current.id, current.epoch, top, gw),
        )
    if resolved.changes:
        db.run(
            "UPDATE gateways SET outbox_changes = outbox_changes + ?, outbox_changed_ms = ?, "
            "outbox_lost_seqs = outbox_lost_seqs + ? WHERE id = ?",
            (len(resolved.changes), now_ms, lost, gw),
        )
    return top


def _outbox_alarms(
    db: Db, gw: str, resolved: Resolved, now_ms: int, *, cache: dict[str, int], added: dict[str, int]
) -> list[int]:
    """An equipment-fault alarm per outbox change, on the gateway's reserved channel ``_gateway/_outbox``."""
    if not resolved.changes:
        return []
    key = OUTBOX_CHANNEL.format(gateway=gw)
    channel_id = channels_sql.ensure_channels(db, [key], cache=cache, added=added, now_ms=now_ms)[key]
    out = []
    for c in resolved.changes:
        event = Event(key, now_ms, c.rule, OUTBOX_FAULT_LEVEL, 0, float(c.lost), c.message, rule_kind=c.rule,
                      criterion=c.rule, unit="seqs")  # fmt: skip
        out.append(alarm_sql.apply_event(db, channel_id, event, alarm_sql.CENTRAL, now_ms))
    return out


def _insert_readings(
    db: Db,
    batch: Batch,
    ids: dict[str, int],
    ledgers: dict[int, list[ledger.Range]],
    epoch_of: npt.NDArray[np.int64],
) -> int:
    """Insert the readings no ledger range holds; ``epoch_of``: each reading's epoch."""
    n = len(batch.readings)
    if n == 0:
        return 0
    r = batch.readings
    key_ids = np.array([ids[k] for k in batch.keys], dtype=np.int64)
    if len(ledgers) == 1:  # the common case: one epoch
        new = ledger.uncommitted(batch.reading_seq, next(iter(ledgers.values())))
    else:
        new = np.ones(n, dtype=np.bool_)
        for e, stored in ledgers.items():
            mine = epoch_of == e
            new[mine] = ledger.uncommitted(batch.reading_seq[mine], stored)
    if not new.all():
        idx = np.flatnonzero(new)
        if len(idx) == 0:
            return 0
        channel_id, ts, seq = key_ids[r.channel[idx]], r.ts_ms[idx], batch.reading_seq[idx]
        value, quality, epoch_of = r.value[idx], r.quality[idx].astype(np.int64), epoch_of[idx]
    else:
        channel_id, ts, seq = key_ids[r.channel], r.ts_ms, batch.reading_seq
        value, quality = r.value, r.quality.astype(np.int64)
    db.insert_readings(channel_id, ts, seq, value, quality, epoch=epoch_of)
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


def _store_heartbeat(db: Db, gw: str, heartbeat: dict[str, Any], now_ms: int, resolved: Resolved) -> None:
    interval = heartbeat.get("heartbeat_interval_s")  # the wire checked it: 1..3600 s when present
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
    produced = heartbeat.get("produced_through")
    if type(produced) is int and 1 <= produced < incarnations.SEQ_SPAN:
        incarnations.report(db, gw, resolved, produced)


def _write_ranges(
    db: Db, gw: str, epoch: int, stored: list[ledger.Range], ranges: list[ledger.Range]
) -> None:
    merged = ledger.merge(stored + ranges)
    if merged == stored:
        return  # a resend: nothing new
    if len(stored) == 1 and len(merged) == 1 and merged[0][0] == stored[0][0]:
        # the common case, the next batch in order: one range grows
        db.run(
            "UPDATE seq_ranges SET last_seq = ? WHERE gateway_id = ? AND epoch = ? AND first_seq = ?",
            (merged[0][1], gw, epoch, stored[0][0]),
        )
        return
    db.many(
        "DELETE FROM seq_ranges WHERE gateway_id = ? AND epoch = ? AND first_seq = ?",
        [(gw, epoch, a) for a, _ in stored],
    )
    db.many(
        "INSERT INTO seq_ranges (gateway_id, epoch, first_seq, last_seq) VALUES (?, ?, ?, ?)",
        [(gw, epoch, a, b) for a, b in merged],
    )
