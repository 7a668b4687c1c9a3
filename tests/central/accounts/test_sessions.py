"""Logging in and out, the cookie, expiry, CSRF, disabled users, and brute-force lockout (both stores)."""

from __future__ import annotations

from central.accounts.sessions import COOKIE
from tests.central.accounts.world import ORIGIN, PASSWORD, World
from tests.central.client import TestClient, bearer


def test_login_sets_a_strict_http_only_cookie_and_says_who(world: World) -> None:
    r = world.client.post("/api/v1/session", json={"username": "duty", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["user"] == {"username": "duty", "display_name": "Duty Officer", "org_id": "county",
                            "role": "operator", "created_ms": 0, "disabled_ms": None}  # fmt: skip
    assert body["expires_ms"] == world.clock.now_ms + 1800 * 1000
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}={body['token']}" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    # the client keeps the cookie: the session works without a bearer header
    assert world.client.get("/api/v1/session").json()["user"]["username"] == "duty"
    assert world.client.get("/api/v1/sites").status_code == 200
    # and the token works as a bearer token
    world.client.cookies.clear()
    assert world.client.get("/api/v1/session", headers=bearer(body["token"])).status_code == 200


def test_wrong_user_and_wrong_password_answer_alike(world: World) -> None:
    a = world.client.post("/api/v1/session", json={"username": "duty", "password": "not it at all"})
    world.clock.advance(3600)
    b = world.client.post("/api/v1/session", json={"username": "nobody", "password": "not it at all"})
    assert (
        (a.status_code, a.json())
        == (b.status_code, b.json())
        == (401, {"detail": "wrong username or password"})
    )
    assert "set-cookie" not in a.headers


def test_logout_ends_the_session(world: World) -> None:
    token = world.login("duty")["token"]
    r = world.client.delete("/api/v1/session", headers={"Origin": ORIGIN})
    assert r.status_code == 204
    assert world.client.get("/api/v1/sites", headers=bearer(token)).json() == {
        "detail": "the session has ended"
    }


def test_sessions_expire_when_idle_and_at_the_absolute_limit(world: World) -> None:
    idle = world.headers_of("duty")
    world.clock.advance(1799)
    assert world.client.get("/api/v1/sites", headers=idle).status_code == 200  # use keeps it alive
    world.clock.advance(1799)
    assert world.client.get("/api/v1/sites", headers=idle).status_code == 200
    world.clock.advance(1801)
    r = world.client.get("/api/v1/sites", headers=idle)
    assert (r.status_code, r.json()["detail"]) == (401, "the session has expired")
    busy = world.headers_of("duty")
    for _ in range(12 * 60 // 20):  # used every 20 minutes for 12 hours
        world.clock.advance(20 * 60)
        last = world.client.get("/api/v1/sites", headers=busy)
    assert (last.status_code, last.json()["detail"]) == (401, "the session has expired")


def test_a_disabled_users_sessions_end_at_once(world: World) -> None:
    victim = world.headers_of("mine-north.op")
    boss = world.headers_of("boss")
    assert world.client.get("/api/v1/sites", headers=victim).status_code == 200
    r = world.client.post("/api/v1/users/mine-north.op/disable", headers=boss)
    assert r.status_code == 200 and r.json()["disabled_ms"] == world.clock.now_ms
    assert world.client.get("/api/v1/sites", headers=victim).status_code == 401
    refused = world.client.post("/api/v1/session", json={"username": "mine-north.op", "password": PASSWORD})
    assert refused.status_code == 401


def test_cookie_authenticated_unsafe_requests_need_our_origin(world: World) -> None:
    world.login("boss")  # the cookie is now in the client's jar
    body = {"id": "quarry-south", "name": "Quarry", "parent_id": "county"}
    forged = world.client.post("/api/v1/orgs", json=body, headers={"Origin": "https://evil.example"})
    assert (forged.status_code, forged.json()["detail"]) == (
        403,
        "cross-site request refused (Origin does not match)",
    )
    bare = world.client.post("/api/v1/orgs", json=body)  # neither Origin nor Referer
    assert bare.status_code == 403
    ok = world.client.post("/api/v1/orgs", json=body, headers={"Origin": ORIGIN})
    assert ok.status_code == 201
    # reads and bearer-token writes need no Origin
    assert world.client.get("/api/v1/orgs").status_code == 200
    world.client.cookies.clear()
    r = world.client.post("/api/v1/orgs", json={**body, "id": "quarry-west"}, headers=world.admin)
    assert r.status_code == 201


def test_failed_logins_slow_down_then_lock_until_an_admin_lifts_it(world: World) -> None:
    def attempt(password: str) -> int:
        return world.client.post(
            "/api/v1/session", json={"username": "duty", "password": password}
        ).status_code

    assert attempt("wrong-one") == 401
    r = world.client.post("/api/v1/session", json={"username": "duty", "password": PASSWORD})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"  # too soon, even with the right password
    delays = []
    for n in range(2, 6):
        delay_s = 2 ** (n - 2)
        world.clock.advance(delay_s - 0.001)
        assert attempt("wrong") == 429
        world.clock.advance(0.001)
        assert attempt("wrong") == 401
        delays.append(delay_s)
    assert delays == [1, 2, 4, 8]
    world.clock.advance(600)
    assert attempt(PASSWORD) == 429  # locked: 5 failures
    boss = world.headers_of("boss")
    locks = world.client.get("/api/v1/lockouts", headers=boss).json()["data"]
    assert [x["subject"] for x in locks] == ["user:duty"]
    assert world.client.delete("/api/v1/lockouts/user:duty", headers=boss).status_code == 204
    assert attempt(PASSWORD) == 200
    kinds = [e["kind"] for e in world.client.get("/api/v1/audit?actor=duty", headers=boss).json()["data"]]
    assert kinds.count("login.failed") == 5 and kinds.count("login.refused") == 6


def test_the_cookie_is_secure_over_https(world: World) -> None:
    with TestClient(world.client.app, base_url="https://testserver") as https:
        r = https.post("/api/v1/session", json={"username": "duty", "password": PASSWORD})
        assert r.status_code == 200 and "Secure" in r.headers["set-cookie"]


def test_one_address_failing_for_many_usernames_is_locked_until_lifted(world: World) -> None:
    for n in range(20):
        world.clock.advance(60)  # past each wait (at most FIELDWATCH_LOGIN_MAX_DELAY_S)
        r = world.client.post("/api/v1/session", json={"username": f"guess{n}", "password": "wrong-wrong"})
        assert r.status_code == 401, n
    world.clock.advance(60)
    locked = world.client.post("/api/v1/session", json={"username": "duty", "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 3000
    r = world.client.delete("/api/v1/lockouts/client:testclient", headers=world.admin)
    assert r.status_code == 204
    assert (
        world.client.post("/api/v1/session", json={"username": "duty", "password": PASSWORD}).status_code
        == 200
    )


def test_tokens_expire(world: World) -> None:
    made = world.client.post(
        "/api/v1/tokens", json={"role": "viewer", "expires_in_days": 1}, headers=world.admin
    )
    assert made.status_code == 201 and made.json()["expires_ms"] == world.clock.now_ms + 86_400_000
    headers = bearer(made.json()["token"])
    assert world.client.get("/api/v1/sites", headers=headers).status_code == 200
    world.clock.advance(86_400)
    r = world.client.get("/api/v1/sites", headers=headers)
    assert (r.status_code, r.json()["detail"]) == (401, "the token has expired")


def test_failures_far_apart_do_not_add_up_and_old_rows_are_forgotten(world: World) -> None:
    for _ in range(6):  # one typo a day for six days: never locked
        world.clock.advance(86_400)
        r = world.client.post("/api/v1/session", json={"username": "duty", "password": "typo-typo"})
        assert r.status_code == 401
    world.clock.advance(2)  # past the one-second wait after a single failure
    old = world.login("duty")["token"]
    world.clock.advance(2 * 86_400)
    world.login("boss")  # a login tidies up: the expired session and the stale counts go
    assert world.accounts.session(old.split("_")[1]) is None
    assert world.accounts.failures("client:testclient") is None


def test_a_person_changes_their_own_password_knowing_the_current_one(world: World) -> None:
    me = world.headers_of("mine-north.op")
    wrong = {"current": "not it", "password": "a brand new passphrase"}
    assert world.client.put("/api/v1/session/password", json=wrong, headers=me).status_code == 403
    right = {"current": PASSWORD, "password": "a brand new passphrase"}
    assert world.client.put("/api/v1/session/password", json=right, headers=me).status_code == 204
    assert world.client.put("/api/v1/session/password", json=right, headers=world.admin).status_code == 404
    world.clock.advance(10)
    assert world.login("mine-north.op", "a brand new passphrase")["user"]["username"] == "mine-north.op"
