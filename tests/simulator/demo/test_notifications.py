"""The demo's notification receiver: its policy file is one the central accepts, and it keeps each
notification once by its id, counted per kind for the alarms asked about."""

from __future__ import annotations

import httpx

from central.notify.policyfile import parse_policies
from simulator.demo.notifications import ID_HEADER, NotificationReceiver


def test_its_policy_file_is_valid_and_points_at_it() -> None:
    with NotificationReceiver() as receiver:
        policies = parse_policies(receiver.policy_text(), "notify.yaml").policies
        urls = [c.url for c in policies.contacts]
        assert urls == [f"json://127.0.0.1:{receiver.port}/desk", f"json://127.0.0.1:{receiver.port}/chief"]
        assert policies.policies[0].escalate[0].notify == ("duty-chief",)


def test_a_repeat_is_dropped_and_counts_are_per_alarm_and_kind() -> None:
    with NotificationReceiver() as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        sent = [("1:5:p:c:raise:4", "1", "raise"), ("1:5:p:c:raise:4", "1", "raise"),
                ("1:5:p:c:clear:0", "1", "clear"), ("2:9:p:c:raise:2", "2", "raise")]  # fmt: skip
        for nid, alarm, kind in sent:
            body = {"notification_id": nid, "alarm_id": alarm, "kind": kind}
            assert httpx.post(url, json=body, headers={ID_HEADER: nid}).status_code == 200
        assert receiver.count_for([1]) == {"raise": 1, "clear": 1}
        assert receiver.count_for([1, 2]) == {"raise": 2, "clear": 1}
        assert receiver.repeats == 1
