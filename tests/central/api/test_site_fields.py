"""Sites as the county describes them: contact person and phone, the types it monitors, a time zone;
from the site file, over the wire, and from the admin (both stores)."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from protocols.site import SiteInfo
from protocols.wire import SiteMeta, batch_to_dict, decode_batch, encode_batch
from tests.central.api.handling_app import Desk, desk
from tests.central.builders import T0, readings_batch

__all__ = ["desk"]

DAM = SiteMeta(
    "dam-7", "七号尾矿库", "tailings_dam", 30.2, 110.1, contact_person="张伟", contact_phone="+86 717 555 0199",
    time_zone="Asia/Shanghai",
)  # fmt: skip


def test_a_site_file_may_name_the_contact_and_the_new_types() -> None:
    base = {"id": "dam-7", "name": "七号尾矿库", "latitude_deg": 30.2, "longitude_deg": 110.1}
    for kind in ("tailings_dam", "reservoir", "hazardous_chemicals_warehouse", "fireworks_storage"):
        assert SiteInfo.model_validate({**base, "type": kind}).contact_person == ""  # old files: no contact
    info = SiteInfo.model_validate({**base, "type": "reservoir", "contact_person": "张伟",
                                    "contact_phone": "0717-5550199", "time_zone": "Asia/Shanghai"})  # fmt: skip
    assert (info.contact_phone, info.time_zone) == ("0717-5550199", "Asia/Shanghai")
    with pytest.raises(ValidationError, match="contact_phone"):
        SiteInfo.model_validate({**base, "type": "reservoir", "contact_phone": "call me"})


def test_the_contact_travels_only_when_set() -> None:
    plain = readings_batch("gw-1", [1], site=SiteMeta("s", "S", "other", 1.0, 2.0))
    assert set(batch_to_dict(plain)["site"]) == {"id", "name", "type", "latitude_deg", "longitude_deg"}
    full = dataclasses.replace(plain, site=DAM)
    assert decode_batch(encode_batch(full)).site == DAM


def test_sites_show_the_contact_from_the_gateway_or_the_admin(desk: Desk) -> None:
    desk.store.ingest(readings_batch("gw-1", [1], site=DAM), T0)
    [site] = desk.get("/api/v1/sites")["data"]
    assert (site["type"], site["contact_person"], site["contact_phone"], site["time_zone"]) == (
        "tailings_dam", "张伟", "+86 717 555 0199", "Asia/Shanghai",
    )  # fmt: skip
    body = {"name": "七号尾矿库", "type": "tailings_dam", "latitude_deg": 30.2, "longitude_deg": 110.1,
            "contact_person": "李娜", "contact_phone": "13800000000"}  # fmt: skip
    r = desk.client.put("/api/v1/sites/dam-7", json=body, headers=desk.admin)
    assert (r.status_code, r.json()["contact_person"], r.json()["time_zone"]) == (200, "李娜", None)
    desk.store.ingest(readings_batch("gw-1", [2], site=DAM, batch_id=2), T0)  # the admin's wins now
    assert desk.get("/api/v1/sites")["data"][0]["contact_person"] == "李娜"
    bad = desk.client.put(
        "/api/v1/sites/dam-7", json={**body, "time_zone": "Mars/Olympus"}, headers=desk.admin
    )
    assert bad.status_code == 400 and "Mars/Olympus" in bad.json()["detail"]
