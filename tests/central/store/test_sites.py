"""Who may write a site, the same suite on both stores: a gateway creates its own site and updates the one it
belongs to, never another gateway's; what an admin set wins; an admin may list gateways for a site."""

from __future__ import annotations

from pathlib import Path

import orjson

from central.app import create_app
from central.auth import Role
from central.settings import load_settings
from central.store.base import Store
from protocols.wire import SiteMeta, batch_to_dict, encode_batch
from tests.central.builders import SITE, T0, readings_batch
from tests.central.client import TestClient, add_token, bearer

PWNED = SiteMeta(SITE.id, "PWNED", "other", 89.0, 179.0)


def site_of(store: Store, site_id: str = SITE.id) -> tuple[str, float | None, list[str]]:
    site = next(s for s in store.sites() if s.id == site_id)
    return site.name, site.latitude_deg, site.gateways


def test_a_gateway_may_not_rename_or_join_another_gateways_site(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(1, 11), site=SITE), T0)
    assert site_of(store) == (SITE.name, SITE.latitude_deg, ["gw-1"])
    outcome = store.ingest(readings_batch("gw-2", range(1, 11), site=PWNED), T0)
    assert outcome.site_refused and outcome.readings_added == 10  # its own readings still count
    assert site_of(store) == (SITE.name, SITE.latitude_deg, ["gw-1"])
    assert store.gateway("gw-2").site_id is None  # type: ignore[union-attr]
    moved = SiteMeta(SITE.id, "North pit slope (east)", SITE.type, 30.6, 110.4)
    assert not store.ingest(readings_batch("gw-1", range(11, 21), site=moved), T0).site_refused
    assert site_of(store) == ("North pit slope (east)", 30.6, ["gw-1"])


def test_what_an_admin_set_wins_and_an_admin_may_list_gateways(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(1, 11), site=SITE), T0)
    store.put_site(SiteMeta(SITE.id, "Admin's name", SITE.type, 30.0, 110.0), T0)
    assert not store.ingest(readings_batch("gw-1", range(11, 21), site=SITE), T0).site_refused
    assert site_of(store) == ("Admin's name", 30.0, ["gw-1"])
    store.ingest(readings_batch("gw-2", range(1, 11)), T0)
    store.put_site(SiteMeta(SITE.id, "Admin's name", SITE.type, 30.0, 110.0), T0, gateways=("gw-1", "gw-2"))
    assert site_of(store)[2] == ["gw-1", "gw-2"]
    assert store.ingest(readings_batch("gw-3", range(1, 11), site=PWNED), T0).site_refused  # not listed
    assert not store.ingest(readings_batch("gw-2", range(11, 21), site=PWNED), T0).site_refused
    assert site_of(store) == ("Admin's name", 30.0, ["gw-1", "gw-2"])


def test_over_http_the_hijack_changes_nothing_and_bad_coordinates_are_422(
    store: Store, tmp_path: Path
) -> None:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db")
    app = create_app(settings, store=store, clock_ms=lambda: T0)
    gw1 = bearer(add_token(store, Role.GATEWAY, "gw-1"))
    gw2 = bearer(add_token(store, Role.GATEWAY, "gw-2"))
    with TestClient(app) as client:
        assert client.post("/api/v1/ingest", content=encode_batch(readings_batch("gw-1", [1], site=SITE)),
                           headers=gw1).status_code == 200  # fmt: skip
        hijack = client.post(
            "/api/v1/ingest", content=encode_batch(readings_batch("gw-2", [1], site=PWNED)), headers=gw2
        )
        assert hijack.status_code == 200  # the gateway's own rows are stored; the site is left alone
        assert site_of(store) == (SITE.name, SITE.latitude_deg, ["gw-1"])
        body = batch_to_dict(readings_batch("gw-1", [2], site=SITE))
        body["site"]["latitude_deg"] = 999
        answer = client.post(
            "/api/v1/ingest", content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), headers=gw1
        )
        assert (
            answer.status_code == 422
            and "site.latitude_deg: 999 is outside -90..90" in answer.json()["error"]
        )
        assert site_of(store)[1] == SITE.latitude_deg
