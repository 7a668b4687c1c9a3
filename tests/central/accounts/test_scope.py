"""An enterprise sees its own site and nothing of the others', on every read route (both stores).

The walk reads ``/openapi.json`` and calls every GET route as an enterprise operator and as an
enterprise admin: with its own ids, and with another organization's ids (404). A route whose parameters
it cannot fill fails the test, so routes added later must be added to ``OWN`` and ``FOREIGN``.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx

from central.api.routers.stream import RESCOPE_S
from central.app import create_app
from central.auth import Role
from central.settings import load_settings
from central.store.accounts import AccountStore
from central.store.base import Store
from central.store.records import AlarmFilter
from protocols.wire import SiteMeta, encode_batch
from tests.central.accounts.world import GATEWAYS, PASSWORD, SITES, World, make_accounts, populate
from tests.central.builders import event, key, readings_batch
from tests.central.client import add_token, bearer
from tests.support.serving import read_event, serving

ME, OTHERS = "mine-north", ("tanks-east", "forest-west")
FOREIGN_WORDS = tuple(w for org in OTHERS for w in (org, GATEWAYS[org], SITES[org]))
STREAMS = {"/api/v1/stream"}  # endless: checked over real HTTP below


def alarm_of(store: Store, gateway: str) -> int:
    (found,) = store.alarms(AlarmFilter(gateway_id=gateway)).data
    return found.id


def fill(world: World, path: str, org: str) -> str:
    values = {
        "gateway_id": GATEWAYS[org],
        "alarm_id": str(alarm_of(world.store, GATEWAYS[org])),
        "username": f"{org}.op",
        "site_id": SITES[org],
        "token_id": world.extra["tokens"][org],
    }
    for name in re.findall(r"{(\w+)}", path):
        assert name in values, f"the walk does not know how to fill {{{name}}} in {path}: add it"
        path = path.replace(f"{{{name}}}", values[name])
    return path


def query_of(operation: dict[str, Any], org: str) -> dict[str, str]:
    values = {"channel": key(GATEWAYS[org])}
    out = {}
    for p in operation.get("parameters", []):
        if p["in"] == "query" and p.get("required"):
            assert p["name"] in values, f"the walk does not know the required query {p['name']}: add it"
            out[p["name"]] = values[p["name"]]
    return out


def formats_of(operation: dict[str, Any]) -> list[str | None]:
    """None (the default shape), and every value of the route's ``format`` query parameter."""
    found: list[str | None] = [None]
    for p in operation.get("parameters", []):
        if p["in"] == "query" and p["name"] == "format":
            found += re.findall(r"'enum': \[([^\]]*)\]", str(p["schema"]))[0].replace("'", "").split(", ")
    return found


def test_every_get_route_keeps_an_enterprise_to_its_own_site(world: World) -> None:
    world.extra["tokens"] = {}
    for org in (ME, *OTHERS):
        r = world.client.post("/api/v1/tokens", json={"role": "viewer", "org_id": org}, headers=world.admin)
        world.extra["tokens"][org] = r.json()["id"]
    spec = world.client.get("/openapi.json").json()
    routes = [
        (path, ops["get"]) for path, ops in spec["paths"].items() if "get" in ops and path not in STREAMS
    ]
    assert len(routes) >= 15
    walked = 0
    for username in (f"{ME}.op", "mine.admin"):
        headers = world.headers_of(username)
        for path, operation in routes:
            for shape in formats_of(operation):  # JSON, and the CSV and HTML a route also answers in
                params = {**query_of(operation, ME), **({"format": shape} if shape else {})}
                own = world.client.get(fill(world, path, ME), params=params, headers=headers)
                assert own.status_code in (200, 403), (username, path, shape, own.status_code, own.text)
                leaked = [w for w in FOREIGN_WORDS if w in own.text]
                assert not leaked, f"{username} GET {path} ({shape or 'json'}) shows {leaked}"
            if "{" in path or query_of(operation, ME):
                for org in OTHERS:
                    url, params = fill(world, path, org), query_of(operation, org)
                    other = world.client.get(url, params=params, headers=headers)
                    assert other.status_code in (403, 404), (username, path, org, other.status_code)
                    # the answer may repeat what was asked ("no gateway gw-tanks"), nothing more
                    said = other.text
                    for asked in [*url.split("/"), *params.values()]:
                        said = said.replace(asked, "") if len(asked) > 3 else said
                    assert not [w for w in FOREIGN_WORDS if w in said], (username, path, other.text)
            walked += 1
    assert walked == 2 * len(routes)


def test_an_enterprise_user_sees_one_of_three_sites(world: World) -> None:
    mine, duty = world.headers_of(f"{ME}.op"), world.headers_of("duty")

    def get(path: str, headers: dict[str, str]) -> Any:
        r = world.client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
        return r.json()

    assert [s["id"] for s in get("/api/v1/sites", mine)["data"]] == [SITES[ME]]
    assert len(get("/api/v1/sites", duty)["data"]) == 3
    assert [g["id"] for g in get("/api/v1/gateways", mine)["data"]] == [GATEWAYS[ME]]
    assert {c["gateway_id"] for c in get("/api/v1/channels", mine)["data"]} == {GATEWAYS[ME]}
    assert get("/api/v1/channels", mine)["count"] == 2 and get("/api/v1/channels", duty)["count"] == 6
    latest = get("/api/v1/latest", mine)
    assert latest["count"] == 2 and all(x["channel"].startswith(GATEWAYS[ME] + "/") for x in latest["data"])
    assert get(f"/api/v1/latest?gateway={GATEWAYS['tanks-east']}", mine)["count"] == 0
    alarms = get("/api/v1/alarms", mine)
    assert alarms["count"] == 1 and alarms["data"][0]["gateway_id"] == GATEWAYS[ME]
    assert get("/api/v1/alarms", duty)["count"] == 3
    features = get("/api/v1/map", mine)["features"]
    assert {f["id"] for f in features} == {f"site:{SITES[ME]}", f"device:{GATEWAYS[ME]}/dev-1"}
    assert {d["gateway_id"] for d in get("/api/v1/devices", mine)["data"]} == {GATEWAYS[ME]}
    assert world.client.get(f"/api/v1/gateways/{GATEWAYS['tanks-east']}", headers=mine).json() == {
        "detail": f"no gateway {GATEWAYS['tanks-east']}"
    }
    assert world.client.get("/metrics", headers=mine).status_code == 403


def test_acting_on_another_organizations_alarm_is_404_and_people_are_named(world: World) -> None:
    mine = world.headers_of(f"{ME}.op")
    theirs = alarm_of(world.store, GATEWAYS["tanks-east"])
    r = world.client.post(f"/api/v1/alarms/{theirs}/acknowledge", json={"note": "x"}, headers=mine)
    assert (r.status_code, r.json()["detail"]) == (404, f"no alarm {theirs}")
    own = alarm_of(world.store, GATEWAYS[ME])
    r = world.client.post(f"/api/v1/alarms/{own}/acknowledge", json={"note": "crew out"}, headers=mine)
    assert r.status_code == 200 and r.json()["acknowledged_by"] == f"Op {ME} ({ME}.op)"
    r = world.client.post(
        f"/api/v1/alarms/{own}/close", json={"handling": "drained", "force": True}, headers=mine
    )
    assert r.json()["closed_by"] == f"Op {ME} ({ME}.op)"
    timeline = world.client.get(f"/api/v1/alarms/{own}", headers=mine).json()["timeline"]
    assert [e["actor"] for e in timeline[-2:]] == [f"Op {ME} ({ME}.op)"] * 2
    duty = world.headers_of("duty")  # the county's officer acts on the enterprise's other alarm
    mine_alarms = world.client.get("/api/v1/alarms?status=open", headers=mine).json()["data"]
    assert mine_alarms == []
    theirs_too = alarm_of(world.store, GATEWAYS["forest-west"])
    assert (
        world.client.post(
            f"/api/v1/alarms/{theirs_too}/acknowledge", json={"note": "x"}, headers=duty
        ).status_code
        == 200
    )
    enterprise_log = world.client.get(
        "/api/v1/audit?kind=alarm.close", headers=world.headers_of("mine.admin")
    ).json()
    assert [e["target"] for e in enterprise_log["data"]] == [str(own)]
    log = world.client.get("/api/v1/audit", headers=world.headers_of("boss")).json()["data"]
    actions = [(e["kind"], e["actor"], e["target"]) for e in log if e["kind"].startswith("alarm.")]
    assert actions == [
        ("alarm.acknowledge", "Duty Officer (duty)", str(theirs_too)),
        ("alarm.close", f"Op {ME} ({ME}.op)", str(own)),
        ("alarm.acknowledge", f"Op {ME} ({ME}.op)", str(own)),
    ]
    (forest,) = [e for e in log if e["target"] == str(theirs_too) and e["kind"] == "alarm.acknowledge"]
    assert forest["org_id"] == "forest-west"  # in the log of the alarm's organization


def test_enterprise_admins_manage_their_own_users_only(world: World) -> None:
    admin = world.headers_of("mine.admin")
    new = {"username": "pit.boss", "org_id": ME, "role": "viewer", "password": "a long passphrase"}
    assert world.client.post("/api/v1/users", json=new, headers=admin).status_code == 201
    elsewhere = {**new, "username": "spy", "org_id": "tanks-east"}
    assert world.client.post("/api/v1/users", json=elsewhere, headers=admin).status_code == 404
    assert world.client.post("/api/v1/users/tanks-east.op/disable", headers=admin).status_code == 404
    names = [u["username"] for u in world.client.get("/api/v1/users", headers=admin).json()["data"]]
    assert names == ["mine-north.op", "mine.admin", "pit.boss"]
    r = world.client.put(f"/api/v1/sites/{SITES['tanks-east']}", headers=admin,
                         json={"name": "mine now", "type": "other", "latitude_deg": 1, "longitude_deg": 1})  # fmt: skip
    assert r.status_code == 404
    audit = world.client.get("/api/v1/audit", headers=admin).json()["data"]
    assert {e["org_id"] for e in audit} == {ME}
    assert ("user.create", "Mine Admin (mine.admin)", "pit.boss") in [
        (e["kind"], e["actor"], e["target"]) for e in audit
    ]
    assert PASSWORD not in str(audit) and "a long passphrase" not in str(audit)


async def test_the_stream_carries_only_the_callers_organization(store: Store, tmp_path: Path) -> None:
    populate(store)
    make_accounts(AccountStore(store), store)
    root = bearer(add_token(store, Role.ADMIN, name="root"))  # ingests for any gateway
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db")
    async with serving(create_app(settings, store=store)) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.post("/api/v1/session", json={"username": f"{ME}.op", "password": PASSWORD})
        mine = bearer(r.json()["token"])
        async with asyncio.timeout(10), client.stream("GET", "/api/v1/stream", headers=mine) as stream:
            lines = stream.aiter_lines()
            assert (await anext(lines)).startswith(": fieldwatch")
            for seq, org in enumerate(("tanks-east", ME, "forest-west"), start=10):
                gw = GATEWAYS[org]
                batch = readings_batch(gw, [], batch_id=seq, events=[event(gw, seq, 2, 0, rule="velocity")])
                r = await client.post("/api/v1/ingest", content=encode_batch(batch), headers=root)
                assert r.status_code == 200
            first = await read_event(lines, "alarm")
            assert first["gateway_id"] == GATEWAYS[ME]
            # a second gateway joins the enterprise's site after the stream opened: its changes come too
            site = {"name": "Mine", "type": "other", "latitude_deg": 30.0, "longitude_deg": 110.0,
                    "gateways": [GATEWAYS[ME], "gw-mine-2"]}  # fmt: skip
            assert (
                await client.put(f"/api/v1/sites/{SITES[ME]}", json=site, headers=root)
            ).status_code == 200
            await asyncio.sleep(RESCOPE_S)
            meta = SiteMeta(SITES[ME], "Mine", "other", 30.0, 110.0)
            joined = readings_batch("gw-mine-2", [1], site=meta, events=[event("gw-mine-2", 2, 3, 0)])
            r = await client.post("/api/v1/ingest", content=encode_batch(joined), headers=root)
            assert r.status_code == 200
            assert (await read_event(lines, "alarm"))["gateway_id"] == "gw-mine-2"


def test_only_the_top_organizations_admins_ingest_for_any_gateway(world: World) -> None:
    batch = encode_batch(readings_batch(GATEWAYS["tanks-east"], [90], batch_id=90))
    r = world.client.post("/api/v1/ingest", content=batch, headers=world.headers_of("mine.admin"))
    assert r.status_code == 403
    assert world.client.post("/api/v1/ingest", content=batch, headers=world.admin).status_code == 200


def test_shelve_comment_and_assign_keep_to_the_callers_alarms_and_are_audited(world: World) -> None:
    mine = world.headers_of(f"{ME}.op")
    theirs, own = alarm_of(world.store, GATEWAYS["tanks-east"]), alarm_of(world.store, GATEWAYS[ME])
    actions = (("shelve", {"duration_s": 600, "reason": "crew on site"}), ("unshelve", None),
               ("comment", {"note": "pump checked"}), ("assign", {"assignee": "Li Wei"}))  # fmt: skip
    for action, body in actions:
        r = world.client.post(f"/api/v1/alarms/{theirs}/{action}", json=body, headers=mine)
        assert (r.status_code, r.json()["detail"]) == (404, f"no alarm {theirs}"), action
        assert world.client.post(f"/api/v1/alarms/{own}/{action}", json=body, headers=mine).status_code == 200
    log = world.client.get("/api/v1/audit", headers=world.headers_of("mine.admin")).json()["data"]
    done = [(e["kind"], e["target"]) for e in log if e["kind"].startswith("alarm.")]
    assert done == [(f"alarm.{a}", str(own)) for a, _ in reversed(actions)]
