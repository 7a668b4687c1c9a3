"""The API's JSON shapes, for ``/openapi.json`` and request validation.

Responses are written by orjson straight from the store's dataclasses (``central.store.records``) for speed;
these models describe the same fields (a test checks real responses against them). Requests (bodies and
query strings) are validated by these models: text may not contain NUL characters, identifiers may not
contain ``/``, and every number is bounded, so nothing a client sends reaches the database unchecked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from central.auth import Role
from protocols.site import ZONE_NAME, SiteType

TEXT = r"^[^\x00]*$"
IDENT = r"^[^\x00/]{1,128}$"
KEY = r"^[^\x00/]{1,128}/[^\x00/]{1,128}/[^\x00/]{1,128}$"
MAX_MS = 4_102_444_800_000  # 2100-01-01
MAX_ID = (1 << 62) - 1

Text = Annotated[str, Field(pattern=TEXT, max_length=4000)]
Ident = Annotated[str, Field(pattern=IDENT)]
Pair = Annotated[list[float], Field(min_length=2, max_length=2)]
IntPair = Annotated[list[int], Field(min_length=2, max_length=2)]
LevelInt = Annotated[int, Field(ge=0, le=4, description="0 clear, 1 blue, 2 yellow, 3 orange, 4 red")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def example(value: dict[str, Any]) -> ConfigDict:
    """A model config with one documented example."""
    return ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [value]})


# ---------------------------------------------------------------- sites and the map

SITE_EXAMPLE = {
    "id": "slope-north", "name": "North pit slope", "type": "mine_slope", "latitude_deg": 30.512,
    "longitude_deg": 110.321, "worst_level": 3, "open_alarms": 2, "gateways": ["gw-slope-01"],
    "worst_hazard_level": 3, "faults": {"count": 1, "worst_level": 2}, "blind": False,
    "contact_person": "Wang Fang", "contact_phone": "+86 717 555 0142", "time_zone": None,
}  # fmt: skip


class FaultsOut(Model):
    count: int = Field(description="fault alarms in force (open, acknowledged)")
    worst_level: LevelInt


class SiteOut(Model):
    model_config = example(SITE_EXAMPLE)

    id: str
    name: str
    type: str
    latitude_deg: float | None
    longitude_deg: float | None
    worst_level: LevelInt = Field(
        description="highest level among open and acknowledged alarms, faults included; 0: none "
        "(colour a site by worst_hazard_level)"
    )
    open_alarms: int = Field(description="open and acknowledged alarms")
    gateways: list[str]
    worst_hazard_level: LevelInt = Field(description="highest level among hazard alarms in force: the colour")
    faults: FaultsOut = Field(description="fault alarms in force (equipment), apart from hazards")
    blind: bool = Field(description="every measured channel of the site is covered by a fault in force")
    contact_person: str | None
    contact_phone: str | None
    time_zone: str | None = Field(description="IANA name; null: the command center's")


class SiteList(Model):
    data: list[SiteOut]
    count: int


class SiteIn(Model):
    name: Text = Field(min_length=1)
    type: SiteType
    latitude_deg: float = Field(ge=-90, le=90)
    longitude_deg: float = Field(ge=-180, le=180)
    contact_person: Text | None = Field(default=None, max_length=100, description="who to call at the site")
    contact_phone: str | None = Field(default=None, max_length=40, pattern=r"^[0-9+()\- ]*$")
    time_zone: str | None = Field(
        default=None, max_length=64, pattern=ZONE_NAME, description="IANA name; null: the command center's"
    )
    gateways: list[Ident] | None = Field(
        default=None,
        max_length=1000,
        description="gateways that may report for this site (attached now if they exist); omitted: unchanged",
    )
    org: Ident | None = Field(
        default=None, description="the organization it belongs to; omitted: unchanged (new: the caller's)"
    )


class Point(Model):
    type: Literal["Point"] = "Point"
    coordinates: Pair = Field(description="[longitude, latitude] in degrees (GeoJSON order)")


class Feature(Model):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: Point
    properties: dict[str, Any] = Field(
        description="kind (site|device), worst_level, and per kind: name, type, open_alarms, gateways "
        "(site) or gateway_id, device, site_id (device)"
    )


class FeatureCollection(Model):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


# ---------------------------------------------------------------- gateways and channels


class GatewayOut(Model):
    model_config = example(
        {"id": "gw-slope-01", "site_id": "slope-north", "status": "online", "first_seen_ms": 1764300000000,
         "last_seen_ms": 1764370060000, "acked_through": 120331, "version": "0.1.0",
         "heartbeat_interval_s": 60.0, "last_heartbeat_ms": 1764370060000,
         "heartbeat": {"version": "0.1.0", "heartbeat_interval_s": 60, "clock_synchronised": True,
                       "outbox": {"rows": 0, "bytes": 0, "oldest_unacked_ms": None, "events": 0},
                       "drops": {}, "dead_letters": 0, "produced_through": 120331}}
    )  # fmt: skip

    id: str
    site_id: str | None
    status: Literal["online", "silent"]
    first_seen_ms: int
    last_seen_ms: int
    acked_through: int = Field(description="the highest seq committed of its current outbox (epoch)")
    version: str | None
    heartbeat_interval_s: float | None
    last_heartbeat_ms: int | None
    heartbeat: dict[str, Any] | None = Field(description="the gateway's latest heartbeat, as it sent it")
    incarnation: str | None = Field(
        default=None, description='the outbox incarnation it reports from now; "" for an edge from before'
    )
    outbox_changes: int = Field(default=0, description="outbox replacements and restores seen (fault alarms)")
    outbox_changed_ms: int | None = Field(default=None, description="when the last one was seen")
    outbox_lost_seqs: int = Field(
        default=0, description="seqs of replaced outboxes that never arrived, counted when each was seen"
    )


class GatewayList(Model):
    data: list[GatewayOut]
    count: int


class ChannelOut(Model):
    model_config = example(
        {"id": 3, "key": "gw-slope-01/gnss-03/north_mm", "gateway_id": "gw-slope-01", "device": "gnss-03",
         "point": "north_mm", "site_id": "slope-north", "unit": "mm", "profile": "gnss_nmea_rtk",
         "latitude_deg": 30.5131, "longitude_deg": 110.3224, "physical_range": [-2000.0, 2000.0],
         "first_seen_ms": 1764300000000}
    )  # fmt: skip

    id: int
    key: str = Field(description="gateway/device/point")
    gateway_id: str
    device: str
    point: str
    site_id: str | None
    unit: str
    profile: str
    latitude_deg: float | None
    longitude_deg: float | None
    physical_range: Pair | None = Field(description="[min, max] of the point's physical range")
    first_seen_ms: int


class ChannelList(Model):
    data: list[ChannelOut]
    count: int = Field(description="channels matching the filter (all pages)")
    limit: int
    offset: int


class DeviceOut(Model):
    model_config = example(
        {"gateway_id": "gw-tank-09", "device": "lel-c01", "site_id": "tank-area-c",
         "profile": "gas_lel_catalytic", "points": 9,
         "attributes": {"model_name": "GLM-4", "firmware": "2.1.7"}, "attributes_ms": 1764370060000}
    )  # fmt: skip

    gateway_id: str
    device: str
    site_id: str | None
    profile: str
    points: int = Field(description="channels registered for the device")
    attributes: dict[str, str | None] = Field(
        description="the device's text points (model, firmware, serial number) as its gateway last read "
        "them; null where the bytes were not text"
    )
    attributes_ms: int | None = Field(description="when the heartbeat that carried them arrived")


class DeviceList(Model):
    data: list[DeviceOut]
    count: int


class LatestOut(Model):
    model_config = example(
        {
            "channel": "gw-slope-01/gnss-03/north_mm",
            "ts_ms": 1764370000000,
            "value": 44.6,
            "quality": 0,
            "seq": 120330,
        }
    )

    channel: str
    ts_ms: int
    value: float | None = Field(description="null when the quality voids the value")
    quality: int = Field(description="bit flags, 0 = good (protocols.quality)")
    seq: int


class LatestList(Model):
    data: list[LatestOut]
    count: int = Field(description="channels with a latest value matching the filter (all pages)")
    limit: int
    offset: int


class ReadingOut(Model):
    seq: int
    ts_ms: int
    value: float | None = Field(description="null when the quality voids the value")
    quality: int = Field(description="bit flags, 0 = good (protocols.quality)")


class ReadingList(Model):
    channel: str
    data: list[ReadingOut]
    count: int


class BucketOut(Model):
    model_config = example(
        {"start_ms": 1764367200000, "min": 41.2, "max": 44.6, "mean": 42.9, "last": 44.6, "count": 360}
    )

    start_ms: int
    min: float | None
    max: float | None
    mean: float | None
    last: float | None
    count: int = Field(description="readings with a value in the bucket")


class History(Model):
    channel: str
    bucket: Literal["1m", "10m", "1h", "1d"]
    start_ms: int
    end_ms: int
    data: list[BucketOut]


# ---------------------------------------------------------------- tokens, ingest, health


class TokenIn(Model):
    model_config = example({"role": "gateway", "name": "gw-slope-01 uplink", "gateway_id": "gw-slope-01"})

    role: Role
    name: Text = Field(default="", max_length=200, description="who: shown in alarm timelines")
    gateway_id: Ident | None = Field(default=None, description="required for, and only for, role gateway")
    org_id: Ident | None = Field(
        default=None, description="the organization it acts for (default: the caller's)"
    )
    expires_in_days: float | None = Field(default=None, gt=0, le=36500, description="default: never")


class TokenOut(Model):
    id: str
    name: str
    role: Role
    gateway_id: str | None
    created_ms: int
    revoked_ms: int | None
    org_id: str
    expires_ms: int | None


class TokenCreated(TokenOut):
    token: str = Field(description="the bearer token: shown once, only its hash is stored")


class TokenList(Model):
    data: list[TokenOut]
    count: int


class AckOut(Model):
    model_config = example(
        {"v": 1, "gateway": "gw-slope-01", "batch_id": 17, "acked_through": 1500, "committed": [[1001, 1500]],
         "error": None}
    )  # fmt: skip

    v: Literal[1]
    gateway: str
    batch_id: int
    acked_through: int = Field(description="the highest seq committed for the gateway")
    committed: list[IntPair] = Field(description="the batch's seq ranges, now committed")
    error: str | None = Field(description="why the batch was refused (it will never be accepted)")


class Health(Model):
    model_config = example({"status": "ok", "store": "postgresql", "mqtt": "connected"})

    status: Literal["ok", "degraded"]
    store: str
    mqtt: Literal["connected", "disconnected", "disabled"]


class ErrorOut(Model):
    detail: str
