"""The demo's county (three sites, their gateways, readings and incidents) with the demo's accounts: each
enterprise's operator sees its one site on every read route, and the others' things answer 404; the
county's duty officer sees all three (both stores)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.accounts.users import new_user
from central.app import create_app
from central.settings import load_settings
from central.store.account_records import Org
from central.store.accounts import AccountStore
from central.store.base import Store
from central.store.records import AlarmFilter
from simulator.demo.accounts import enterprise_of
from tests.central.client import TestClient, bearer
from tests.central.console.county import COUNTY, load_county

PASSWORD = "correct horse battery"


@pytest.fixture
def county(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    end_ms = time.time_ns() // 1_000_000
    load_county(store, end_ms, hours=1.0)
    accounts = AccountStore(store)
    accounts.add_user(
        new_user("duty", "county", "operator", display_name="Duty", password=PASSWORD, now_ms=0)
    )
    for spec in COUNTY:
        org = enterprise_of(spec.site.id)
        accounts.add_org(Org(org, spec.site.name, "county", 0))
        accounts.assign_site(spec.site.id, org)
        accounts.add_user(
            new_user(f"{org}.op", org, "operator", display_name=org, password=PASSWORD, now_ms=0)
        )
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db", login_delay_s=0)
    with TestClient(create_app(settings, store=store)) as client:
        yield client


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.cookies.clear()  # the bearer session token only: nothing rides along between users
    return bearer(r.json()["token"])


def get(client: TestClient, path: str, headers: dict[str, str]) -> Any:
    r = client.get(path, headers=headers)
    assert r.status_code == 200, (path, r.text)
    return r.json()


def test_each_enterprise_sees_its_one_of_the_three_sites(county: TestClient, store: Store) -> None:
    duty = login(county, "duty")
    assert len(get(county, "/api/v1/sites", duty)["data"]) == 3
    for spec in COUNTY:
        me = login(county, f"{enterprise_of(spec.site.id)}.op")
        others = [s for s in COUNTY if s is not spec]
        assert [s["id"] for s in get(county, "/api/v1/sites", me)["data"]] == [spec.site.id]
        assert [g["id"] for g in get(county, "/api/v1/gateways", me)["data"]] == [spec.gateway]
        features = get(county, "/api/v1/map", me)["features"]
        assert {f["properties"].get("gateway_id", spec.gateway) for f in features} == {spec.gateway}
        assert f"site:{spec.site.id}" in {f["id"] for f in features}
        latest = get(county, "/api/v1/latest", me)
        assert latest["count"] == len(spec.points) and {
            x["channel"].split("/")[0] for x in latest["data"]
        } == {spec.gateway}
        assert {c["gateway_id"] for c in get(county, "/api/v1/channels", me)["data"]} == {spec.gateway}
        assert {d["gateway_id"] for d in get(county, "/api/v1/devices", me)["data"]} == {spec.gateway}
        alarms = get(county, "/api/v1/alarms", me)
        assert alarms["count"] == store.alarms(AlarmFilter(gateway_id=spec.gateway)).count > 0
        assert {a["gateway_id"] for a in alarms["data"]} == {spec.gateway}
        own_key = spec.key(spec.points[0])
        assert county.get(f"/api/v1/readings?channel={own_key}", headers=me).status_code == 200
        for other in others:
            key = other.key(other.points[0])
            (alarm, *_) = store.alarms(AlarmFilter(gateway_id=other.gateway)).data
            for path in (f"/api/v1/gateways/{other.gateway}", f"/api/v1/readings?channel={key}",
                         f"/api/v1/history?channel={key}", f"/api/v1/alarms/{alarm.id}"):  # fmt: skip
                assert county.get(path, headers=me).status_code == 404, (spec.site.id, path)
            assert get(county, f"/api/v1/latest?gateway={other.gateway}", me)["count"] == 0
            assert get(county, f"/api/v1/alarms?site={other.site.id}", me)["count"] == 0
