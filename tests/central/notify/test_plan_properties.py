"""Properties of planning over random alarm lives: the plan's own cancels keep every rule, so the worker's
last check (``still_due``) never has to skip a job, and no reminder goes out more often than allowed."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from central.notify.plan import JobKind
from tests.central.notify.jobbook import Scenario
from tests.central.notify.test_plan import HAZARDS, policies

SECOND = """\
  - name: everything
    notify: [desk, director]
    escalate: [{after_s: 60, notify: [mayor]}]
    repeat_every_s: 120
    max_repeats: 2
    flap_window_s: 30
"""
ACTIONS = ["raise", "up", "down", "clear", "acknowledge", "shelve", "unshelve", "close"]


def step(s: Scenario, t_s: float, action: str) -> None:
    """Apply ``action`` if the alarm's state allows it (as central.alarms would), else nothing."""
    a = s.alarm
    active = a.level > 0 and a.status in ("open", "acknowledged")
    if action == "raise" and a.level == 0:
        s.at(t_s, "raised", level=3)
    elif action == "raise" and a.status == "cleared":
        s.at(t_s, "reraised", level=a.level)
    elif action == "up" and active and a.level < 4:
        s.at(t_s, "escalated", level=a.level + 1)
    elif action == "down" and active and a.level > 1:
        s.at(t_s, "deescalated", level=a.level - 1)
    elif action == "clear" and active:
        s.at(t_s, "cleared")
    elif action == "acknowledge" and a.level > 0 and not a.acknowledged and a.status != "closed":
        s.at(t_s, "acknowledged")
    elif action == "shelve" and a.level > 0 and not a.shelved and a.status != "closed":
        s.at(t_s, "shelved")
    elif action == "unshelve" and a.shelved:
        s.at(t_s, "unshelved")
    elif action == "close" and a.level > 0 and a.status != "closed":
        s.at(t_s, "closed")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 700), st.sampled_from(ACTIONS)), max_size=25))
def test_the_plan_alone_keeps_the_rules(life: list[tuple[int, str]]) -> None:
    s = Scenario(policies(HAZARDS, SECOND))
    t_s = 0.0
    for dt_s, action in life:
        if s.alarm.status == "closed":
            break
        t_s += dt_s
        step(s, t_s, action)
    s.sent(t_s + 10_000)
    skipped = [row.job.id for row in s.book.rows.values() if row.state == "skipped"]
    assert skipped == []  # every step or reminder that fell due was still wanted
    reminders = Counter(
        (job.ref_ms, job.policy, job.contact) for _, job in s.book.sent if job.kind is JobKind.REMINDER
    )
    limits = {p.name: p.max_repeats for p in s.policies.policies}
    assert all(n <= limits[policy] for (_, policy, _), n in reminders.items())
