"""Alarms in SQL: applying ``central.alarms`` decisions, operator actions, and the alarm queries.

The gateway-silence alarm goes through the same lifecycle as an edge rule: the watcher and the ingest
feed it synthetic events (no seq) on the channel ``<gateway>/_gateway/_silent``, rule ``gateway_silent``.
Operator actions are conditional updates (``... WHERE status = <what we read>``), so two officers acting
on one alarm at once cannot both succeed.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import orjson

from central import alarms as lifecycle
from central.alarm_category import category_of
from central.alarms import AlarmState, Kind, Status, TransitionRefusedError
from central.notify import outbox
from central.store import channels_sql
from central.store.base import NotFoundError
from central.store.records import Alarm, AlarmDetail, AlarmFilter, AlarmPage, Forecast, TimelineEntry
from central.store.scope_sql import within_gateways
from protocols.records import Event

if TYPE_CHECKING:
    from central.store.handle import Db, Named

CENTRAL = "central"

ALARM_SELECT = (
    "SELECT a.id, c.key AS channel, a.rule, g.site_id, c.gateway_id, a.status, a.level, a.max_level, "
    "a.opened_ms, a.updated_ms, a.message, a.value, a.forecast, a.acknowledged_ms, a.acknowledged_by, "
    "a.cleared_ms, a.closed_ms, a.closed_by, a.handling, a.category, a.rule_kind, a.criterion, a.unit, "
    "a.threshold, a.direction, a.shelved_until_ms, a.shelved_by, a.shelve_reason, a.assignee, a.forced_close "
    "FROM alarms a JOIN channels c ON c.id = a.channel_id LEFT JOIN gateways g ON g.id = c.gateway_id"
)
TIMELINE_SELECT = (
    "SELECT ts_ms, recorded_ms, kind, level, actor, note, value, event_seq, forecast, criterion, unit, "
    "threshold, direction FROM alarm_timeline WHERE alarm_id = ? ORDER BY recorded_ms, id"
)


ORDERS = {  # the list's sort orders; the id breaks ties so pages never overlap
    "id": "a.id DESC",
    "level": "a.level DESC, a.opened_ms, a.id",  # highest first, then the one waiting longest
    "opened": "a.opened_ms DESC, a.id DESC",
    "updated": "a.updated_ms DESC, a.id DESC",
}


def _forecast(text: str | None) -> Forecast | None:
    if text is None:
        return None
    f = orjson.loads(text)
    return Forecast(int(f["failure_ts_ms"]), float(f["r2"]), int(f["points"]))


def _alarm(row: Named) -> Alarm:
    return Alarm(**{**row, "forecast": _forecast(row["forecast"]), "forced_close": bool(row["forced_close"])})


def _timeline_entry(row: Named) -> TimelineEntry:
    return TimelineEntry(**{**row, "forecast": _forecast(row["forecast"])})


def _forecast_json(event: Event) -> str | None:
    f = event.forecast
    if f is None:
        return None
    return orjson.dumps({"failure_ts_ms": f.failure_ts_ms, "r2": f.r2, "points": f.points}).decode()


# ---------------------------------------------------------------- the lifecycle


def apply_events(
    db: Db,
    events: list[Event],
    ids: dict[str, int],
    gateway_id: str,
    now_ms: int,
    *,
    order: list[int] | None = None,
) -> list[int]:
    """Apply new edge events (sorted by ``order``, their (epoch, seq) keys; default: by seq); the ids of
    the alarms they touched."""
    keys = order if order is not None else [e.seq for e in events]
    actor = f"gateway {gateway_id}"
    return [
        apply_event(db, ids[e.channel], e, actor, now_ms, order=k) for e, k in zip(events, keys, strict=True)
    ]


def apply_event(
    db: Db, channel_id: int, event: Event, actor: str, now_ms: int, *, order: int | None = None
) -> int:
    """Apply one event; ``order`` (default its seq) is what orders it against the alarm's last event:
    seqs of different outbox epochs are compared as ``epoch * 2^53 + seq``."""
    row = db.one(
        "SELECT id, status, level, last_event_seq, acknowledged_ms FROM alarms "
        "WHERE channel_id = ? AND rule = ? ORDER BY id DESC LIMIT 1",
        (channel_id, event.rule),
    )
    latest = None if row is None else AlarmState(row[0], Status(row[1]), row[2], row[3], row[4] is not None)
    ordered = event.seq if order is None else order
    decision = lifecycle.decide(latest, dataclasses.replace(event, seq=ordered))
    value = event.value if math.isfinite(event.value) else None
    forecast = _forecast_json(event)
    seq = event.seq if event.seq > 0 else None
    last = ordered if ordered > 0 else None
    if decision.target is None:
        assert decision.status is not None
        assert decision.level is not None
        cleared = event.ts_ms if decision.status is Status.CLEARED else None
        found = db.one(
            "INSERT INTO alarms (channel_id, rule, status, level, max_level, opened_ms, updated_ms, message, "
            "value, forecast, last_event_seq, cleared_ms, category, rule_kind, criterion, unit, threshold, "
            "direction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (channel_id, event.rule, decision.status.value, decision.level, decision.level, event.ts_ms,
             now_ms, event.message, value, forecast, last, cleared,
             category_of(event.rule_kind, event.rule).value, *what_fired(event)),
        )  # fmt: skip
        assert found is not None
        alarm_id = int(found[0])
    else:
        alarm_id = decision.target
        if decision.kind is not Kind.LATE:
            _update(
                db, alarm_id, decision=decision, event=event, value=value, forecast=forecast, seq=last,
                now_ms=now_ms,
            )  # fmt: skip
    note = event.message
    if decision.kind is Kind.LATE:
        note = f"late {lifecycle.event_kind_name(event)} ({event.previous_level} -> {event.level}): {note}"
    _, criterion, unit, threshold, direction = what_fired(event)
    db.run(
        "INSERT INTO alarm_timeline (alarm_id, ts_ms, recorded_ms, kind, level, actor, note, value, "
        "event_seq, forecast, criterion, unit, threshold, direction) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (alarm_id, event.ts_ms, now_ms, decision.kind.value, event.level, actor, note, value, seq, forecast,
         criterion, unit, threshold, direction),
    )  # fmt: skip
    if decision.kind in (Kind.ESCALATED, Kind.RERAISED):
        unshelve_on_escalation(db, alarm_id, event.level, now_ms)
    if decision.changes_state:
        outbox.record_change(db, alarm_id, decision.kind, now_ms, before=latest, event_ms=event.ts_ms)
    return alarm_id


def what_fired(event: Event) -> tuple[str | None, str | None, str | None, float | None, str | None]:
    """The event's structured fields as stored: (rule_kind, criterion, unit, threshold, direction)."""
    threshold = event.threshold if event.threshold is not None and math.isfinite(event.threshold) else None
    return event.rule_kind, event.criterion, event.unit, threshold, event.direction


def _update(
    db: Db,
    alarm_id: int,
    *,
    decision: lifecycle.Decision,
    event: Event,
    value: float | None,
    forecast: str | None,
    seq: int | None,
    now_ms: int,
) -> None:
    sets = ["updated_ms = ?", "message = ?", "value = ?"]
    params: list[Any] = [now_ms, event.message, value]
    if event.criterion is not None:  # what fired last (a clear keeps what had fired)
        _, criterion, unit, threshold, direction = what_fired(event)
        sets += ["criterion = ?", "unit = ?", "threshold = ?", "direction = ?"]
        params += [criterion, unit, threshold, direction]
    if event.rule_kind is not None:
        sets.append("rule_kind = ?")
        params.append(event.rule_kind)
    if forecast is not None:
        sets.append("forecast = ?")
        params.append(forecast)
    if seq is not None:
        sets.append("last_event_seq = ?")
        params.append(seq)
    if decision.status is not None:
        sets.append("status = ?")
        params.append(decision.status.value)
        sets.append("cleared_ms = ?")
        params.append(event.ts_ms if decision.status is Status.CLEARED else None)
    if decision.level is not None:
        sets += ["level = ?", "max_level = CASE WHEN max_level < ? THEN ? ELSE max_level END"]
        params += [decision.level, decision.level, decision.level]
    if decision.reset_acknowledgement:
        sets += ["acknowledged_ms = NULL", "acknowledged_by = NULL", "acknowledge_note = NULL"]
    db.run(f"UPDATE alarms SET {', '.join(sets)} WHERE id = ?", (*params, alarm_id))  # noqa: S608


def raise_silence(
    db: Db,
    gateway_id: str,
    *,
    last_seen_ms: int,
    interval_s: float,
    now_ms: int,
    level: int,
    cache: dict[str, int],
    added: dict[str, int],
) -> int | None:
    """Mark the gateway silent and raise its alarm; None if it reported meanwhile (or another process won)."""
    marked = db.run(
        "UPDATE gateways SET status = 'silent' WHERE id = ? AND status = 'online' AND last_seen_ms = ?",
        (gateway_id, last_seen_ms),
    )
    if marked == 0:
        return None
    key = lifecycle.silence_channel_key(gateway_id)
    channel_id = channels_sql.ensure_channels(db, [key], cache=cache, added=added, now_ms=now_ms)[key]
    silent_s = (now_ms - last_seen_ms) / 1000.0
    message = f"no report for {silent_s:.0f} s (expected every {interval_s:g} s)"
    event = Event(key, now_ms, lifecycle.SILENCE_RULE, level, 0, silent_s, message,
                  rule_kind=lifecycle.SILENCE_RULE, criterion="silent", unit="s",
                  direction="rising")  # fmt: skip
    return apply_event(db, channel_id, event, CENTRAL, now_ms)


def clear_silence(db: Db, gateway_id: str, now_ms: int) -> list[int]:
    key = lifecycle.silence_channel_key(gateway_id)
    row = db.one(
        "SELECT a.channel_id, a.level FROM alarms a JOIN channels c ON c.id = a.channel_id "
        "WHERE c.key = ? AND a.rule = ? AND a.status IN ('open', 'acknowledged')",
        (key, lifecycle.SILENCE_RULE),
    )
    if row is None:
        return []
    event = Event(key, now_ms, lifecycle.SILENCE_RULE, 0, int(row[1]), math.nan, "the gateway reports again",
                  rule_kind=lifecycle.SILENCE_RULE, criterion="silent", direction="falling")  # fmt: skip
    return [apply_event(db, int(row[0]), event, CENTRAL, now_ms)]


# ---------------------------------------------------------------- operator actions


def _status_of(db: Db, alarm_id: int) -> tuple[Status, bool, int]:
    row = db.one("SELECT status, acknowledged_ms, level FROM alarms WHERE id = ?", (alarm_id,))
    if row is None:
        raise NotFoundError(f"no alarm {alarm_id}")
    return Status(row[0]), row[1] is not None, int(row[2])


def acknowledge(db: Db, alarm_id: int, actor: str, note: str, now_ms: int) -> None:
    status, acknowledged, level = _status_of(db, alarm_id)
    after = lifecycle.acknowledge(status, acknowledged)
    changed = db.run(
        "UPDATE alarms SET status = ?, acknowledged_ms = ?, acknowledged_by = ?, acknowledge_note = ?, "
        "updated_ms = ? WHERE id = ? AND status = ? AND acknowledged_ms IS NULL",
        (after.value, now_ms, actor, note, now_ms, alarm_id, status.value),
    )
    if changed == 0:
        raise TransitionRefusedError("the alarm changed meanwhile; read it again")
    timeline(db, alarm_id, now_ms=now_ms, kind=Kind.ACKNOWLEDGED, level=level, actor=actor, note=note)
    before = AlarmState(alarm_id, status, level, None, acknowledged)
    outbox.record_change(db, alarm_id, Kind.ACKNOWLEDGED, now_ms, before=before, event_ms=None)


def close(db: Db, alarm_id: int, actor: str, handling: str, now_ms: int, *, force: bool = False) -> None:
    status, acknowledged, level = _status_of(db, alarm_id)
    forced = lifecycle.close(status, force=force)
    changed = db.run(
        "UPDATE alarms SET status = 'closed', closed_ms = ?, closed_by = ?, handling = ?, updated_ms = ?, "
        "forced_close = ?, shelved_until_ms = NULL WHERE id = ? AND status = ?",
        (now_ms, actor, handling, now_ms, int(forced), alarm_id, status.value),
    )
    if changed == 0:
        raise TransitionRefusedError("the alarm changed meanwhile; read it again")
    kind = Kind.FORCED_CLOSE if forced else Kind.CLOSED
    timeline(db, alarm_id, now_ms=now_ms, kind=kind, level=level, actor=actor, note=handling)
    before = AlarmState(alarm_id, status, level, None, acknowledged)
    outbox.record_change(db, alarm_id, kind, now_ms, before=before, event_ms=None)


def unshelve_on_escalation(db: Db, alarm_id: int, level: int, now_ms: int) -> None:
    """An escalation (or a re-raise) during shelving is recorded, and ends the shelving."""
    changed = db.run(
        "UPDATE alarms SET shelved_until_ms = NULL WHERE id = ? AND shelved_until_ms > ?", (alarm_id, now_ms)
    )
    if changed:
        timeline(db, alarm_id, now_ms=now_ms, kind=Kind.UNSHELVED, level=level, actor=CENTRAL,
                 note="escalated while shelved")  # fmt: skip
        outbox.record_change(db, alarm_id, Kind.UNSHELVED, now_ms, before=None, event_ms=None)


def timeline(
    db: Db,
    alarm_id: int,
    *,
    now_ms: int,
    kind: Kind,
    level: int,
    actor: str,
    note: str,
    ts_ms: int | None = None,
) -> None:
    """A timeline entry recorded now; ``ts_ms``: when it happened, if earlier (default: now)."""
    db.run(
        "INSERT INTO alarm_timeline (alarm_id, ts_ms, recorded_ms, kind, level, actor, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (alarm_id, now_ms if ts_ms is None else ts_ms, now_ms, kind.value, level, actor, note),
    )


# ---------------------------------------------------------------- queries


def alarms_by_id(db: Db, ids: list[int]) -> list[Alarm]:
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return [_alarm(r) for r in db.named(f"{ALARM_SELECT} WHERE a.id IN ({marks}) ORDER BY a.id", ids)]


def alarm_detail(db: Db, alarm_id: int) -> AlarmDetail:
    found = db.named(f"{ALARM_SELECT} WHERE a.id = ?", (alarm_id,))
    if not found:
        raise NotFoundError(f"no alarm {alarm_id}")
    timeline = [_timeline_entry(r) for r in db.named(TIMELINE_SELECT, (alarm_id,))]
    return AlarmDetail(_alarm(found[0]), timeline)


def alarms(db: Db, where: AlarmFilter) -> AlarmPage:
    clauses, params = within_gateways("c.gateway_id", where.within)
    if where.statuses:
        clauses.append(f"a.status IN ({', '.join('?' * len(where.statuses))})")
        params += list(where.statuses)
    if where.min_level > 0:
        clauses.append("a.level >= ?")
        params.append(where.min_level)
    for column, value in (
        ("g.site_id = ?", where.site_id),
        ("c.gateway_id = ?", where.gateway_id),
        ("a.opened_ms >= ?", where.since_ms),
        ("a.opened_ms < ?", where.until_ms),
    ):
        if value is not None:
            clauses.append(column)
            params.append(value)
    if where.category is not None:
        clauses.append("a.category = ?")
        params.append(where.category)
    clauses.append(
        "a.shelved_until_ms > ?"
        if where.shelved
        else "(a.shelved_until_ms IS NULL OR a.shelved_until_ms <= ?)"
    )
    params.append(where.now_ms)
    sql_where = f" WHERE {' AND '.join(clauses)}"
    total = db.one(
        "SELECT count(*) FROM alarms a JOIN channels c ON c.id = a.channel_id "  # noqa: S608
        f"LEFT JOIN gateways g ON g.id = c.gateway_id{sql_where}",
        params,
    )
    rows = db.named(
        f"{ALARM_SELECT}{sql_where} ORDER BY {ORDERS[where.sort]} LIMIT ? OFFSET ?",
        [*params, where.limit, where.offset],
    )
    return AlarmPage([_alarm(r) for r in rows], int(total[0]) if total else 0)
