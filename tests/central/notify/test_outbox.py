"""The outbox in the alarm change's transaction, on both stores: what an alarm change leaves in
``notify_jobs``, and the claim/record cycle the worker runs."""

from __future__ import annotations

import pytest

from central.notify.jobs import Finish
from central.notify.policyfile import parse_policies
from central.store.account_records import Org
from central.store.accounts import AccountStore
from central.store.base import Store
from central.store.sql_store import SqlStore
from protocols.wire import SiteMeta
from tests.central.builders import T0, event, events_batch, readings_batch

POLICIES = """\
contacts:
  - {name: duty-desk, url: "json://127.0.0.1:9/hook"}
  - {name: director, url: "json://127.0.0.1:9/director"}
policies:
  - name: hazards
    min_level: orange
    notify: [duty-desk]
    escalate: [{after_s: 300, notify: [director]}]
    repeat_every_s: 600
    max_repeats: 2
"""


def with_policies(store: Store, text: str = POLICIES) -> SqlStore:
    assert isinstance(store, SqlStore)
    store.outbox.policies = parse_policies(text, "notify.yaml").policies
    return store


def states(store: SqlStore, alarm_id: int = 1) -> dict[str, str]:
    """Job states by id without the alarm id."""
    return {j.id.split(":", 1)[1]: j.state for j in store.notify_jobs(alarm_id)}


def test_a_red_raise_plans_its_jobs_in_the_same_transaction(store: Store) -> None:
    s = with_policies(store)
    s.ingest(events_batch("gw-1", [event("gw-1", 1, 4, 0)]), T0)
    assert states(s) == {
        f"{T0}:hazards:duty-desk:raise:4": "pending",
        f"{T0}:hazards:director:step:1": "pending",
        f"{T0}:hazards:duty-desk:reminder:1": "pending",
        f"{T0}:hazards:director:reminder:1": "pending",
        f"{T0}:hazards:director:reminder:2": "pending",
        f"{T0}:hazards:duty-desk:reminder:2": "pending",
    }
    (raise_job,) = [j for j in s.notify_jobs(1) if j.kind == "raise"]
    assert raise_job.id == f"1:{T0}:hazards:duty-desk:raise:4" and raise_job.due_ms == T0


def test_below_the_policy_and_without_policies_nothing_is_planned(store: Store) -> None:
    s = with_policies(store)
    s.ingest(events_batch("gw-1", [event("gw-1", 1, 2, 0)]), T0)  # yellow: below orange
    assert s.notify_jobs() == []
    s.outbox.policies = None
    s.ingest(events_batch("gw-1", [event("gw-1", 2, 4, 2)], 2), T0 + 1000)
    assert s.notify_jobs() == []


def test_an_acknowledgement_cancels_steps_and_reminders(store: Store) -> None:
    s = with_policies(store)
    s.ingest(events_batch("gw-1", [event("gw-1", 1, 4, 0)]), T0)
    s.acknowledge(1, "alice", "on it", T0 + 1000)
    assert set(states(s).values()) == {"pending", "cancelled"}
    assert states(s)[f"{T0}:hazards:duty-desk:raise:4"] == "pending"
    assert states(s)[f"{T0}:hazards:director:step:1"] == "cancelled"


def test_planning_the_same_change_again_adds_nothing(store: Store) -> None:
    s = with_policies(store)
    batch = events_batch("gw-1", [event("gw-1", 1, 4, 0)])
    s.ingest(batch, T0)
    s.ingest(batch, T0)  # a repeat of the batch: its event is not applied again
    assert len(s.notify_jobs()) == 6


def test_claims_are_exclusive_and_outcomes_go_on_the_timeline(store: Store) -> None:
    s = with_policies(store)
    s.ingest(events_batch("gw-1", [event("gw-1", 1, 4, 0)]), T0)
    (claimed,) = s.claim_notify_jobs(T0, "a", 60_000, 50)
    assert claimed.job.kind.value == "raise"
    assert s.claim_notify_jobs(T0, "b", 60_000, 50) == []  # b cannot take it while a's lease lasts
    assert [c.job.id for c in s.claim_notify_jobs(T0 + 60_000, "b", 60_000, 50)] == [claimed.job.id]
    # a's lease ran out and b claimed it: a's outcome is not recorded, b's is
    sent = Finish(claimed.job, "sent", 1, note="notified duty-desk")
    assert s.finish_notify_jobs([sent], "a", T0 + 61_000) == 0
    assert s.finish_notify_jobs([sent], "b", T0 + 61_000) == 1
    assert states(s)[f"{T0}:hazards:duty-desk:raise:4"] == "sent"
    timeline = s.alarm(1).timeline
    assert [(t.kind, t.note) for t in timeline][-1] == ("notified", "notified duty-desk")


@pytest.mark.parametrize("version", [1, 2])
def test_the_policy_text_lives_in_the_database(store: Store, version: int) -> None:
    s = with_policies(store)
    assert s.notify_policy_text() is None and s.notify_policy_version() == 0
    for v in range(1, version + 1):
        assert s.put_notify_policy_text("notify.yaml", POLICIES, T0 + v) == v
    assert s.notify_policy_text() == (version, "notify.yaml", POLICIES)


def test_a_clear_and_a_quick_reraise_are_not_announced_but_the_round_escalates(store: Store) -> None:
    s = with_policies(store)
    s.ingest(events_batch("gw-1", [event("gw-1", 1, 4, 0)]), T0)
    s.ingest(events_batch("gw-1", [event("gw-1", 2, 0, 4)], 2), T0 + 2000)  # held back 300 s
    assert states(s)[f"{T0}:hazards:duty-desk:clear:0"] == "pending"
    s.ingest(events_batch("gw-1", [event("gw-1", 3, 4, 0)], 3), T0 + 3000)  # 1 s later at the edge
    after = states(s)
    assert after[f"{T0}:hazards:duty-desk:clear:0"] == "cancelled"
    assert f"{T0 + 3000}:hazards:duty-desk:raise:4" not in after  # a flap: no second raise
    assert after[f"{T0 + 3000}:hazards:director:step:1"] == "pending"  # but its round escalates


def test_an_escalation_past_an_acknowledgement_starts_a_new_round(store: Store) -> None:
    s = with_policies(store)
    s.ingest(events_batch("gw-1", [event("gw-1", 1, 3, 0)]), T0)
    s.acknowledge(1, "alice", "", T0 + 1000)
    s.ingest(events_batch("gw-1", [event("gw-1", 2, 4, 3)], 2), T0 + 2000)
    after = states(s)
    assert after[f"{T0 + 2000}:hazards:duty-desk:raise:4"] == "pending"
    assert after[f"{T0 + 2000}:hazards:director:step:1"] == "pending"
    assert after[f"{T0}:hazards:director:step:1"] == "cancelled"


def test_shelving_cancels_everything_and_a_clear_while_shelved_tells_nobody(store: Store) -> None:
    s = with_policies(store)
    s.ingest(events_batch("gw-1", [event("gw-1", 1, 4, 0)]), T0)
    s.shelve_alarm(1, "alice", T0 + 1000, T0 + 60_000, "blasting")
    assert set(states(s).values()) == {"cancelled"}  # the raise not sent yet, steps, reminders
    s.ingest(events_batch("gw-1", [event("gw-1", 2, 0, 4)], 2), T0 + 2000)  # a clear while shelved
    s.expire_shelves(T0 + 60_000)  # the shelving of a cleared alarm runs out: no new round
    assert set(states(s).values()) == {"cancelled"}


def test_the_end_of_a_shelving_starts_a_new_round_for_an_open_alarm(store: Store) -> None:
    s = with_policies(store)
    s.ingest(events_batch("gw-1", [event("gw-1", 1, 4, 0)]), T0)
    s.shelve_alarm(1, "alice", T0 + 1000, T0 + 60_000, "blasting")
    s.expire_shelves(T0 + 60_000)
    after = states(s)
    assert after[f"{T0 + 60_000}:hazards:duty-desk:raise:4"] == "pending"
    assert after[f"{T0 + 60_000}:hazards:director:step:1"] == "pending"


def test_an_escalation_while_shelved_unshelves_and_notifies(store: Store) -> None:
    s = with_policies(store)
    s.ingest(events_batch("gw-1", [event("gw-1", 1, 3, 0)]), T0)
    s.shelve_alarm(1, "alice", T0 + 1000, T0 + 3_600_000, "maintenance")
    s.ingest(events_batch("gw-1", [event("gw-1", 2, 4, 3)], 2), T0 + 2000)
    after = states(s)
    assert after[f"{T0 + 2000}:hazards:duty-desk:raise:4"] == "pending"
    assert after[f"{T0 + 2000}:hazards:director:step:1"] == "pending"


def test_a_policy_for_an_organization_plans_only_for_its_sites(store: Store) -> None:
    accounts = AccountStore(store)
    accounts.add_org(Org("mine-co", "Mine Co", "county", 0))
    s = with_policies(
        store,
        """\
contacts:
  - {name: mine-desk, url: "json://127.0.0.1:9/hook"}
policies:
  - {name: mine, min_level: orange, organizations: [mine-co], notify: [mine-desk]}
""",
    )
    for gateway, site_id in (("gw-1", "slope"), ("gw-2", "tank")):
        site = SiteMeta(site_id, site_id, "other", 30.0, 110.0)
        s.ingest(readings_batch(gateway, range(1, 3), site=site), T0)
    accounts.assign_site("slope", "mine-co")
    s.ingest(readings_batch("gw-2", [], batch_id=2, events=[event("gw-2", 3, 4, 0)]), T0)  # tank: county's
    s.ingest(readings_batch("gw-1", [], batch_id=2, events=[event("gw-1", 3, 4, 0)]), T0)  # slope: mine-co's
    planned = {(j.alarm_id, j.contact) for j in s.notify_jobs()}
    slope_alarm = max(j.alarm_id for j in s.notify_jobs())
    assert planned == {(slope_alarm, "mine-desk")}
