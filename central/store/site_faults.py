"""Sites and located devices for the list and the map: hazards apart from faults, and blind sites.

``worst_hazard_level`` counts only hazard alarms in force (open, acknowledged): a 4G outage or a dead
sensor never colours a site as a hazard. Faults in force are counted apart (``faults``: count and worst
level). A measured channel (not one of the reserved ``_...`` device or point names) is *unseen* when a
fault in force covers it: one on the channel itself, on its device (``<device>/_device``: offline,
exceptions) or its gateway's silence (``_gateway/_silent``); an outbox fault loses rows but blinds
nothing. A site whose measured channels are all unseen is *blind*: it may be anything but safe.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from central.alarms import ACTIVE_STATUSES, SILENCE_DEVICE, SILENCE_POINT
from central.store.records import DeviceLocation, Site

if TYPE_CHECKING:
    from central.store.handle import Db

ACTIVE = "('" + "', '".join(s.value for s in ACTIVE_STATUSES) + "')"
RESERVED = "\\_%"  # LIKE pattern of reserved names (``_gateway``, ``_device``, ``_site``...)
DEVICE_POINT = "_device"  # a device's own events: offline, exceptions


@dataclass(frozen=True, slots=True)
class SiteFaults:
    worst_hazard_level: int = 0
    fault_count: int = 0
    worst_fault_level: int = 0
    blind: bool = False


def site_faults(db: Db) -> dict[str, SiteFaults]:
    """Per site with alarms in force: its hazard level, its faults, and whether it is blind."""
    by_site: dict[str, dict[str, int]] = defaultdict(lambda: {"hazard": 0, "faults": 0, "fault_level": 0})
    covers: dict[str, set[tuple[str, str, str]]] = defaultdict(set)  # site -> (gateway, device, point)
    for site_id, category, level, gateway_id, device, point in db.all(
        "SELECT g.site_id, a.category, a.level, c.gateway_id, c.device, c.point FROM alarms a "  # noqa: S608
        f"JOIN channels c ON c.id = a.channel_id JOIN gateways g ON g.id = c.gateway_id "
        f"WHERE a.status IN {ACTIVE} AND g.site_id IS NOT NULL"
    ):
        s = by_site[site_id]
        if category == "fault":
            s["faults"] += 1
            s["fault_level"] = max(s["fault_level"], int(level))
            covers[site_id].add((gateway_id, device, point))
        else:
            s["hazard"] = max(s["hazard"], int(level))
    blind = _blind_sites(db, covers)
    return {
        site_id: SiteFaults(s["hazard"], s["faults"], s["fault_level"], site_id in blind)
        for site_id, s in by_site.items()
    }


def _blind_sites(db: Db, covers: dict[str, set[tuple[str, str, str]]]) -> set[str]:
    """The sites (of those with faults in force) whose measured channels are all covered: one query."""
    suspects = sorted(site for site, faults in covers.items() if faults)
    if not suspects:
        return set()
    measured: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for site_id, gateway_id, device, point in db.all(
        "SELECT g.site_id, c.gateway_id, c.device, c.point FROM channels c "  # noqa: S608
        f"JOIN gateways g ON g.id = c.gateway_id WHERE g.site_id IN ({', '.join('?' * len(suspects))}) "
        "AND c.device NOT LIKE ? ESCAPE '\\' AND c.point NOT LIKE ? ESCAPE '\\'",
        (*suspects, RESERVED, RESERVED),
    ):
        measured[site_id].append((gateway_id, device, point))
    return {site for site in suspects if measured[site] and _all_covered(measured[site], covers[site])}


def _all_covered(measured: list[tuple[str, str, str]], faults: set[tuple[str, str, str]]) -> bool:
    """A silent gateway covers its channels, a device offline or faulty (``_device``) the device's, a
    fault on a channel the channel; an outbox fault or a combined rule covers none."""
    silent = {g for g, d, p in faults if (d, p) == (SILENCE_DEVICE, SILENCE_POINT)}
    devices = {(g, d) for g, d, p in faults if p == DEVICE_POINT}
    return all(g in silent or (g, d) in devices or (g, d, p) in faults for g, d, p in measured)


def sites(db: Db) -> list[Site]:
    worst: dict[str, tuple[int, int]] = {
        r[0]: (int(r[1]), int(r[2]))
        for r in db.all(
            "SELECT g.site_id, max(a.level), count(*) FROM alarms a JOIN channels c ON c.id = a.channel_id "  # noqa: S608
            f"JOIN gateways g ON g.id = c.gateway_id WHERE a.status IN {ACTIVE} AND g.site_id IS NOT NULL "
            "GROUP BY g.site_id"
        )
    }
    members: dict[str, list[str]] = defaultdict(list)
    for site_id, gateway_id in db.all(
        "SELECT site_id, id FROM gateways WHERE site_id IS NOT NULL ORDER BY id"
    ):
        members[site_id].append(gateway_id)
    faults = site_faults(db)
    none = SiteFaults()
    out = []
    for r in db.named(
        "SELECT id, name, type, latitude_deg, longitude_deg, contact_person, contact_phone, time_zone "
        "FROM sites ORDER BY id"
    ):
        worst_level, open_alarms = worst.get(r["id"], (0, 0))
        f = faults.get(r["id"], none)
        out.append(
            Site(**r, worst_level=worst_level, open_alarms=open_alarms, gateways=members[r["id"]],
                 worst_hazard_level=f.worst_hazard_level,
                 faults={"count": f.fault_count, "worst_level": f.worst_fault_level}, blind=f.blind)
        )  # fmt: skip
    return out


def device_locations(db: Db) -> list[DeviceLocation]:
    worst: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for gateway_id, device, category, level in db.all(
        "SELECT c.gateway_id, c.device, a.category, max(a.level) FROM alarms a "  # noqa: S608
        "JOIN channels c ON c.id = a.channel_id "
        f"WHERE a.status IN {ACTIVE} GROUP BY c.gateway_id, c.device, a.category"
    ):
        worst[(gateway_id, device)][category] = int(level)
    rows = db.all(
        "SELECT c.gateway_id, c.device, g.site_id, avg(c.latitude_deg), avg(c.longitude_deg) FROM channels c "
        "LEFT JOIN gateways g ON g.id = c.gateway_id "
        "WHERE c.latitude_deg IS NOT NULL AND c.longitude_deg IS NOT NULL "
        "GROUP BY c.gateway_id, c.device, g.site_id ORDER BY c.gateway_id, c.device"
    )
    out = []
    for r in rows:
        found = worst.get((r[0], r[1]), {})
        hazard, fault = found.get("hazard", 0), found.get("fault", 0)
        out.append(
            DeviceLocation(r[0], r[1], r[2], float(r[3]), float(r[4]), max(hazard, fault), hazard, fault)
        )
    return out
