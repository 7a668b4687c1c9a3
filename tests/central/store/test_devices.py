"""Devices and their text points (model, firmware) as the gateways report them; "not available" readings.

The edge keeps each device's text points in its acquisition statistics, which its heartbeat carries under
``buses.<bus>.devices.<device>.attributes``; the central serves them per device (``GET /api/v1/devices``).
"""

from __future__ import annotations

import math

import numpy as np

from central.store.base import Store
from protocols.quality import Quality
from protocols.records import ReadingBlock
from protocols.wire import Batch, ChannelMeta, decode_batch, encode_batch
from tests.central.builders import SITE, T0, key, readings_batch

HEARTBEAT: dict[str, object] = {
    "version": "0.1.0",
    "heartbeat_interval_s": 60,
    "buses": {
        "rs485-1": {"type": "rtu", "devices": {
            "dev-1": {"requests": 12, "online": True, "attributes": {"model_name": "GLM-4", "firmware": "2.1.7"}},
            "dev-2": {"requests": 12, "online": True, "attributes": {}},
        }},
        "gnss": {"type": "serial_line", "devices": {"rover": {"online": True}}},
    },
}  # fmt: skip


def metas(gateway: str) -> list[ChannelMeta]:
    return [
        ChannelMeta(key(gateway, "dev-1", "p0"), "%LEL", "gas_level_monitor"),
        ChannelMeta(key(gateway, "dev-1", "p1"), "m", "gas_level_monitor"),
        ChannelMeta(key(gateway, "dev-2", "p0"), "ppm", "gas_toxic_h2s"),
    ]


def test_devices_carry_the_text_points_of_the_latest_heartbeat(store: Store) -> None:
    batch = readings_batch("gw-1", range(1, 5), site=SITE, channels=metas("gw-1"), heartbeat=HEARTBEAT)
    store.ingest(decode_batch(encode_batch(batch)), T0 + 1000)  # as the wire carries it
    store.ingest(readings_batch("gw-2", range(1, 3), channels=metas("gw-2")), T0 + 2000)  # no heartbeat yet
    found = {(d.gateway_id, d.device): d for d in store.devices()}
    assert set(found) == {("gw-1", "dev-1"), ("gw-1", "dev-2"), ("gw-2", "dev-1"), ("gw-2", "dev-2")}
    glm = found[("gw-1", "dev-1")]
    assert (glm.profile, glm.points, glm.site_id) == ("gas_level_monitor", 2, SITE.id)
    assert glm.attributes == {"model_name": "GLM-4", "firmware": "2.1.7"} and glm.attributes_ms == T0 + 1000
    assert found[("gw-1", "dev-2")].attributes == {}
    assert found[("gw-2", "dev-1")].attributes == {} and found[("gw-2", "dev-1")].attributes_ms is None
    assert [d.device for d in store.devices(gateway_id="gw-2")] == ["dev-1", "dev-2"]
    assert [d.gateway_id for d in store.devices(site_id=SITE.id)] == ["gw-1", "gw-1"]


def test_a_not_available_reading_is_stored_as_sent(store: Store) -> None:
    """256 (not_available) and a null value survive the wire and the store, like every quality."""
    na = int(Quality.NOT_AVAILABLE)
    block = ReadingBlock.of([0, 0], [T0, T0 + 1000], [math.nan, 21.5], [na, 0])
    batch = Batch("gw-1", 1, T0, [key("gw-1")], block, np.array([1, 2], dtype=np.int64))
    store.ingest(decode_batch(encode_batch(batch)), T0)
    rows = store.readings(key("gw-1"), T0, T0 + 2000, 10)
    assert [(r.value, r.quality) for r in rows] == [(None, na), (21.5, 0)]
