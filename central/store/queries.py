"""The command center's reads (and the small admin writes), in SQL both stores understand.

History buckets are aligned to the epoch (UTC: a day bucket runs midnight to midnight UTC) and the window
is widened to whole buckets; buckets with no value in them are left out. Buckets of whole hours (1 h,
1 d) come from the hourly rollups (``central.store.rollup``): one row per hour. Shorter buckets (1 m,
10 m) are computed from the raw readings in the database: one grouped scan over the channel's (channel,
time) key for min, max, mean and count, and one index probe per bucket for its last value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson

from central import localtime
from central.alarms import ACTIVE_STATUSES
from central.store import rollup
from central.store.base import NotFoundError
from central.store.records import (
    Bucket,
    Channel,
    Device,
    Gateway,
    Latest,
    RawReading,
    Token,
)
from central.store.scope_sql import CHANNEL_GATEWAY, Within, within_gateways
from protocols.wire import SiteMeta

if TYPE_CHECKING:
    from central.store.handle import Db, Named

ACTIVE = "('" + "', '".join(s.value for s in ACTIVE_STATUSES) + "')"


# ---------------------------------------------------------------- tokens


def add_token(db: Db, t: Token) -> None:
    db.run(
        "INSERT INTO tokens (id, name, role, gateway_id, secret_hash, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
        (t.id, t.name, t.role, t.gateway_id, t.secret_hash, t.created_ms),
    )


TOKEN_SELECT = "SELECT id, name, role, gateway_id, created_ms, revoked_ms, secret_hash FROM tokens"  # noqa: S105


def token(db: Db, token_id: str) -> Token | None:
    found = db.named(f"{TOKEN_SELECT} WHERE id = ?", (token_id,))
    return Token(**found[0]) if found else None


def tokens(db: Db) -> list[Token]:
    return [Token(**r) for r in db.named(f"{TOKEN_SELECT} ORDER BY created_ms, id")]


def revoke_token(db: Db, token_id: str, now_ms: int) -> Token:
    db.run("UPDATE tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL", (now_ms, token_id))
    found = token(db, token_id)
    if found is None:
        raise NotFoundError(f"no token {token_id}")
    return found


# ---------------------------------------------------------------- sites and the map


def put_site(db: Db, site: SiteMeta, now_ms: int, gateways: tuple[str, ...] | None = None) -> None:
    """An admin creates or corrects a site: what it sets wins over what gateways send (``managed``).
    ``gateways``: the gateways that may report for it (they are attached now if they exist)."""
    db.run(
        "INSERT INTO sites (id, name, type, latitude_deg, longitude_deg, updated_ms, managed) "
        "VALUES (?, ?, ?, ?, ?, ?, 1) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, type = excluded.type, "
        "latitude_deg = excluded.latitude_deg, longitude_deg = excluded.longitude_deg, "
        "updated_ms = excluded.updated_ms, managed = 1",
        (site.id, site.name, site.type, site.latitude_deg, site.longitude_deg, now_ms),
    )
    _site_contact(db, site)
    if gateways is not None:
        gateways = tuple(dict.fromkeys(gateways))  # a gateway named twice is listed once
        db.run("DELETE FROM site_gateways WHERE site_id = ?", (site.id,))
        db.many(
            "INSERT INTO site_gateways (site_id, gateway_id) VALUES (?, ?)", [(site.id, g) for g in gateways]
        )
        db.many("UPDATE gateways SET site_id = ? WHERE id = ?", [(site.id, g) for g in gateways])


def _site_contact(db: Db, site: SiteMeta, *, only_if_unmanaged: bool = False) -> None:
    """The site's contact and time zone as ``site`` gives them (a gateway's: unless an admin manages it)."""
    db.run(
        "UPDATE sites SET contact_person = ?, contact_phone = ?, time_zone = ? WHERE id = ?"  # noqa: S608
        + (" AND managed = 0" if only_if_unmanaged else ""),
        (site.contact_person, site.contact_phone, site.time_zone, site.id),
    )


def gateway_site(db: Db, gateway_id: str, current: str | None, site: SiteMeta, now_ms: int) -> bool:
    """A gateway's batch names its site: create it (the gateway owns it), or update the gateway's own site
    (unless an admin manages it), and attach the gateway. A site of another gateway is left alone, and the
    gateway is not attached to it, unless an admin listed the gateway for it. False: refused."""
    row = db.one("SELECT owner_gateway, managed FROM sites WHERE id = ?", (site.id,))
    if row is None:
        db.run(
            "INSERT INTO sites (id, name, type, latitude_deg, longitude_deg, updated_ms, owner_gateway) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (site.id, site.name, site.type, site.latitude_deg, site.longitude_deg, now_ms, gateway_id),
        )
    elif row[0] != gateway_id and current != site.id:
        listed = db.one(
            "SELECT 1 FROM site_gateways WHERE site_id = ? AND gateway_id = ?", (site.id, gateway_id)
        )
        if listed is None:
            return False
    if row is not None and not row[1]:
        db.run(
            "UPDATE sites SET name = ?, type = ?, latitude_deg = ?, longitude_deg = ?, updated_ms = ? "
            "WHERE id = ?",
            (site.name, site.type, site.latitude_deg, site.longitude_deg, now_ms, site.id),
        )
    _site_contact(db, site, only_if_unmanaged=True)
    if current != site.id:
        db.run("UPDATE gateways SET site_id = ? WHERE id = ?", (site.id, gateway_id))
    return True


# ---------------------------------------------------------------- gateways and channels

GATEWAY_SELECT = (
    "SELECT id, site_id, status, first_seen_ms, last_seen_ms, acked_through, version, heartbeat_interval_s, "
    "last_heartbeat_ms, heartbeat, incarnation, outbox_changes, outbox_changed_ms, outbox_lost_seqs "
    "FROM gateways"
)


def gateways(db: Db, gateway_id: str | None = None) -> list[Gateway]:
    if gateway_id is None:
        rows = db.named(f"{GATEWAY_SELECT} ORDER BY id")
    else:
        rows = db.named(f"{GATEWAY_SELECT} WHERE id = ?", (gateway_id,))
    return [_gateway(r) for r in rows]


def _gateway(row: Named) -> Gateway:
    text = row.pop("heartbeat")
    row["outbox_changes"], row["outbox_lost_seqs"] = int(row["outbox_changes"]), int(row["outbox_lost_seqs"])
    return Gateway(**row, heartbeat=None if text is None else orjson.loads(text))


def silent_gateways(
    db: Db, now_ms: int, factor: float, default_interval_s: float
) -> list[tuple[str, int, float]]:
    """(id, last_seen_ms, interval_s) of online gateways quiet for longer than factor x their interval."""
    out = []
    for gateway_id, last_seen_ms, interval_s in db.all(
        "SELECT id, last_seen_ms, heartbeat_interval_s FROM gateways WHERE status = 'online'"
    ):
        interval = float(interval_s) if interval_s else default_interval_s
        if now_ms - int(last_seen_ms) > factor * interval * 1000.0:
            out.append((str(gateway_id), int(last_seen_ms), interval))
    return out


def _filters(
    site_id: str | None, gateway_id: str | None, device: str | None, within: Within = None
) -> tuple[str, list[Any]]:
    clauses, params = within_gateways(CHANNEL_GATEWAY, within)
    for clause, value in (
        ("g.site_id = ?", site_id),
        ("c.gateway_id = ?", gateway_id),
        ("c.device = ?", device),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _page(page: tuple[int, int] | None) -> tuple[str, list[int]]:
    """`` LIMIT ? OFFSET ?`` for a (limit, offset) page, or nothing (everything)."""
    return ("", []) if page is None else (" LIMIT ? OFFSET ?", [page[0], page[1]])


def channels(
    db: Db,
    site_id: str | None,
    gateway_id: str | None,
    device: str | None,
    page: tuple[int, int] | None = None,
    *,
    within: Within = None,
) -> list[Channel]:
    where, params = _filters(site_id, gateway_id, device, within)
    limit, more = _page(page)
    rows = db.named(
        "SELECT c.id, c.key, c.gateway_id, c.device, c.point, g.site_id, c.unit, c.profile, c.latitude_deg, "  # noqa: S608
        "c.longitude_deg, c.range_min, c.range_max, c.first_seen_ms FROM channels c "
        f"LEFT JOIN gateways g ON g.id = c.gateway_id{where} ORDER BY c.key{limit}",
        [*params, *more],
    )
    return [_channel(r) for r in rows]


def _channel(row: Named) -> Channel:
    low, high = row.pop("range_min"), row.pop("range_max")
    return Channel(**row, physical_range=None if low is None else (low, high))


def devices(db: Db, site_id: str | None, gateway_id: str | None) -> list[Device]:
    """Devices with channels, and the attributes (text points) of each gateway's latest heartbeat."""
    where, params = _filters(site_id, gateway_id, None)
    rows = db.all(
        "SELECT c.gateway_id, c.device, g.site_id, min(c.profile), count(*) FROM channels c "  # noqa: S608
        f"LEFT JOIN gateways g ON g.id = c.gateway_id{where} "
        "GROUP BY c.gateway_id, c.device, g.site_id ORDER BY c.gateway_id, c.device",
        params,
    )
    beats: dict[str, tuple[int | None, dict[str, dict[str, str | None]]]] = {}
    for gateway, last_ms, text in db.all(
        "SELECT id, last_heartbeat_ms, heartbeat FROM gateways WHERE heartbeat IS NOT NULL"
    ):
        beats[str(gateway)] = (last_ms, device_attributes(orjson.loads(text)))
    out = []
    for gateway, device, site, profile, points in rows:
        last_ms, attributes = beats.get(gateway, (None, {}))
        found = attributes.get(device)
        out.append(
            Device(
                gateway,
                device,
                site,
                profile,
                int(points),
                found or {},
                last_ms if found is not None else None,
            )
        )
    return out


def device_attributes(heartbeat: Any) -> dict[str, dict[str, str | None]]:
    """``{device: {name: text}}`` from a heartbeat: each bus's ``devices.<id>.attributes`` (the edge's
    acquisition statistics). Anything not shaped so is ignored: a heartbeat is the gateway's to fill."""
    out: dict[str, dict[str, str | None]] = {}
    buses = heartbeat.get("buses") if isinstance(heartbeat, dict) else None
    for bus in buses.values() if isinstance(buses, dict) else ():
        devices = bus.get("devices") if isinstance(bus, dict) else None
        for device, stats in devices.items() if isinstance(devices, dict) else ():
            attributes = stats.get("attributes") if isinstance(stats, dict) else None
            if isinstance(attributes, dict):
                out[str(device)] = {
                    str(k): v if isinstance(v, str) or v is None else str(v) for k, v in attributes.items()
                }
    return out


def count_channels(
    db: Db, site_id: str | None, gateway_id: str | None, device: str | None, *, within: Within = None
) -> int:
    where, params = _filters(site_id, gateway_id, device, within)
    join = " LEFT JOIN gateways g ON g.id = c.gateway_id" if site_id is not None else ""
    row = db.one(f"SELECT count(*) FROM channels c{join}{where}", params)  # noqa: S608
    return int(row[0]) if row else 0


def _latest_where(
    site_id: str | None, gateway_id: str | None, device: str | None, keys: tuple[str, ...], within: Within
) -> tuple[str, list[Any]]:
    where, params = _filters(site_id, gateway_id, device, within)
    if keys:
        where += (" AND " if where else " WHERE ") + f"c.key IN ({', '.join('?' * len(keys))})"
        params += list(keys)
    join = " LEFT JOIN gateways g ON g.id = c.gateway_id" if site_id is not None else ""
    return f"FROM latest l JOIN channels c ON c.id = l.channel_id{join}{where}", params


def latest(
    db: Db,
    site_id: str | None,
    gateway_id: str | None,
    device: str | None,
    keys: tuple[str, ...],
    *,
    page: tuple[int, int] | None = None,
    within: Within = None,
) -> list[Latest]:
    source, params = _latest_where(site_id, gateway_id, device, keys, within)
    limit, more = _page(page)
    rows = db.named(
        f"SELECT c.key AS channel, l.ts_ms, l.value, l.quality, l.seq {source} ORDER BY c.key{limit}",
        [*params, *more],
    )
    return [Latest(**r) for r in rows]


def count_latest(
    db: Db,
    site_id: str | None,
    gateway_id: str | None,
    device: str | None,
    keys: tuple[str, ...],
    *,
    within: Within = None,
) -> int:
    source, params = _latest_where(site_id, gateway_id, device, keys, within)
    row = db.one(f"SELECT count(*) {source}", params)
    return int(row[0]) if row else 0


def _channel_id(db: Db, key: str) -> int:
    found = db.one("SELECT id FROM channels WHERE key = ?", (key,))
    if found is None:
        raise NotFoundError(f"no channel {key}")
    return int(found[0])


def readings(db: Db, key: str, start_ms: int, end_ms: int, limit: int) -> list[RawReading]:
    rows = db.all(
        "SELECT seq, ts_ms, value, quality FROM readings WHERE channel_id = ? AND ts_ms >= ? AND ts_ms < ? "
        "ORDER BY ts_ms, seq LIMIT ?",
        (_channel_id(db, key), start_ms, end_ms, limit),
    )
    return [RawReading(int(r[0]), int(r[1]), r[2], int(r[3])) for r in rows]


def history(
    db: Db, key: str, start_ms: int, end_ms: int, bucket_ms: int, *, day_zone: str | None = None
) -> list[Bucket]:
    channel_id = _channel_id(db, key)
    if day_zone is not None and bucket_ms == rollup.DAY_MS:
        return _local_days(db, channel_id, start_ms, end_ms, localtime.zone(day_zone))
    start, end = start_ms // bucket_ms * bucket_ms, -(-end_ms // bucket_ms) * bucket_ms  # whole buckets
    if bucket_ms % rollup.HOUR_MS == 0:
        hours = db.all(
            "SELECT hour_ms, n, total, lo, hi, last_ts, last_seq, last_value FROM rollup_hour "
            "WHERE channel_id = ? AND hour_ms >= ? AND hour_ms < ? ORDER BY hour_ms",
            (channel_id, start, end),
        )
        return [Bucket(*b) for b in rollup.merge(hours, bucket_ms)]
    rows = db.all(
        "WITH agg AS (SELECT ts_ms / ? AS b, min(value) AS lo, max(value) AS hi, avg(value) AS mean, "
        "count(value) AS n, max(CASE WHEN value IS NOT NULL THEN ts_ms END) AS last_ts FROM readings "
        "WHERE channel_id = ? AND ts_ms >= ? AND ts_ms < ? GROUP BY b HAVING count(value) > 0) "
        "SELECT b, lo, hi, mean, (SELECT r.value FROM readings r WHERE r.channel_id = ? "
        "AND r.ts_ms = agg.last_ts AND r.value IS NOT NULL ORDER BY r.seq DESC LIMIT 1), n "
        "FROM agg ORDER BY b",
        (bucket_ms, channel_id, start, end, channel_id),
    )
    return [
        Bucket(int(r[0]) * bucket_ms, r[1], r[2], None if r[3] is None else float(r[3]), r[4], int(r[5]))
        for r in rows
    ]


def _local_days(db: Db, channel_id: int, start_ms: int, end_ms: int, tz: ZoneInfo) -> list[Bucket]:
    """Day buckets from local midnight to local midnight, from the hourly rollups."""
    start = localtime.day_start_ms(start_ms, tz)
    end = localtime.day_start_ms(end_ms - 1, tz)
    end = localtime.next_day_start_ms(end, tz)
    hours = db.all(
        "SELECT hour_ms, n, total, lo, hi, last_ts, last_seq, last_value FROM rollup_hour "
        "WHERE channel_id = ? AND hour_ms >= ? AND hour_ms < ? ORDER BY hour_ms",
        (channel_id, start, end),
    )
    return [Bucket(*b) for b in rollup.merge(hours, rollup.DAY_MS, lambda h: localtime.day_start_ms(h, tz))]


# ---------------------------------------------------------------- gauges


def counts(db: Db) -> dict[str, Any]:
    alarms = {
        (str(status), int(level)): int(n)
        for status, level, n in db.all(
            "SELECT status, level, count(*) FROM alarms WHERE status <> 'closed' GROUP BY status, level"
        )
    }
    gateways_by_status = {
        str(s): int(n) for s, n in db.all("SELECT status, count(*) FROM gateways GROUP BY status")
    }
    total = db.one("SELECT count(*) FROM channels")
    return {"alarms": alarms, "gateways": gateways_by_status, "channels": int(total[0]) if total else 0}
