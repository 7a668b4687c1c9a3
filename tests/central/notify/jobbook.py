"""The notification outbox's rules in memory: the reference part 2's SQL tables must behave like.

``JobBook.apply(plan)`` cancels, then inserts the jobs whose id is new (a stored id, whatever its state, is
left alone); ``JobBook.run_until(t, alarm)`` is the worker: every pending job due by ``t``, in due order, is
sent if ``still_due`` says so for the alarm as it is, else skipped. ``Scenario`` drives one alarm through
its lifecycle (as ``central.alarms`` would) and tells the planner what part 2's store would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from central.notify.plan import AlarmChange, Change, Job, Plan, plan, still_due
from central.notify.policy import PolicyFile


@dataclass
class Row:
    job: Job
    state: str = "pending"  # pending | sent | skipped | cancelled


@dataclass
class JobBook:
    rows: dict[str, Row] = field(default_factory=dict)
    round_ms: dict[int, int | None] = field(default_factory=dict)
    sent: list[tuple[int, Job]] = field(default_factory=list)  # (when, job)

    def apply(self, p: Plan) -> None:
        for row in self.rows.values():
            if row.state == "pending" and row.job.alarm_id == p.alarm_id and row.job.kind in p.cancel:
                row.state = "cancelled"
        for job in p.jobs:
            self.rows.setdefault(job.id, Row(job))
        self.round_ms[p.alarm_id] = p.round_ms

    def run_until(self, t_ms: int, alarm: SimAlarm) -> list[Job]:
        due = sorted(
            (r for r in self.rows.values() if r.state == "pending" and r.job.due_ms <= t_ms),
            key=lambda r: (r.job.due_ms, r.job.id),
        )
        out = []
        for row in due:
            if still_due(
                row.job, status=alarm.status, acknowledged=alarm.acknowledged, shelved=alarm.shelved
            ):
                row.state = "sent"
                self.sent.append((row.job.due_ms, row.job))
                out.append(row.job)
            else:
                row.state = "skipped"
        return out

    def pending(self) -> list[Job]:
        return sorted((r.job for r in self.rows.values() if r.state == "pending"), key=lambda j: j.due_ms)


T0_MS = 1_700_000_000_000


@dataclass
class SimAlarm:
    """One alarm as ``central.alarms`` would keep it, with what the planner is told of its past."""

    id: int = 7
    level: int = 0
    max_level: int = 0
    status: str = "open"
    acknowledged: bool = False
    acknowledged_ms: int | None = None
    shelved: bool = False
    last_cleared_ms: int | None = None
    category: str = "hazard"
    rule: str = "lel_high"
    rule_kind: str | None = "level"
    site_id: str | None = "tank-farm"
    organization_id: str | None = "chem-co"


class Scenario:
    """An alarm driven through changes at times in seconds; the worker runs up to each change first."""

    def __init__(self, policies: PolicyFile, **alarm: object) -> None:
        self.policies = policies
        self.alarm = SimAlarm(**alarm)  # type: ignore[arg-type]
        self.book = JobBook()

    def at(self, t_s: float, change: str, level: int | None = None, *, edge_s: float | None = None) -> Plan:
        """Apply ``change`` at ``t_s`` (the central's time); the edge saw it at ``edge_s`` (default: then)."""
        a = self.alarm
        at_ms = T0_MS + round(t_s * 1000)
        event_ms = T0_MS + round((t_s if edge_s is None else edge_s) * 1000)
        self.book.run_until(at_ms - 1, a)
        previous, was_acknowledged = a.level, a.acknowledged
        kind = Change(change)
        if kind in (Change.RAISED, Change.RERAISED, Change.ESCALATED):
            a.status, a.acknowledged = "open", False
        if kind is Change.ACKNOWLEDGED:
            a.acknowledged, a.acknowledged_ms = True, at_ms
            a.status = "acknowledged" if a.status == "open" else a.status
        if kind is Change.CLEARED:
            a.status = "cleared"
        if kind is Change.CLOSED:
            a.status = "closed"
        if kind in (Change.SHELVED, Change.UNSHELVED):
            a.shelved = kind is Change.SHELVED
        if level is not None:
            a.level = level
            a.max_level = max(a.max_level, level)
        p = plan(
            AlarmChange(
                alarm_id=a.id, change=kind, at_ms=at_ms, level=a.level, previous_level=previous,
                max_level=a.max_level, status=a.status, shelved=a.shelved, category=a.category, rule=a.rule,
                rule_kind=a.rule_kind, site_id=a.site_id, organization_id=a.organization_id,
                was_acknowledged=was_acknowledged, acknowledged_ms=a.acknowledged_ms,
                round_ms=self.book.round_ms.get(a.id), event_ms=event_ms, last_cleared_ms=a.last_cleared_ms,
            ),
            self.policies,
        )  # fmt: skip
        if kind is Change.CLEARED:
            a.last_cleared_ms = event_ms
        self.book.apply(p)
        return p

    def sent(self, until_s: float) -> list[tuple[float, str, str, int]]:
        """``(seconds, contact, kind, n)`` of everything sent by ``until_s``, by time and contact."""
        self.book.run_until(T0_MS + round(until_s * 1000), self.alarm)
        return sorted(((t - T0_MS) / 1000, j.contact, j.kind.value, j.n) for t, j in self.book.sent)
