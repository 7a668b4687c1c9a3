"""Which notifications an alarm's life causes: the issue's rules as table tests over simulated time.

Each test drives one alarm through changes (``jobbook.Scenario``) and reads what the worker would have sent:
``(seconds, contact, kind, n)``, where ``n`` is the level of a raise, the number of a step or a reminder.
"""

from __future__ import annotations

import dataclasses

import pytest

from central.notify.plan import AlarmChange, Change, Job, JobKind, matches, plan, still_due
from central.notify.policy import PolicyFile
from central.notify.policyfile import parse_policies
from tests.central.notify.jobbook import T0_MS, Scenario

CONTACTS = """\
contacts:
  - {name: desk, url: "json://127.0.0.1/desk"}
  - {name: director, url: "json://127.0.0.1/director"}
  - {name: mayor, url: "json://127.0.0.1/mayor"}
"""
HAZARDS = """\
  - name: hazards
    min_level: orange
    category: hazard
    notify: [desk]
    escalate: [{after_s: 300, notify: [director]}, {after_s: 900, notify: [mayor]}]
    repeat_every_s: 600
    max_repeats: 3
"""


def policies(*entries: str, contacts: str = CONTACTS) -> PolicyFile:
    return parse_policies(contacts + "policies:\n" + "".join(entries), "notify.yaml").policies


def hazards(**changes: object) -> PolicyFile:
    lines = [line for line in HAZARDS.splitlines() if line.split(":")[0].strip() not in changes]
    lines += [f"    {key}: {value}" for key, value in changes.items()]
    return policies("\n".join(lines) + "\n")


def test_a_red_raise_is_sent_at_once_then_escalated_and_repeated_while_nobody_acknowledges() -> None:
    s = Scenario(hazards())
    s.at(0, "raised", level=4)
    assert s.sent(5000) == [
        (0, "desk", "raise", 4),
        (300, "director", "step", 1),
        (600, "desk", "reminder", 1),
        (600, "director", "reminder", 1),
        (900, "mayor", "step", 2),
        (1200, "desk", "reminder", 2),
        (1200, "director", "reminder", 2),
        (1200, "mayor", "reminder", 2),
        (1800, "desk", "reminder", 3),
        (1800, "director", "reminder", 3),
        (1800, "mayor", "reminder", 3),  # max_repeats: 3, then no more
    ]


@pytest.mark.parametrize(
    ("ack_s", "expected"),
    [
        (100, [(0, "desk", "raise", 4)]),  # before the first step: nobody else is told
        (400, [(0, "desk", "raise", 4), (300, "director", "step", 1)]),  # reminders stop at the ack
        (
            700,
            [(0, "desk", "raise", 4), (300, "director", "step", 1), (600, "desk", "reminder", 1),
             (600, "director", "reminder", 1)],
        ),
    ],
)  # fmt: skip
def test_an_acknowledgement_stops_escalation_and_reminders(ack_s: float, expected: list[object]) -> None:
    s = Scenario(hazards())
    s.at(0, "raised", level=4)
    s.at(ack_s, "acknowledged")
    assert s.sent(5000) == expected
    assert s.book.pending() == []


def test_a_level_below_the_policy_sends_nothing_until_it_rises() -> None:
    s = Scenario(hazards(repeat_every_s="null"))
    s.at(0, "raised", level=2)
    assert s.sent(200) == []
    s.at(200, "escalated", level=3)  # the policy matches from here: its schedule counts from now
    assert s.sent(5000) == [
        (200, "desk", "raise", 3),
        (500, "director", "step", 1),
        (1100, "mayor", "step", 2),
    ]


def test_a_level_rise_within_a_round_is_told_to_everyone_reached_and_keeps_the_schedule() -> None:
    s = Scenario(hazards(repeat_every_s="null"))
    s.at(0, "raised", level=3)
    s.at(400, "escalated", level=4)
    s.at(450, "deescalated", level=3)  # a fall is not news
    assert s.sent(5000) == [
        (0, "desk", "raise", 3),
        (300, "director", "step", 1),
        (400, "desk", "raise", 4),
        (400, "director", "raise", 4),
        (900, "mayor", "step", 2),  # still counted from the raise
    ]


def test_an_escalation_past_an_acknowledgement_starts_a_new_round() -> None:
    s = Scenario(hazards(repeat_every_s="null"))
    s.at(0, "raised", level=3)
    s.at(100, "acknowledged")
    s.at(200, "escalated", level=4)  # central.alarms: the officer must look again
    assert s.sent(5000) == [
        (0, "desk", "raise", 3),
        (200, "desk", "raise", 4),
        (500, "director", "step", 1),
        (1100, "mayor", "step", 2),
    ]


def test_a_shelved_alarm_sends_nothing_and_is_told_again_when_unshelved_open() -> None:
    s = Scenario(hazards(repeat_every_s="null"))
    s.at(0, "raised", level=4)
    s.at(0, "shelved")  # before the worker sent the raise: cancelled too
    s.alarm.shelved = True
    s.at(100, "deescalated", level=3)
    assert s.sent(1000) == []
    s.at(1000, "unshelved")
    assert s.sent(5000) == [
        (1000, "desk", "raise", 3),
        (1300, "director", "step", 1),
        (1900, "mayor", "step", 2),
    ]


def test_unshelving_an_acknowledged_or_cleared_alarm_sends_nothing() -> None:
    s = Scenario(hazards())
    s.at(0, "raised", level=4)
    s.at(10, "shelved")
    s.at(20, "acknowledged")
    s.at(30, "unshelved")
    assert s.sent(5000) == [(0, "desk", "raise", 4)]


def test_flapping_is_not_announced_but_still_escalates() -> None:
    s = Scenario(hazards(repeat_every_s="null", flap_window_s=300))
    s.at(0, "raised", level=4)
    s.at(60, "cleared")  # held back for the flap window
    s.at(120, "reraised", level=4)  # within it: the clear is cancelled, the raise not told again
    assert s.sent(419) == [(0, "desk", "raise", 4)]
    s.at(1000, "cleared")  # told once the window has passed without a raise
    assert s.sent(5000) == [
        (0, "desk", "raise", 4),
        (420, "director", "step", 1),  # the re-raised round still escalates (until the clear)
        (1300, "desk", "clear", 0),
        (1300, "director", "clear", 0),
    ]


def test_a_raise_after_the_flap_window_is_announced_again() -> None:
    s = Scenario(hazards(repeat_every_s="null", flap_window_s=60))
    s.at(0, "raised", level=4)
    s.at(100, "cleared")
    s.at(500, "reraised", level=4)
    assert s.sent(550) == [(0, "desk", "raise", 4), (160, "desk", "clear", 0), (500, "desk", "raise", 4)]
    ids = [job.id for _, job in s.book.sent]
    assert len(set(ids)) == 3  # the second raise is a new message, not a repeat a receiver would drop


def test_a_backlog_that_arrives_at_once_is_judged_by_the_edges_times() -> None:
    s = Scenario(hazards(repeat_every_s="null", flap_window_s=300))
    s.at(5000, "raised", level=4, edge_s=0)  # after an outage, the edge's backlog in one batch
    s.at(5000, "cleared", edge_s=1000)
    s.at(5000, "reraised", level=4, edge_s=2000)  # 1000 s after the clear: not a flap
    assert s.sent(5000) == [(5000, "desk", "raise", 4), (5000, "desk", "raise", 4)]
    s2 = Scenario(hazards(repeat_every_s="null", flap_window_s=300))
    s2.at(5000, "raised", level=4, edge_s=0)
    s2.at(5000, "cleared", edge_s=10)
    s2.at(5000, "reraised", level=4, edge_s=20)  # a flap, however late it arrives
    assert s2.sent(5000) == [(5000, "desk", "raise", 4)]


@pytest.mark.parametrize(
    ("announce", "expected"),
    [
        ("announce_clear: false", []),
        ("announce_close: true", [(1000, "desk", "close", 0), (1000, "director", "close", 0)]),
    ],
)
def test_clears_and_closes_go_to_whoever_was_reached_if_the_policy_says_so(
    announce: str, expected: list[object]
) -> None:
    key, value = announce.split(": ")
    s = Scenario(hazards(repeat_every_s="null", flap_window_s=0, **{key: value}))
    s.at(0, "raised", level=4)
    s.at(400, "acknowledged")
    s.at(1000, "closed") if key == "announce_close" else s.at(1000, "cleared")
    sent = s.sent(5000)
    assert sent[:2] == [(0, "desk", "raise", 4), (300, "director", "step", 1)]
    assert sent[2:] == expected


def test_a_clear_goes_to_everyone_reached_in_the_round() -> None:
    s = Scenario(hazards(repeat_every_s="null", flap_window_s=0))
    s.at(0, "raised", level=4)
    s.at(1000, "cleared")
    assert s.sent(5000)[-3:] == [(1000, "desk", "clear", 0), (1000, "director", "clear", 0),
                                 (1000, "mayor", "clear", 0)]  # fmt: skip


def test_a_clear_after_an_acknowledgement_goes_to_whoever_was_reached_before_it() -> None:
    s = Scenario(hazards(repeat_every_s="null", flap_window_s=0))
    s.at(0, "raised", level=4)
    s.at(100, "acknowledged")  # the director's step (300 s) never went out
    s.at(1000, "cleared")
    assert s.sent(5000) == [(0, "desk", "raise", 4), (1000, "desk", "clear", 0)]


def test_a_contact_reached_by_two_policies_gets_one_raise_but_each_policys_steps() -> None:
    second = """\
  - name: everything
    notify: [desk, director]
    escalate: [{after_s: 60, notify: [desk]}]
"""
    s = Scenario(policies(HAZARDS, second))
    s.at(0, "raised", level=4)
    s.at(400, "acknowledged")
    assert s.sent(5000) == [
        (0, "desk", "raise", 4),
        (0, "director", "raise", 4),
        (60, "desk", "step", 1),
        (300, "director", "step", 1),
    ]
    assert {job.policy for _, job in s.book.sent if job.kind is JobKind.RAISE} == {"hazards", "everything"}


def change(**fields: object) -> AlarmChange:
    base = AlarmChange(
        alarm_id=7, change=Change.RAISED, at_ms=T0_MS, level=4, previous_level=0, max_level=4, status="open",
        shelved=False, category="hazard", rule="lel_high", rule_kind="level", site_id="tank-farm",
        organization_id="chem-co",
    )  # fmt: skip
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policy", "alarm", "expected"),
    [
        ("min_level: red", {}, True),
        ("min_level: 4", {"level": 3}, False),
        ("category: fault", {}, False),
        ("category: fault", {"category": "fault"}, True),
        ("category: any", {"category": "fault"}, True),
        ("sites: [slope-north, tank-farm]", {}, True),
        ("sites: [slope-north]", {}, False),
        ("sites: [slope-north]", {"site_id": None}, False),
        ("organizations: [chem-co]", {}, True),
        ("organizations: [mine-co]", {}, False),
        ("rules: [lel_high]", {}, True),  # by the rule's name
        ("rules: [level]", {}, True),  # or its kind
        ("rules: [gateway_silent]", {}, False),
    ],
)
def test_what_a_policy_matches(policy: str, alarm: dict[str, object], expected: bool) -> None:
    p = policies(f"  - name: p\n    notify: [desk]\n    {policy}\n").policies[0]
    c = change(**alarm)
    assert matches(p, c, c.level) is expected


def test_two_rounds_begun_in_one_millisecond_get_two_names() -> None:
    p = hazards()
    first = plan(change(), p)
    second = plan(change(change=Change.RERAISED, round_ms=first.round_ms), p)  # the same batch
    assert second.round_ms == T0_MS + 1
    assert {j.id for j in first.jobs}.isdisjoint(j.id for j in second.jobs)
    assert second.jobs[0].due_ms == T0_MS  # the name moved, not the time


def test_job_ids_are_stable_and_say_what_they_are() -> None:
    p = hazards()
    first, again = plan(change(), p), plan(change(), p)
    assert first == again
    ids = [job.id for job in first.jobs]
    assert ids[:3] == [
        f"7:{T0_MS}:hazards:desk:raise:4",
        f"7:{T0_MS}:hazards:director:step:1",
        f"7:{T0_MS}:hazards:mayor:step:2",
    ]
    assert len(set(ids)) == len(ids)
    assert first.round_ms == T0_MS


def test_the_plan_says_what_each_change_cancels() -> None:
    p = hazards()
    kinds = {
        Change.ACKNOWLEDGED: frozenset({JobKind.STEP, JobKind.REMINDER}),
        Change.CLEARED: frozenset({JobKind.STEP, JobKind.REMINDER}),
        Change.CLOSED: frozenset({JobKind.STEP, JobKind.REMINDER}),
        Change.SHELVED: frozenset(JobKind),
        Change.RERAISED: frozenset({JobKind.STEP, JobKind.REMINDER, JobKind.CLEAR}),
        Change.DEESCALATED: frozenset(),
    }
    for what, cancelled in kinds.items():
        planned = plan(change(change=what, round_ms=T0_MS - 1000), p)
        assert planned.cancel == cancelled
        new_round = what is Change.RERAISED
        assert planned.round_ms == (T0_MS if new_round else T0_MS - 1000)  # kept for the next change


@pytest.mark.parametrize(
    ("kind", "status", "acknowledged", "shelved", "expected"),
    [
        (JobKind.STEP, "open", False, False, True),
        (JobKind.STEP, "acknowledged", True, False, False),
        (JobKind.REMINDER, "cleared", False, False, False),
        (JobKind.REMINDER, "open", False, True, False),
        (JobKind.RAISE, "acknowledged", True, False, True),  # an announcement stands once planned
        (JobKind.CLEAR, "closed", True, False, True),
        (JobKind.RAISE, "open", False, True, False),  # shelved: nothing at all
    ],
)
def test_the_workers_last_check(
    kind: JobKind, status: str, acknowledged: bool, shelved: bool, expected: bool
) -> None:
    job = Job(7, T0_MS, "hazards", "desk", kind, 1, T0_MS, T0_MS)
    assert still_due(job, status=status, acknowledged=acknowledged, shelved=shelved) is expected
