"""The outbox's rows for the worker: claim due jobs, read the alarm as it is now, record an outcome.

A claim is one short transaction: the due jobs (``pending`` and due, or ``sending`` with a lease that
ran out: the process that claimed them died) are locked and marked ``sending`` with this process's name and
a lease. On PostgreSQL the select takes ``FOR UPDATE SKIP LOCKED``, so several central processes never
claim one job twice; on SQLite the store's write transaction is ``BEGIN IMMEDIATE`` under its writer lock.
Outcomes are recorded in groups (one transaction for every outcome that came in meanwhile, as SQLite's
ingest does: one fsync for many), and only by the claim's owner (``claimed_by``): a process whose lease
ran out and whose job another process claimed records nothing, and the other one's delivery is the repeat
that the stable id lets a receiver drop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from central.alarms import Kind
from central.notify.message import AlarmFacts
from central.notify.outbox import JOB_COLUMNS
from central.notify.plan import Job, JobKind

if TYPE_CHECKING:
    from central.store.handle import Db, Named

CENTRAL = "central"


@dataclass(frozen=True, slots=True)
class Claimed:
    job: Job
    attempts: int  # before this one


@dataclass(frozen=True, slots=True)
class AlarmNow:
    status: str
    acknowledged: bool
    shelved: bool
    facts: AlarmFacts


@dataclass(frozen=True, slots=True)
class Finish:
    """One attempt's outcome, to record: the job's new state, and what goes on the alarm's timeline."""

    job: Job
    state: str  # sent | pending (a retry at due_ms) | failed | skipped
    attempts: int
    due_ms: int | None = None
    error: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class JobRow:
    id: str
    alarm_id: int
    policy: str
    contact: str
    kind: str
    n: int
    due_ms: int
    state: str  # pending | sending | sent | failed | cancelled | skipped
    attempts: int
    last_error: str | None
    sent_ms: int | None


def claim(db: Db, *, now_ms: int, owner: str, lease_ms: int, limit: int, skip_locked: bool) -> list[Claimed]:
    lock = " FOR UPDATE SKIP LOCKED" if skip_locked else ""
    rows = db.named(
        f"SELECT {JOB_COLUMNS} FROM notify_jobs "  # noqa: S608
        "WHERE (state = 'pending' AND due_ms <= ?) OR (state = 'sending' AND claimed_until_ms <= ?) "
        f"ORDER BY due_ms LIMIT ?{lock}",
        (now_ms, now_ms, limit),
    )
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    db.run(
        "UPDATE notify_jobs SET state = 'sending', claimed_by = ?, claimed_until_ms = ? "  # noqa: S608
        f"WHERE id IN ({', '.join('?' * len(ids))})",
        (owner, now_ms + lease_ms, *ids),
    )
    return [Claimed(_job(r), int(r["attempts"])) for r in rows]


def _job(r: Named) -> Job:
    return Job(
        alarm_id=int(r["alarm_id"]), ref_ms=int(r["ref_ms"]), policy=r["policy"], contact=r["contact"],
        kind=JobKind(r["kind"]), n=int(r["n"]), due_ms=int(r["due_ms"]), since_ms=int(r["since_ms"]),
    )  # fmt: skip


def alarms_now(db: Db, alarm_ids: Iterable[int], time_zone: str, now_ms: int) -> dict[int, AlarmNow]:
    found = {}
    for alarm_id in sorted(set(alarm_ids)):
        now = alarm_now(db, alarm_id, time_zone, now_ms)
        if now is not None:
            found[alarm_id] = now
    return found


def alarm_now(db: Db, alarm_id: int, time_zone: str, now_ms: int) -> AlarmNow | None:
    """The alarm as it is now: its status for ``still_due`` and its facts for the message."""
    found = db.named(
        "SELECT a.status, a.acknowledged_ms, a.level, c.key AS channel, a.rule, a.message, a.updated_ms, "
        "g.site_id, s.name AS site_name, s.time_zone, c.unit AS channel_unit, a.value, a.forecast, "
        "a.category, a.rule_kind, a.criterion, a.unit, a.threshold, a.direction, a.shelved_until_ms, "
        "(SELECT max(t.ts_ms) FROM alarm_timeline t WHERE t.alarm_id = a.id AND t.kind IN "
        "('raised', 'escalated', 'deescalated', 'reraised', 'cleared')) AS event_ms "
        "FROM alarms a JOIN channels c ON c.id = a.channel_id LEFT JOIN gateways g ON g.id = c.gateway_id "
        "LEFT JOIN sites s ON s.id = g.site_id WHERE a.id = ?",
        (alarm_id,),
    )
    if not found:
        return None
    r = found[0]
    forecast = r["forecast"]
    event_ms = r["event_ms"] if r["event_ms"] is not None else r["updated_ms"]
    facts = AlarmFacts(
        alarm_id=alarm_id, level=int(r["level"]), channel=r["channel"], rule=r["rule"], message=r["message"],
        event_ms=int(event_ms), site_id=r["site_id"], site_name=r["site_name"], category=r["category"],
        rule_kind=r["rule_kind"], criterion=r["criterion"], value=r["value"],
        unit=r["unit"] or r["channel_unit"] or None, threshold=r["threshold"], direction=r["direction"],
        forecast_failure_ms=None if forecast is None else int(orjson.loads(forecast)["failure_ts_ms"]),
        time_zone=r["time_zone"] or time_zone,  # the site's, else the command center's
    )  # fmt: skip
    shelved = r["shelved_until_ms"] is not None and int(r["shelved_until_ms"]) > now_ms
    return AlarmNow(str(r["status"]), r["acknowledged_ms"] is not None, shelved, facts)


def finish(db: Db, done: Finish, *, owner: str, now_ms: int) -> bool:
    """Record an attempt's outcome (and its note on the alarm's timeline); False if the claim was lost."""
    job = done.job
    changed = db.run(
        "UPDATE notify_jobs SET state = ?, attempts = ?, due_ms = COALESCE(?, due_ms), last_error = ?, "
        "sent_ms = CASE WHEN ? = 'sent' THEN ? ELSE sent_ms END, claimed_by = NULL, claimed_until_ms = NULL "
        "WHERE id = ? AND state = 'sending' AND claimed_by = ?",
        (done.state, done.attempts, done.due_ms, done.error, done.state, now_ms, job.id, owner),
    )
    if changed == 0:
        return False
    if done.note is not None:
        kind = Kind.NOTIFIED if done.state == "sent" else Kind.NOTIFY_FAILED
        db.run(
            "INSERT INTO alarm_timeline (alarm_id, ts_ms, recorded_ms, kind, level, actor, note) "
            "SELECT id, ?, ?, ?, level, ?, ? FROM alarms WHERE id = ?",
            (now_ms, now_ms, kind.value, CENTRAL, done.note, job.alarm_id),
        )
    return True


def release(db: Db, job_ids: list[str], owner: str) -> int:
    """Claimed jobs back to ``pending``, due at once: a process that stops gives back what it did not
    finish (a request that was on its way may be sent again: the receiver drops the repeat by its id)."""
    if not job_ids:
        return 0
    return db.run(
        "UPDATE notify_jobs SET state = 'pending', claimed_by = NULL, claimed_until_ms = NULL "  # noqa: S608
        f"WHERE state = 'sending' AND claimed_by = ? AND id IN ({', '.join('?' * len(job_ids))})",
        (owner, *job_ids),
    )


def job_rows(db: Db, alarm_id: int | None = None) -> list[JobRow]:
    where, params = ("WHERE alarm_id = ? ", (alarm_id,)) if alarm_id is not None else ("", ())
    rows = db.named(
        "SELECT id, alarm_id, policy, contact, kind, n, due_ms, state, attempts, last_error, sent_ms "  # noqa: S608
        f"FROM notify_jobs {where}ORDER BY due_ms, id",
        params,
    )
    return [JobRow(**r) for r in rows]


def policy_text(db: Db) -> tuple[int, str, str] | None:
    """``(version, path, text)`` of the policies in the database, or None."""
    found = db.named("SELECT version, path, text FROM notify_policies WHERE id = 1")
    return (int(found[0]["version"]), found[0]["path"], found[0]["text"]) if found else None


def policy_version(db: Db) -> int:
    found = db.named("SELECT version FROM notify_policies WHERE id = 1")
    return int(found[0]["version"]) if found else 0


def put_policy_text(db: Db, path: str, text: str, now_ms: int) -> int:
    """Replace the policies' text; the new version."""
    found = db.named(
        "INSERT INTO notify_policies (id, path, text, version, updated_ms) VALUES (1, ?, ?, 1, ?) "
        "ON CONFLICT (id) DO UPDATE SET path = excluded.path, text = excluded.text, "
        "version = notify_policies.version + 1, updated_ms = excluded.updated_ms RETURNING version",
        (path, text, now_ms),
    )
    return int(found[0]["version"])
