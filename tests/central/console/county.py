"""A county like the demo's, for the console's tests, bench and screenshots: three sites, their gateways
and channels, hours of readings ending at a given time, and the incidents of the demo's stories.

``load_county(store, end_ms)`` commits it through the store's own ingest, as gateways' batches would;
``red_alarm(...)`` is the batch a gateway sends when one of its rules goes red.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from central.store.base import Store
from protocols.records import Event, Forecast, ReadingBlock
from protocols.wire import Batch, ChannelMeta, SiteMeta

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Point:
    device: str
    point: str
    unit: str
    profile: str
    base: float  # the value's level and its daily swing
    swing: float
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    creep: float = 0.0  # added over the window, accelerating (a slope in tertiary creep)


@dataclass(frozen=True)
class SiteSpec:
    site: SiteMeta
    gateway: str
    points: tuple[Point, ...]

    def key(self, point: Point) -> str:
        return f"{self.gateway}/{point.device}/{point.point}"


MINE = SiteSpec(
    SiteMeta("qs-dongshan-east-wall", "东山露天矿东帮边坡", "mine_slope", 30.93124, 117.82651),
    "qs-dongshan-gw01",
    (
        Point(
            "gnss-crest", "horizontal_mm", "mm", "gnss_nmea_rtk", 12.0, 0.6, 30.93158, 117.82619, creep=24.0
        ),
        Point("gnss-crest", "vertical_mm", "mm", "gnss_nmea_rtk", -4.0, 1.0, 30.93158, 117.82619),
        Point("crack-e2", "opening_mm", "mm", "crack_meter_rtu", 3.2, 0.4, 30.93060, 117.82725),
        Point("rain-e2", "rain_mm_h", "mm/h", "rain_gauge_pulse", 2.0, 2.0),
        Point("piezo-e2", "pore_kpa", "kPa", "piezometer_rtu", 41.0, 3.0),
    ),
)
TANKS = SiteSpec(
    SiteMeta("qs-jiangkou-tank-area-b", "江口石化储运 B 罐区", "tank_farm", 30.88417, 117.76392),
    "qs-jiangkou-gw02",
    (
        Point("gas-t102-n", "gas", "%LEL", "gas_lel_rtu", 1.0, 0.5, 30.88431, 117.76370),
        Point("gas-t103-e", "gas", "%LEL", "gas_lel_rtu", 0.8, 0.4, 30.88400, 117.76420),
        Point("tank-t101", "level_m", "m", "tank_radar_tcp", 8.2, 0.6),
        Point("tank-t102", "level_m", "m", "tank_radar_tcp", 11.4, 0.2),
        Point("tank-t103", "temperature", "degC", "tank_radar_tcp", 24.0, 4.0),
        Point("roof-wind", "speed_m_s", "m/s", "wind_serial", 3.0, 2.0),
    ),
)
TOWER = SiteSpec(
    SiteMeta("qs-laoying-peak-tower", "老鹰峰森林防火瞭望塔", "forest_tower", 30.71286, 117.95411),
    "qs-laoying-gw01",
    (
        Point("mast-weather", "temperature", "degC", "weather_ascii", 16.0, 6.0, 30.71286, 117.95411),
        Point("mast-weather", "humidity", "%RH", "weather_ascii", 55.0, 15.0),
        Point("mast-weather", "dry", "%", "weather_ascii", 48.0, 6.0),
        Point("camera", "hotspot_c", "degC", "ir_camera_tcp", 21.0, 5.0),
        Point("ridge-north", "temperature", "degC", "weather_rtu", 15.0, 6.0, 30.73180, 117.95202),
    ),
)
COUNTY = (MINE, TANKS, TOWER)


def heartbeat(rows: int = 0) -> dict[str, object]:
    return {
        "version": "0.1.0", "uptime_s": 86400, "heartbeat_interval_s": 60, "clock_synchronised": True,
        "outbox": {"rows": rows, "bytes": rows * 40, "oldest_unacked_ms": 1500 if rows else None, "events": 0,
                   "healthy": True},
        "drops": {}, "dead_letters": {"batches": 0, "rows": 0},
        "buses": {"rs485-1": {"type": "rtu", "connected": True, "requests": 17280, "timeouts": 12,
                              "devices": {"dev-a": {"online": True}, "dev-b": {"online": True}}}},
    }  # fmt: skip


def readings(spec: SiteSpec, first_seq: int, end_ms: int, hours: float, step_s: float) -> Batch:
    """Every point of the site, one reading each ``step_s`` for ``hours`` up to ``end_ms``: a daily swing
    and a little noise; the last seq is ``first_seq + n - 1``."""
    steps = int(hours * 3600 / step_s)
    ts = end_ms - (steps - 1 - np.arange(steps, dtype=np.int64)) * int(step_s * 1000)
    rng = np.random.default_rng(len(spec.gateway))
    channel, stamps, values = [], [], []
    for i, p in enumerate(spec.points):
        phase = 2 * math.pi * (ts % 86_400_000) / 86_400_000
        noise = rng.normal(0, p.swing * 0.03, steps)
        channel.append(np.full(steps, i))
        stamps.append(ts)
        elapsed = np.linspace(0.0, 1.0, steps)
        values.append(p.base + p.swing * np.sin(phase) + noise + p.creep * elapsed**3)
    order = np.argsort(np.concatenate(stamps), kind="stable")
    n = steps * len(spec.points)
    seq = np.arange(first_seq, first_seq + n, dtype=np.int64)
    block = ReadingBlock.of(
        np.concatenate(channel)[order], np.concatenate(stamps)[order], np.concatenate(values)[order],
        np.zeros(n, dtype=np.uint32),
    )  # fmt: skip
    metas = [
        ChannelMeta(spec.key(p), p.unit, p.profile, p.latitude_deg, p.longitude_deg) for p in spec.points
    ]
    keys = [spec.key(p) for p in spec.points]
    return Batch(spec.gateway, first_seq, end_ms, keys, block, seq, [], spec.site, metas, heartbeat())


def event(
    spec: SiteSpec, seq: int, ts_ms: int, device: str, point: str, rule: str, level: int, previous: int,
    value: float, message: str, forecast: Forecast | None = None,
) -> Event:  # fmt: skip
    return Event(
        f"{spec.gateway}/{device}/{point}", ts_ms, rule, level, previous, value, message, forecast, seq
    )


def incidents(end_ms: int, seqs: dict[str, int]) -> dict[str, list[Event]]:
    """The stories' alarms, by gateway, numbered from ``seqs[gateway]``: the slope escalates to orange with
    a forecast (the mine is orange), a gas detector and a tank's standing loss go yellow (the tank farm is
    yellow), a device at the tower goes offline (blue), and an old rain alarm at the mine has cleared."""

    def at(minutes_ago: float) -> int:
        return end_ms - int(minutes_ago * 60_000)

    slope = Forecast(end_ms + 5 * HOUR_MS, 0.93, 40)
    mine = [
        ("gnss-crest", "horizontal_mm", "slope", 1, 0, 40, 18.2, "slope velocity 2.1 mm/h reached blue"),
        ("gnss-crest", "horizontal_mm", "slope", 2, 1, 25, 24.9, "slope velocity 5.3 mm/h reached yellow"),
        ("gnss-crest", "horizontal_mm", "slope", 3, 2, 9, 36.4, "slope velocity 10.8 mm/h reached orange"),
        ("rain-e2", "rain_mm_h", "level", 2, 0, 180, 31.0, "rain_mm_h 31 mm/h reached yellow (threshold 30)"),
        ("rain-e2", "rain_mm_h", "level", 0, 2, 120, 12.0, "rain_mm_h 12 mm/h back below blue"),
    ]
    tanks = [
        ("tank-t102", "level_m", "standing_loss", 2, 0, 55, 11.1, "T-102 level falling with no transfer"),
        ("gas-t102-n", "gas", "level", 2, 0, 14, 26.3, "gas 26.3 %LEL reached yellow (threshold 25)"),
    ]
    tower = [("ridge-north", "_device", "comm", 1, 0, 30, math.nan, "ridge-north: device offline")]
    out: dict[str, list[Event]] = {}
    for spec, rows in ((MINE, mine), (TANKS, tanks), (TOWER, tower)):
        seq = seqs[spec.gateway]
        events = []
        for device, point, rule, level, previous, minutes, value, message in rows:
            forecast = slope if rule == "slope" and level >= 2 else None
            events.append(event(spec, seq, at(minutes), device, point, rule, level, previous, value, message,
                                forecast))  # fmt: skip
            seq += 1
        out[spec.gateway] = events
    return out


def load_county(
    store: Store, end_ms: int, *, hours: float = 4.0, step_s: float = 30.0, alarms: bool = True
) -> None:
    """The county as its gateways would have sent it, up to ``end_ms`` (committed now, at ``end_ms``)."""
    after: dict[str, int] = {}
    for spec in COUNTY:
        batch = readings(spec, 1, end_ms, hours, step_s)
        store.ingest(batch, end_ms)
        after[spec.gateway] = int(batch.reading_seq[-1]) + 1
    if alarms:
        for gateway, events in incidents(end_ms, after).items():
            store.ingest(Batch(gateway, events[0].seq, end_ms, events=events), end_ms)


def next_seq(store: Store, gateway: str) -> int:
    found = store.gateway(gateway)
    return 1 if found is None else found.acked_through + 1


def fire_alarm(seq: int, ts_ms: int) -> Batch:
    """What the tower's gateway sends when its camera sees a fire: a red hotspot alarm."""
    hot = event(TOWER, seq, ts_ms, "camera", "hotspot_c", "level", 4, 0, 182.0,
                "hotspot_c 182 degC reached red (threshold 120)")  # fmt: skip
    hot = dataclasses.replace(
        hot, rule_kind="level", criterion="level", unit="degC", threshold=120.0, direction="rising"
    )
    return Batch(TOWER.gateway, seq, ts_ms, events=[hot])
