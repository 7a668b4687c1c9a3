"""Every action lands in the audit log with who did it and from where; nothing there changes, and no
password or token is ever in it (both stores)."""

from __future__ import annotations

from tests.central.accounts.world import ORIGIN, PASSWORD, SITES, World


def test_each_action_is_audited_with_its_actor(world: World) -> None:
    boss = world.headers_of("boss")  # login.ok
    world.client.post(
        "/api/v1/session", json={"username": "boss", "password": "wrong-password"}
    )  # login.failed
    world.clock.advance(10)
    world.client.post(
        "/api/v1/orgs", json={"id": "quarry", "name": "Quarry", "parent_id": "county"}, headers=boss
    )
    new_user = {"username": "q.op", "org_id": "quarry", "role": "operator", "password": "a long passphrase"}
    world.client.post("/api/v1/users", json=new_user, headers=boss)
    world.client.put("/api/v1/users/q.op/password", json={"password": "another passphrase"}, headers=boss)
    world.client.post("/api/v1/users/q.op/disable", headers=boss)
    token = world.client.post(
        "/api/v1/tokens", json={"role": "viewer", "org_id": "quarry"}, headers=boss
    ).json()
    world.client.delete(f"/api/v1/tokens/{token['id']}", headers=boss)
    site = {
        "name": "Quarry pit",
        "type": "other",
        "latitude_deg": 30.0,
        "longitude_deg": 110.0,
        "org": "quarry",
    }
    world.client.put("/api/v1/sites/site-quarry", json=site, headers=boss)
    alarm_id = world.client.get("/api/v1/alarms", headers=boss).json()["data"][0]["id"]
    world.client.post(f"/api/v1/alarms/{alarm_id}/acknowledge", json={"note": "seen"}, headers=boss)
    world.client.post(
        f"/api/v1/alarms/{alarm_id}/close", json={"handling": "fixed", "force": True}, headers=boss
    )
    world.login("duty")
    world.client.delete("/api/v1/session", headers={"Origin": ORIGIN})  # logout (the cookie's session)

    log = world.client.get("/api/v1/audit?limit=1000", headers=boss).json()
    got = {(e["kind"], e["actor"], e["target"]) for e in log["data"]}
    who = "Bureau Admin (boss)"
    expected = {
        ("login.ok", who, "boss"), ("login.failed", "boss", "boss"), ("org.create", who, "quarry"),
        ("user.create", who, "q.op"), ("user.password", who, "q.op"), ("user.disable", who, "q.op"),
        ("token.create", who, token["id"]), ("token.revoke", who, token["id"]),
        ("site.put", who, "site-quarry"), ("alarm.acknowledge", who, str(alarm_id)),
        ("alarm.close", who, str(alarm_id)), ("logout", "Duty Officer (duty)", "duty"),
    }  # fmt: skip
    assert expected <= got, expected - got
    assert {e["client"] for e in log["data"]} == {"testclient"}
    text = str(log)
    for secret in (PASSWORD, "wrong-password", "a long passphrase", "another passphrase", token["token"]):
        assert secret not in text
    assert world.client.get(f"/api/v1/audit?kind=site.put&actor={who}", headers=boss).json()["count"] == 1
    assert SITES["mine-north"] not in {e["target"] for e in log["data"] if e["kind"] == "site.put"}


def test_no_route_changes_the_audit_log(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    audit_paths = {path: set(ops) for path, ops in spec["paths"].items() if "audit" in path}
    assert audit_paths == {"/api/v1/audit": {"get"}}
    boss = world.headers_of("boss")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert world.client.request(method, "/api/v1/audit", headers=boss).status_code == 405
