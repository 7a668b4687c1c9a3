"""The alarm lifecycle's decisions, as a table: (latest alarm, event) -> what happens."""

from __future__ import annotations

import pytest

from central.alarms import (
    AlarmState,
    Decision,
    Kind,
    Status,
    StillActiveError,
    TransitionRefusedError,
    acknowledge,
    close,
    decide,
)
from tests.central.builders import event

OPEN2 = AlarmState(7, Status.OPEN, 2, 10, False)
ACKED2 = AlarmState(7, Status.ACKNOWLEDGED, 2, 10, True)
CLEARED2 = AlarmState(7, Status.CLEARED, 2, 10, True)
CLOSED2 = AlarmState(7, Status.CLOSED, 2, 10, True)


@pytest.mark.parametrize(
    ("latest", "seq", "level", "previous", "expected"),
    [
        pytest.param(None, 11, 2, 0, Decision(Kind.RAISED, None, Status.OPEN, 2), id="raise-opens"),
        pytest.param(None, 11, 3, 2, Decision(Kind.RAISED, None, Status.OPEN, 3), id="escalation-without-alarm-opens"),
        pytest.param(None, 11, 0, 3, Decision(Kind.CLEARED, None, Status.CLEARED, 3), id="clear-without-alarm-opens-cleared"),
        pytest.param(OPEN2, 11, 3, 2, Decision(Kind.ESCALATED, 7, Status.OPEN, 3, True), id="escalate"),
        pytest.param(ACKED2, 11, 3, 2, Decision(Kind.ESCALATED, 7, Status.OPEN, 3, True), id="escalate-reopens-ack"),
        pytest.param(ACKED2, 11, 1, 2, Decision(Kind.DEESCALATED, 7, None, 1), id="deescalate-keeps-ack"),
        pytest.param(OPEN2, 11, 2, 1, Decision(Kind.UPDATED, 7, None, None), id="same-level-updates"),
        pytest.param(OPEN2, 11, 0, 2, Decision(Kind.CLEARED, 7, Status.CLEARED, None), id="clear"),
        pytest.param(ACKED2, 11, 0, 2, Decision(Kind.CLEARED, 7, Status.CLEARED, None), id="clear-after-ack"),
        pytest.param(CLEARED2, 11, 0, 2, Decision(Kind.UPDATED, 7, None, None), id="clear-again"),
        pytest.param(CLEARED2, 11, 2, 0, Decision(Kind.RERAISED, 7, Status.OPEN, 2, True), id="reraise-cleared"),
        pytest.param(CLOSED2, 11, 2, 0, Decision(Kind.RAISED, None, Status.OPEN, 2), id="raise-after-close-new"),
        pytest.param(CLOSED2, 11, 0, 2, Decision(Kind.CLEARED, 7, None, None), id="clear-after-close-noted"),
        pytest.param(OPEN2, 10, 3, 2, Decision(Kind.LATE, 7, None, None), id="same-seq-late"),
        pytest.param(OPEN2, 4, 0, 2, Decision(Kind.LATE, 7, None, None), id="older-late"),
        pytest.param(CLOSED2, 9, 3, 2, Decision(Kind.LATE, 7, None, None), id="late-on-closed"),
    ],
)  # fmt: skip
def test_decide(latest: AlarmState | None, seq: int, level: int, previous: int, expected: Decision) -> None:
    assert decide(latest, event("gw", seq, level, previous)) == expected


def test_silence_events_without_seq_are_never_late() -> None:
    state = AlarmState(3, Status.CLEARED, 3, None, False)
    assert decide(state, event("gw", 0, 3, 0)).kind is Kind.RERAISED


@pytest.mark.parametrize(
    ("status", "acknowledged", "after"),
    [(Status.OPEN, False, Status.ACKNOWLEDGED), (Status.CLEARED, False, Status.CLEARED)],
)
def test_acknowledge_allowed(status: Status, acknowledged: bool, after: Status) -> None:
    assert acknowledge(status, acknowledged) is after


@pytest.mark.parametrize(
    ("status", "acknowledged", "reason"),
    [
        (Status.ACKNOWLEDGED, True, "already acknowledged"),
        (Status.CLEARED, True, "already acknowledged"),
        (Status.CLOSED, True, "closed"),
    ],
)
def test_acknowledge_refused(status: Status, acknowledged: bool, reason: str) -> None:
    with pytest.raises(TransitionRefusedError, match=reason):
        acknowledge(status, acknowledged)


def test_close_a_cleared_alarm_and_an_active_one_only_by_force() -> None:
    assert close(Status.CLEARED) is False
    for status in (Status.OPEN, Status.ACKNOWLEDGED):
        with pytest.raises(StillActiveError, match=f"still {status.value}"):
            close(status)
        assert close(status, force=True) is True  # a forced close
    with pytest.raises(TransitionRefusedError, match="already closed"):
        close(Status.CLOSED, force=True)
