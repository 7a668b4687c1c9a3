"""Which notifications an alarm change causes: a pure function from (change, policies) to a plan.

The plan is data for the notification outbox (``outbox`` stores it in the alarm change's transaction):
``cancel`` names the pending jobs of the alarm that end now, ``jobs`` the jobs to add (each with a due time:
an escalation step or a reminder is a row that falls due, never a sleeping task), and ``round_ms`` (the
latest round's start) what the store keeps on the alarm for its next change. Apply a plan in that order:
cancel, then insert the jobs, skipping any whose ``id`` is already stored (``ON CONFLICT (id) DO NOTHING``).

A *round* is a stretch during which the alarm is in force and nobody has acknowledged it. It begins at a
raise, a re-raise, an escalation that took back an acknowledgement (``central.alarms``: the officer must
look again) or an unshelving of an open alarm, and ends at an acknowledgement, a clear, a close or a
shelving. Per matching policy, a round brings:

- ``raise``: the policy's ``notify`` contacts at once (``n`` is the level announced). A level rise within
  the round announces the new level to everyone the policy has reached so far; a policy that matches only
  from the new level starts its whole schedule then.
- ``step`` k (1-based): ``escalate[k-1].notify`` at ``after_s`` after the round began, unless it ended.
- ``reminder`` n (1-based, at most ``max_repeats``): every ``repeat_every_s`` to everyone reached by then.

A clear or a close is announced (``announce_clear`` / ``announce_close``) to everyone the policy reached in
the alarm's latest round before it was acknowledged (its ``notify`` contacts when it never had a round). A
clear is held back for ``flap_window_s``: a re-raise within that window (by the edge's clock) is not
announced either (flapping), though its round still escalates and reminds. Any new round cancels a clear
still held back, so a clear never arrives after the raise that undid it. A shelved alarm sends nothing;
shelving cancels everything pending.

A contact reached by several policies gets one ``raise``, ``clear`` and ``close`` (the first policy in file
order sends it); steps and reminders are per policy.

Job ids are stable: ``<alarm>:<ref_ms>:<policy>:<contact>:<kind>:<n>``, where ``ref_ms`` names the round
(its start in the central's time, made strictly increasing per alarm: two rounds begun in one millisecond,
as a batch of backlog can, get two names). The same change planned twice gives the same ids, so a
receiver can drop a repeat, and the store's insert is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from central.notify.policy import Policy, PolicyFile


class Change(StrEnum):
    """What happened to the alarm (the values of ``central.alarms.Kind`` where both have one)."""

    RAISED = "raised"
    RERAISED = "reraised"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    CLEARED = "cleared"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"
    SHELVED = "shelved"
    UNSHELVED = "unshelved"


class JobKind(StrEnum):
    RAISE = "raise"
    STEP = "step"
    REMINDER = "reminder"
    CLEAR = "clear"
    CLOSE = "close"


WAITING_KINDS = frozenset({JobKind.STEP, JobKind.REMINDER})  # what an acknowledgement ends
ALL_KINDS = frozenset(JobKind)


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """An alarm as it is after one change, with what the plan needs of its past.

    Due times count from ``at_ms``, the central's time of the change. The flap check alone uses the edge's
    times (``event_ms`` and ``last_cleared_ms``, as ``alarms.cleared_ms`` holds it before the change): a
    raise, a clear and a raise two hours apart that arrive in one batch after an outage are not a flap.
    """

    alarm_id: int
    change: Change
    at_ms: int
    level: int  # after the change; a cleared alarm keeps its last warning level
    previous_level: int  # before the change (0 for a new alarm)
    max_level: int  # the highest level the alarm reached: clears and closes match policies by it
    status: str  # after the change: open | acknowledged | cleared | closed
    shelved: bool  # after the change
    category: str  # hazard | fault
    rule: str
    rule_kind: str | None = None  # level, rate, slope ... when the event said (issue 15's fields)
    site_id: str | None = None
    organization_id: str | None = None
    was_acknowledged: bool = False  # before the change (an escalation takes an acknowledgement back)
    acknowledged_ms: int | None = None  # when the central recorded the latest acknowledgement, if any
    round_ms: int | None = None  # the latest round's start: ``Plan.round_ms`` of the alarm's last plan
    event_ms: int | None = None  # the edge's time of the event behind the change (None: an operator's)
    last_cleared_ms: int | None = None  # the edge's time of the alarm's latest clear, before this change


@dataclass(frozen=True, slots=True)
class Job:
    alarm_id: int
    ref_ms: int  # names the round (its start); a clear or close with no round: the change's time
    policy: str
    contact: str
    kind: JobKind
    n: int  # raise: the level; step: its number; reminder: its count; clear, close: 0
    due_ms: int
    since_ms: int  # the wait a step or a reminder measures began here (the round, or the policy's match)

    @property
    def id(self) -> str:
        """Stable: the same change planned again gives the same id (see the module's docstring)."""
        return f"{self.alarm_id}:{self.ref_ms}:{self.policy}:{self.contact}:{self.kind.value}:{self.n}"

    @property
    def waited_s(self) -> float:
        """How long the alarm had waited for an acknowledgement when this job falls due."""
        return (self.due_ms - self.since_ms) / 1000


@dataclass(frozen=True, slots=True)
class Plan:
    alarm_id: int
    cancel: frozenset[JobKind]  # the alarm's pending jobs of these kinds end (before ``jobs`` are added)
    jobs: tuple[Job, ...]
    round_ms: int | None  # keep on the alarm; pass it back as ``AlarmChange.round_ms`` next time


def matches(policy: Policy, change: AlarmChange, level: int) -> bool:
    """Whether ``policy`` covers the alarm at ``level``."""
    return (
        level >= policy.min_level
        and policy.category in ("any", change.category)
        and (not policy.sites or change.site_id in policy.sites)
        and (not policy.organizations or change.organization_id in policy.organizations)
        and (not policy.rules or change.rule in policy.rules or change.rule_kind in policy.rules)
    )


def plan(change: AlarmChange, policies: PolicyFile) -> Plan:
    """The notifications ``change`` causes under ``policies`` (see the module's docstring)."""
    c = change
    if c.change is Change.SHELVED:
        return Plan(c.alarm_id, ALL_KINDS, (), c.round_ms)
    if c.change in (Change.ACKNOWLEDGED, Change.CLEARED, Change.CLOSED):
        return _ending(c, policies)
    if c.shelved or c.change is Change.DEESCALATED or (c.change is Change.UNSHELVED and c.status != "open"):
        return Plan(c.alarm_id, frozenset(), (), c.round_ms)
    if c.change is Change.ESCALATED and c.round_ms is not None and not c.was_acknowledged:
        return _level_rise(c, policies, c.round_ms)
    return _new_round(c, policies)  # raised, re-raised, escalated past an acknowledgement, unshelved


def _new_round(c: AlarmChange, policies: PolicyFile) -> Plan:
    round_ms = c.at_ms if c.round_ms is None or c.at_ms > c.round_ms else c.round_ms + 1
    jobs: list[Job] = []
    for p in policies.policies:
        if not matches(p, c, c.level):
            continue
        flapping = (
            c.change is Change.RERAISED
            and c.event_ms is not None
            and c.last_cleared_ms is not None
            and c.event_ms - c.last_cleared_ms < p.flap_window_s * 1000
        )
        if not flapping:
            jobs += _raise(c, p, round_ms, p.notify)
        jobs += _schedule(c, p, round_ms=round_ms, since_ms=c.at_ms)
    # nothing is left of an earlier round, nor a clear held back that this round undoes
    return Plan(c.alarm_id, WAITING_KINDS | {JobKind.CLEAR}, _one_announcement_each(jobs), round_ms)


def _level_rise(c: AlarmChange, policies: PolicyFile, round_ms: int) -> Plan:
    jobs: list[Job] = []
    for p in policies.policies:
        if not matches(p, c, c.level):
            continue
        if matches(p, c, c.previous_level):
            jobs += _raise(c, p, round_ms, _reached(p, round_ms, c.at_ms))
        else:
            jobs += _raise(c, p, round_ms, p.notify)
            jobs += _schedule(c, p, round_ms=round_ms, since_ms=c.at_ms)
    return Plan(c.alarm_id, frozenset(), _one_announcement_each(jobs), round_ms)


def _ending(c: AlarmChange, policies: PolicyFile) -> Plan:
    if c.change is Change.ACKNOWLEDGED or c.shelved:
        return Plan(c.alarm_id, WAITING_KINDS, (), c.round_ms)
    kind = JobKind.CLEAR if c.change is Change.CLEARED else JobKind.CLOSE
    ref_ms = c.at_ms if c.round_ms is None else c.round_ms
    round_end_ms = c.at_ms  # an acknowledgement ended the round's escalation earlier
    if c.round_ms is not None and c.acknowledged_ms is not None and c.acknowledged_ms >= c.round_ms:
        round_end_ms = min(round_end_ms, c.acknowledged_ms)
    jobs: list[Job] = []
    for p in policies.policies:
        wanted = p.announce_clear if kind is JobKind.CLEAR else p.announce_close
        if not wanted or not matches(p, c, c.max_level):
            continue
        contacts = p.notify if c.round_ms is None else _reached(p, c.round_ms, round_end_ms)
        hold_ms = round(p.flap_window_s * 1000) if kind is JobKind.CLEAR else 0
        jobs += [
            Job(c.alarm_id, ref_ms, p.name, name, kind, 0, c.at_ms + hold_ms, c.at_ms) for name in contacts
        ]
    return Plan(c.alarm_id, WAITING_KINDS, _one_announcement_each(jobs), c.round_ms)


def _raise(c: AlarmChange, p: Policy, round_ms: int, contacts: Iterable[str]) -> list[Job]:
    return [
        Job(c.alarm_id, round_ms, p.name, name, JobKind.RAISE, c.level, c.at_ms, c.at_ms)
        for name in dict.fromkeys(contacts)
    ]


def _schedule(c: AlarmChange, p: Policy, *, round_ms: int, since_ms: int) -> list[Job]:
    """The policy's escalation steps and reminders for a round, counted from ``since_ms``."""
    jobs = []
    for k, step in enumerate(p.escalate, start=1):
        due_ms = since_ms + round(step.after_s * 1000)
        for name in dict.fromkeys(step.notify):
            jobs.append(Job(c.alarm_id, round_ms, p.name, name, JobKind.STEP, k, due_ms, since_ms))
    if p.repeat_every_s is not None:
        for n in range(1, p.max_repeats + 1):
            due_ms = since_ms + round(n * p.repeat_every_s * 1000)
            for name in _reached(p, since_ms, due_ms):
                jobs.append(Job(c.alarm_id, round_ms, p.name, name, JobKind.REMINDER, n, due_ms, since_ms))
    return jobs


def _reached(p: Policy, since_ms: int, at_ms: int) -> list[str]:
    """The policy's contacts told by ``at_ms`` of a round counted from ``since_ms``, each once."""
    names = list(p.notify)
    for step in p.escalate:
        if since_ms + round(step.after_s * 1000) <= at_ms:
            names += step.notify
    return list(dict.fromkeys(names))


def _one_announcement_each(jobs: list[Job]) -> tuple[Job, ...]:
    """One raise, clear or close per contact and level: the first policy's."""
    seen: set[tuple[str, JobKind, int]] = set()
    out = []
    for job in jobs:
        if job.kind not in WAITING_KINDS:
            key = (job.contact, job.kind, job.n)
            if key in seen:
                continue
            seen.add(key)
        out.append(job)
    return tuple(out)


def still_due(job: Job, *, status: str, acknowledged: bool, shelved: bool) -> bool:
    """Whether a job that fell due should still be sent, given the alarm now (the worker's last check).

    The plan cancels in the same transaction as the change; this guards a change that committed between
    the worker claiming a job and sending it.
    """
    if shelved:
        return False
    if job.kind in WAITING_KINDS:
        return status == "open" and not acknowledged
    return True
