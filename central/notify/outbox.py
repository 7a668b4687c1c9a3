"""Planning notifications inside the alarm change's transaction: the outbox's write side.

``record_change(db, alarm_id, kind, now_ms, before=..., event_ms=...)`` is the one call the store makes
where it applies an alarm change (an edge event, an acknowledgement, a close, a shelving, an unshelving).
It builds the ``AlarmChange`` from the alarm row as the change left it (its category, rule kind and
shelving included), runs ``plan`` against the policies in force, and in the same transaction cancels the
alarm's pending jobs the plan ends, inserts its jobs (``ON CONFLICT (id) DO NOTHING``: the same change
planned twice adds nothing) and keeps the round on the alarm (``alarms.notify_round_ms``). So a committed
change always has its notifications and a rolled-back one has none. With no policy loaded it returns at
once.

The policies in force are a ``PoliciesInForce`` (``central.notify.in_force``) that the store's connections
share (``Db.outbox``); the worker (``central.notify.worker``) swaps in a new set when the database's policy
text changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from central.alarms import AlarmState
from central.notify.plan import AlarmChange, Change, Plan, plan

if TYPE_CHECKING:
    from central.store.handle import Db

PLANNED = frozenset(Change)  # the changes that may notify (not updated, late, comments, assignments)
ALIASES = {"forced_close": Change.CLOSED}  # timeline kinds that are one of the plan's changes
JOB_COLUMNS = "id, alarm_id, policy, contact, kind, n, ref_ms, since_ms, due_ms, state, attempts"


def record_change(
    db: Db, alarm_id: int, kind: str, now_ms: int, *, before: AlarmState | None, event_ms: int | None
) -> Plan | None:
    """Plan and store the notifications of one alarm change (``kind``: the timeline kind); the plan.

    ``before`` is the alarm as it was (None, or another alarm's state, for an alarm just opened);
    ``event_ms`` the edge's time of the event (None for an operator's action)."""
    box = db.outbox
    what = ALIASES.get(kind) or (Change(kind) if kind in PLANNED else None)
    if box is None or box.policies is None or not box.policies.policies or what is None:
        return None
    change = _alarm_change(db, alarm_id, what, now_ms, before=before, event_ms=event_ms)
    if change is None:
        return None
    made = plan(change, box.policies)
    apply_plan(db, made, change.round_ms)
    return made


def _alarm_change(
    db: Db, alarm_id: int, change: Change, now_ms: int, *, before: AlarmState | None, event_ms: int | None
) -> AlarmChange | None:
    found = db.named(
        "SELECT a.status, a.level, a.max_level, a.rule, a.rule_kind, a.category, a.acknowledged_ms, "
        "a.shelved_until_ms, a.notify_round_ms, g.site_id, s.org_id "
        "FROM alarms a JOIN channels c ON c.id = a.channel_id LEFT JOIN gateways g ON g.id = c.gateway_id "
        "LEFT JOIN sites s ON s.id = g.site_id "
        "WHERE a.id = ?",
        (alarm_id,),
    )
    if not found:
        return None
    row = found[0]
    previous = before if before is not None and before.id == alarm_id else None
    last_cleared_ms = None
    if change is Change.RERAISED:  # the flap check: when did the edge clear it last?
        cleared = db.named(
            "SELECT ts_ms FROM alarm_timeline WHERE alarm_id = ? AND kind = 'cleared' "
            "ORDER BY id DESC LIMIT 1",
            (alarm_id,),
        )
        last_cleared_ms = int(cleared[0]["ts_ms"]) if cleared else None
    return AlarmChange(
        alarm_id=alarm_id,
        change=change,
        at_ms=now_ms,
        level=int(row["level"]),
        previous_level=previous.level if previous is not None else 0,
        max_level=int(row["max_level"]),
        status=str(row["status"]),
        shelved=row["shelved_until_ms"] is not None and int(row["shelved_until_ms"]) > now_ms,
        category=str(row["category"]),
        rule=str(row["rule"]),
        rule_kind=row["rule_kind"],
        site_id=row["site_id"],
        organization_id=row["org_id"],
        was_acknowledged=previous.acknowledged if previous is not None else False,
        acknowledged_ms=row["acknowledged_ms"],
        round_ms=row["notify_round_ms"],
        event_ms=event_ms,
        last_cleared_ms=last_cleared_ms,
    )


def apply_plan(db: Db, made: Plan, stored_round_ms: int | None) -> None:
    """Cancel, insert (skipping stored ids), keep the round: in the caller's transaction."""
    if made.cancel:
        kinds = sorted(k.value for k in made.cancel)
        db.run(
            "UPDATE notify_jobs SET state = 'cancelled' WHERE alarm_id = ? AND state = 'pending' "  # noqa: S608
            f"AND kind IN ({', '.join('?' * len(kinds))})",
            (made.alarm_id, *kinds),
        )
    db.many(
        f"INSERT INTO notify_jobs ({JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0) "  # noqa: S608
        "ON CONFLICT (id) DO NOTHING",
        [
            (j.id, j.alarm_id, j.policy, j.contact, j.kind.value, j.n, j.ref_ms, j.since_ms, j.due_ms)
            for j in made.jobs
        ],
    )
    if made.round_ms != stored_round_ms:
        db.run("UPDATE alarms SET notify_round_ms = ? WHERE id = ?", (made.round_ms, made.alarm_id))
