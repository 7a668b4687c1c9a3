"""What the stores return: plain slotted dataclasses, cheap to build by the ten thousand.

The API serialises them with orjson as they are (field names are the JSON names); the pydantic models in
``central.api.schemas`` describe the same shapes for ``/openapi.json``. Times are UTC epoch milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    type: str
    latitude_deg: float | None
    longitude_deg: float | None
    worst_level: int  # the highest level among open and acknowledged alarms, faults too; 0: none
    open_alarms: int
    gateways: list[str] = field(default_factory=list)
    worst_hazard_level: int = 0  # the same among hazard alarms only: the site's colour
    faults: dict[str, int] = field(default_factory=lambda: {"count": 0, "worst_level": 0})
    blind: bool = False  # every measured channel is covered by a fault in force
    contact_person: str | None = None
    contact_phone: str | None = None
    time_zone: str | None = None  # IANA name; None: the command center's


@dataclass(frozen=True, slots=True)
class Gateway:
    id: str
    site_id: str | None
    status: str  # online | silent
    first_seen_ms: int
    last_seen_ms: int
    acked_through: int
    version: str | None
    heartbeat_interval_s: float | None
    last_heartbeat_ms: int | None
    heartbeat: dict[str, Any] | None
    incarnation: str | None = None  # the outbox incarnation it reports from now (`""`: a legacy edge)
    outbox_changes: int = 0  # outbox replacements and restores seen (each raised a fault alarm)
    outbox_changed_ms: int | None = None
    outbox_lost_seqs: int = 0  # seqs of replaced outboxes never received, counted when each was seen


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    key: str
    gateway_id: str
    device: str
    point: str
    site_id: str | None
    unit: str
    profile: str
    latitude_deg: float | None
    longitude_deg: float | None
    physical_range: tuple[float, float] | None
    first_seen_ms: int


@dataclass(frozen=True, slots=True)
class Device:
    """A device as its gateway reports it: its channels' profile and, from the gateway's latest heartbeat,
    the text points it read (model, firmware, serial number)."""

    gateway_id: str
    device: str
    site_id: str | None
    profile: str
    points: int  # channels registered for the device
    attributes: dict[str, str | None]
    attributes_ms: int | None  # when the heartbeat that carried them arrived


@dataclass(frozen=True, slots=True)
class Latest:
    channel: str
    ts_ms: int
    value: float | None
    quality: int
    seq: int


@dataclass(frozen=True, slots=True)
class RawReading:
    seq: int
    ts_ms: int
    value: float | None
    quality: int


@dataclass(frozen=True, slots=True)
class Bucket:
    start_ms: int
    min: float | None
    max: float | None
    mean: float | None
    last: float | None
    count: int  # readings with a value in the bucket


@dataclass(frozen=True, slots=True)
class DeviceLocation:
    gateway_id: str
    device: str
    site_id: str | None
    latitude_deg: float
    longitude_deg: float
    worst_level: int  # hazards and faults
    worst_hazard_level: int = 0
    worst_fault_level: int = 0


@dataclass(frozen=True, slots=True)
class Forecast:
    failure_ts_ms: int
    r2: float
    points: int


@dataclass(frozen=True, slots=True)
class Alarm:
    id: int
    channel: str
    rule: str
    site_id: str | None
    gateway_id: str
    status: str
    level: int
    max_level: int
    opened_ms: int
    updated_ms: int
    message: str
    value: float | None
    forecast: Forecast | None
    acknowledged_ms: int | None
    acknowledged_by: str | None
    cleared_ms: int | None
    closed_ms: int | None
    closed_by: str | None
    handling: str | None
    category: str = "hazard"  # hazard | fault (central.alarm_category)
    rule_kind: str | None = None  # what fired, as the edge's latest event said (None: an older edge)
    criterion: str | None = None
    unit: str | None = None
    threshold: float | None = None
    direction: str | None = None
    shelved_until_ms: int | None = None  # shelved (hidden, no notifications) until then
    shelved_by: str | None = None
    shelve_reason: str | None = None
    assignee: str | None = None
    forced_close: bool = False  # closed while its condition was still active


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    ts_ms: int  # when it happened: the edge's event time, or the operator's action time
    recorded_ms: int  # when the central recorded it
    kind: str
    level: int | None
    actor: str  # "gateway <id>", "central", a person "display name (username)", or a token's name
    note: str
    value: float | None
    event_seq: int | None
    forecast: Forecast | None
    criterion: str | None = None
    unit: str | None = None
    threshold: float | None = None
    direction: str | None = None


@dataclass(frozen=True, slots=True)
class AlarmDetail:
    alarm: Alarm
    timeline: list[TimelineEntry]


@dataclass(frozen=True, slots=True)
class AlarmPage:
    data: list[Alarm]
    count: int  # all alarms matching the filter, not only this page


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    statuses: tuple[str, ...] = ()
    min_level: int = 0
    site_id: str | None = None
    gateway_id: str | None = None
    since_ms: int | None = None  # opened at or after
    until_ms: int | None = None  # opened before
    within: tuple[str, ...] | None = None  # only these gateways' (an organization's caller); None: all
    limit: int = 50
    offset: int = 0
    category: str | None = None  # hazard | fault
    shelved: bool = False  # False: shelved alarms left out; True: only the shelved ones
    now_ms: int = 0  # what "shelved" is measured against; 0: as stored (until the silence watcher sweeps it)
    sort: str = "id"  # id (newest first) | level (highest, then oldest) | opened | updated (newest first)


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    name: str
    role: str
    gateway_id: str | None
    created_ms: int
    revoked_ms: int | None
    secret_hash: str = field(repr=False, default="")


@dataclass(frozen=True, slots=True)
class GatewayChange:
    gateway_id: str
    status: str
    last_seen_ms: int


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    committed: tuple[tuple[int, int], ...]
    acked_through: int
    readings_added: int
    readings_repeated: int
    events_added: int
    events_repeated: int
    alarm_changes: list[Alarm] = field(default_factory=list)
    gateway_changes: list[GatewayChange] = field(default_factory=list)
    site_refused: bool = False  # the batch named a site the gateway may not write (left as it was)
