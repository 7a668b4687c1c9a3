"""The alarm lifecycle as pure decisions: what an edge event or an operator action does to an alarm.

One alarm per (channel, rule) is *active* (any status but ``closed``); a unique partial index in both
stores holds that. Statuses::

    open  --acknowledge-->  acknowledged
      \\                         |
       \\---- edge clears ----> cleared  (may come before or after the acknowledgement)
                                  |
                   operator closes (any status but closed) --> closed

- An edge event with level > 0 and no active alarm opens one (``raised``).
- A level change on an active alarm is ``escalated`` or ``deescalated``; an escalation of an acknowledged
  alarm sets it back to ``open``: the officer must look again. A raise on a ``cleared`` (not yet closed)
  alarm re-opens it (``reraised``).
- Level 0 clears the active alarm (status ``cleared``, level kept as the last warning level).
- Events are applied in seq order per (channel, rule). Batches may arrive in any order, so an event whose
  seq is not above the last one applied to the latest alarm of its (channel, rule) is *late*: it goes into
  that alarm's timeline (kind ``late``) and changes nothing else.
- A clear with no alarm at all (the raise was lost or dead-lettered) opens an alarm already ``cleared``
  at the previous level, so the officer still sees that something happened. A clear after the operator
  closed the alarm is noted on the closed alarm's timeline.

The stores apply these decisions with SQL; this module has no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from protocols.records import Event, EventKind


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"
    CLOSED = "closed"


ACTIVE_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED)  # a warning in force: counts for the map's colour


class Kind(StrEnum):
    """What a timeline entry records."""

    RAISED = "raised"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    CLEARED = "cleared"
    RERAISED = "reraised"
    UPDATED = "updated"  # the edge repeated the current level (a new value or forecast)
    LATE = "late"  # an event older than the alarm's state: kept for the record only
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"
    FORCED_CLOSE = "forced_close"  # closed while its condition was still active
    SHELVED = "shelved"
    UNSHELVED = "unshelved"  # by an operator, by itself when the time ran out, or by an escalation
    COMMENTED = "commented"
    ASSIGNED = "assigned"
    NOTIFIED = "notified"  # a notification delivered (central.notify)
    NOTIFY_FAILED = "notify_failed"  # an attempt that failed, or the last one


# the gateway-silence alarm: raised by the central, not by an edge rule
SILENCE_RULE = "gateway_silent"
SILENCE_DEVICE = "_gateway"
SILENCE_POINT = "_silent"


def silence_channel_key(gateway_id: str) -> str:
    return f"{gateway_id}/{SILENCE_DEVICE}/{SILENCE_POINT}"


@dataclass(frozen=True, slots=True)
class AlarmState:
    """What a decision needs to know of the latest alarm of a (channel, rule)."""

    id: int
    status: Status
    level: int
    last_event_seq: int | None
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """``target`` None: open a new alarm with ``status`` and ``level``. Otherwise change alarm ``target``:
    ``status``/``level`` None means unchanged. ``kind`` is the timeline entry's kind."""

    kind: Kind
    target: int | None
    status: Status | None
    level: int | None
    reset_acknowledgement: bool = False

    @property
    def opens(self) -> bool:
        return self.target is None

    @property
    def changes_state(self) -> bool:
        return self.target is None or self.status is not None or self.level is not None


def decide(latest: AlarmState | None, event: Event) -> Decision:
    """What ``event`` does, given the latest alarm (any status) of its (channel, rule)."""
    if latest is not None and latest.last_event_seq is not None and event.seq <= latest.last_event_seq:
        return Decision(Kind.LATE, latest.id, None, None)
    active = latest if latest is not None and latest.status is not Status.CLOSED else None
    if active is None:
        if event.level > 0:
            return Decision(Kind.RAISED, None, Status.OPEN, event.level)
        if latest is None:
            return Decision(Kind.CLEARED, None, Status.CLEARED, max(event.previous_level, 1))
        return Decision(Kind.CLEARED, latest.id, None, None)  # noted on the closed alarm
    if event.level == 0:
        if active.status is Status.CLEARED:
            return Decision(Kind.UPDATED, active.id, None, None)
        return Decision(Kind.CLEARED, active.id, Status.CLEARED, None)
    if active.status is Status.CLEARED:
        return Decision(Kind.RERAISED, active.id, Status.OPEN, event.level, reset_acknowledgement=True)
    if event.level > active.level:
        return Decision(Kind.ESCALATED, active.id, Status.OPEN, event.level, reset_acknowledgement=True)
    if event.level < active.level:
        return Decision(Kind.DEESCALATED, active.id, None, event.level)
    return Decision(Kind.UPDATED, active.id, None, None)


class TransitionRefusedError(ValueError):
    """An operator action that the alarm's status does not allow (the API answers 409)."""


def acknowledge(status: Status, acknowledged: bool) -> Status:
    """The status after an acknowledgement; ``TransitionRefusedError`` if it is not allowed."""
    if status is Status.CLOSED:
        raise TransitionRefusedError("the alarm is closed")
    if acknowledged:
        raise TransitionRefusedError("the alarm is already acknowledged")
    return Status.ACKNOWLEDGED if status is Status.OPEN else status


class StillActiveError(TransitionRefusedError):
    """Closing an alarm whose condition is still active, without ``force`` (the API answers 409)."""


def close(status: Status, *, force: bool = False) -> bool:
    """May the alarm be closed; True if it is a forced close (its condition still active).

    A cleared alarm closes plainly. An open or acknowledged one only with ``force``: closing it would take
    a warning in force off the desk."""
    if status is Status.CLOSED:
        raise TransitionRefusedError("the alarm is already closed")
    if status in ACTIVE_STATUSES:
        if not force:
            raise StillActiveError(
                f"the alarm is still {status.value}: its condition has not cleared; "
                'send {"force": true, "handling": "..."} to close it anyway'
            )
        return True
    return False


def shelve(status: Status) -> None:
    """Any alarm not closed may be shelved (hidden from the active list, no notifications) for a while."""
    if status is Status.CLOSED:
        raise TransitionRefusedError("the alarm is closed")


def event_kind_name(event: Event) -> str:
    """The edge's own view of the event, for the timeline note of a late event."""
    return {
        EventKind.RAISED: "raised",
        EventKind.ESCALATED: "escalated",
        EventKind.DEESCALATED: "deescalated",
        EventKind.CLEARED: "cleared",
    }[event.kind]
