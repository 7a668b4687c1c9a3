"""Operator actions beyond acknowledge and close (ISA-18.2): shelve, unshelve, comment, assign.

A shelved alarm is hidden from the active list and sends no notification until ``shelved_until_ms``;
then it unshelves by itself (``expire_shelves``, run by the silence watcher's loop, writes the timeline
entry; the list already measures "shelved" against the clock, so it never shows a stale shelf). An
escalation while shelved is recorded and unshelves it (``alarm_sql.unshelve_on_escalation``). Comments and
assignments change no status. Each action is one conditional update plus its timeline entry; a shelving
and an unshelving also plan their notifications in that transaction (``central.notify.outbox``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from central import alarms as lifecycle
from central.alarms import Kind, Status, TransitionRefusedError
from central.notify import outbox
from central.store.alarm_sql import CENTRAL, timeline
from central.store.base import NotFoundError

if TYPE_CHECKING:
    from central.store.handle import Db


def _state(db: Db, alarm_id: int) -> tuple[Status, int, int | None]:
    row = db.one("SELECT status, level, shelved_until_ms FROM alarms WHERE id = ?", (alarm_id,))
    if row is None:
        raise NotFoundError(f"no alarm {alarm_id}")
    return Status(row[0]), int(row[1]), row[2]


def shelve(db: Db, alarm_id: int, actor: str, now_ms: int, *, until_ms: int, reason: str) -> None:
    status, level, _ = _state(db, alarm_id)
    lifecycle.shelve(status)
    if until_ms <= now_ms:
        raise TransitionRefusedError("the shelving would end before it starts")
    changed = db.run(
        "UPDATE alarms SET shelved_until_ms = ?, shelved_by = ?, shelve_reason = ?, updated_ms = ? "
        "WHERE id = ? AND status = ?",
        (until_ms, actor, reason, now_ms, alarm_id, status.value),
    )
    if changed == 0:
        raise TransitionRefusedError("the alarm changed meanwhile; read it again")
    timeline(db, alarm_id, now_ms=now_ms, kind=Kind.SHELVED, level=level, actor=actor, note=reason)
    outbox.record_change(db, alarm_id, Kind.SHELVED, now_ms, before=None, event_ms=None)


def unshelve(db: Db, alarm_id: int, actor: str, now_ms: int) -> None:
    _, level, until_ms = _state(db, alarm_id)
    if until_ms is None or until_ms <= now_ms:
        raise TransitionRefusedError("the alarm is not shelved")
    changed = db.run(
        "UPDATE alarms SET shelved_until_ms = NULL, updated_ms = ? WHERE id = ? AND shelved_until_ms = ?",
        (now_ms, alarm_id, until_ms),
    )
    if changed == 0:
        raise TransitionRefusedError("the alarm changed meanwhile; read it again")
    timeline(db, alarm_id, now_ms=now_ms, kind=Kind.UNSHELVED, level=level, actor=actor, note="")
    outbox.record_change(db, alarm_id, Kind.UNSHELVED, now_ms, before=None, event_ms=None)


def expire_shelves(db: Db, now_ms: int) -> list[int]:
    """Unshelve the alarms whose shelving ran out; their ids."""
    due = db.all(
        "SELECT id, level, shelved_until_ms FROM alarms WHERE shelved_until_ms IS NOT NULL "
        "AND shelved_until_ms <= ? ORDER BY id",
        (now_ms,),
    )
    out = []
    for alarm_id, level, until_ms in due:
        changed = db.run(
            "UPDATE alarms SET shelved_until_ms = NULL WHERE id = ? AND shelved_until_ms = ?",
            (alarm_id, until_ms),
        )
        if changed:  # another central process may have got there first
            timeline(db, int(alarm_id), now_ms=now_ms, kind=Kind.UNSHELVED, level=int(level), actor=CENTRAL,
                     note="the shelving ran out", ts_ms=int(until_ms))  # fmt: skip
            outbox.record_change(db, int(alarm_id), Kind.UNSHELVED, now_ms, before=None, event_ms=None)
            out.append(int(alarm_id))
    return out


def comment(db: Db, alarm_id: int, actor: str, note: str, now_ms: int) -> None:
    _, level, _ = _state(db, alarm_id)
    timeline(db, alarm_id, now_ms=now_ms, kind=Kind.COMMENTED, level=level, actor=actor, note=note)


def assign(db: Db, alarm_id: int, actor: str, assignee: str | None, now_ms: int) -> None:
    """Assign the alarm to a person (a name, until accounts give users); None: to nobody."""
    status, level, _ = _state(db, alarm_id)
    if status is Status.CLOSED:
        raise TransitionRefusedError("the alarm is closed")
    db.run("UPDATE alarms SET assignee = ?, updated_ms = ? WHERE id = ?", (assignee, now_ms, alarm_id))
    note = assignee if assignee is not None else ""
    timeline(db, alarm_id, now_ms=now_ms, kind=Kind.ASSIGNED, level=level, actor=actor, note=note)
