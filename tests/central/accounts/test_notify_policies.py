"""Notification policies are the county's: their contacts' URLs may hold credentials, so an enterprise's
admin neither reads nor replaces them, and a replacement by the county's admin is audited."""

from __future__ import annotations

from tests.central.accounts.world import World

POLICIES = 'contacts:\n  - {name: duty-desk, url: "json://127.0.0.1:9/hook"}\npolicies:\n  - {name: all, notify: [duty-desk]}\n'


def test_only_the_countys_admin_reads_and_replaces_the_policies(world: World) -> None:
    mine_admin = world.headers_of("mine.admin")
    boss = world.headers_of("boss")
    for method in ("GET", "PUT"):
        r = world.client.request(
            method, "/api/v1/notify/policies", json={"text": POLICIES}, headers=mine_admin
        )
        assert r.status_code == 403, (method, r.text)
    assert world.client.get("/api/v1/notify/policies", headers=boss).status_code == 404  # none yet
    r = world.client.put("/api/v1/notify/policies", json={"text": POLICIES}, headers=boss)
    assert r.status_code == 200, r.text
    log = world.client.get("/api/v1/audit?kind=notify.policies", headers=boss).json()
    assert log["count"] == 1 and log["data"][0]["actor"].endswith("(boss)"), log
    assert "json://" not in str(log), "the policies' URLs do not go into the audit log"
