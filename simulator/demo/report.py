"""The demo's summary: per site, the alarms raised, the highest hazard level and the faults apart, the
notifications the demo's webhook received about them (``notifications``), the expected alarms, and the
delivery of every row, from what the central holds (``accounting``, ``outcome``).

``collect`` reads the central once everything has stopped but the central: every alarm of each gateway
with its timeline, every channel's stored readings. The summary is a plain dict, the same one the view
renders and ``--json`` prints.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

from simulator.demo.accounting import account
from simulator.demo.api import CentralApi
from simulator.demo.fieldsite import SiteRun
from simulator.demo.notifications import NotificationReceiver
from simulator.demo.outcome import check, quiet_breaches
from simulator.demo.timebase import TimeBase

CONCURRENT_REQUESTS = 8


class RunOptions(Protocol):
    @property
    def workdir(self) -> Path: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def speed(self) -> float: ...
    @property
    def seed(self) -> int: ...


class FinishedDemo(Protocol):
    """What the summary reads of the demo (``orchestra.Demo``), named here so neither imports the other."""

    @property
    def api(self) -> CentralApi | None: ...
    @property
    def sites(self) -> dict[str, SiteRun]: ...
    @property
    def timebase(self) -> TimeBase: ...
    @property
    def stopped_story_s(self) -> float: ...
    @property
    def interrupted(self) -> bool: ...
    @property
    def options(self) -> RunOptions: ...
    @property
    def notifications(self) -> NotificationReceiver: ...


async def collect(
    demo: FinishedDemo, statuses: dict[str, dict[str, Any]], simulator_stats: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    api = demo.api
    assert api is not None
    gate = asyncio.Semaphore(CONCURRENT_REQUESTS)

    async def limited(coro: Any) -> Any:
        async with gate:
            return await coro

    sites: list[dict[str, Any]] = []
    for gateway, site in demo.sites.items():
        alarms = await api.alarms(gateway)
        details = await asyncio.gather(*(limited(api.alarm(a["id"])) for a in alarms))
        timelines = {a["id"]: d for a, d in zip(alarms, details, strict=True)}
        event_seqs = [e["event_seq"] for d in details for e in d["timeline"] if e["event_seq"] is not None]
        channels = await api.channels(gateway)
        per_channel = await asyncio.gather(*(limited(api.reading_seqs(c["key"])) for c in channels))
        reading_seqs = [seq for seqs in per_channel for seq in seqs]
        status = statuses.get(gateway, {})
        delivery = account(gateway, status, reading_seqs, event_seqs)
        outcomes = check(site.loaded.scenario, gateway, timelines, demo.timebase, demo.stopped_story_s)
        sites.append({
            "scenario": site.name, "title": site.loaded.scenario.title, "gateway": gateway,
            "site_id": site.loaded.bound.site.site.id,
            "alarms_raised": len(alarms),
            "notifications": demo.notifications.count_for(a["id"] for a in alarms),
            "highest_level": max((int(a["max_level"]) for a in alarms), default=0),
            "highest_hazard_level": max(
                (int(a["max_level"]) for a in alarms if a.get("category", "hazard") == "hazard"), default=0
            ),
            "faults": sum(1 for a in alarms if a.get("category") == "fault"),
            "alarms": [{"channel": a["channel"], "rule": a["rule"], "max_level": a["max_level"],
                        "status": a["status"], "category": a.get("category"),
                        "criterion": a.get("criterion")} for a in alarms],
            "expected": [o.as_dict() for o in outcomes],
            "quiet_breaches": quiet_breaches(site.loaded.scenario, gateway, alarms),
            "delivery": delivery.as_dict(),
            "gateway_status_error": status.get("error"),
            "reboots": site.reboots,
            "uplink": site.proxy.statistics() if site.proxy else {},
            "simulator": _faults_seen(simulator_stats.get(gateway, {})),
        })  # fmt: skip
    lost = sum(s["delivery"]["lost"] for s in sites)
    notified = sum(sum(s["notifications"].values()) for s in sites)
    duplicated = sum(s["delivery"]["duplicated"] for s in sites)
    due = [o for s in sites for o in s["expected"] if o["due"]]
    met = sum(1 for o in due if o["met"])
    missed = sum(1 for s in sites for o in s["expected"] if not o["met"])
    total = sum(len(s["expected"]) for s in sites)
    breaches = sum(len(s["quiet_breaches"]) for s in sites)
    unaccounted = sum(s["delivery"]["unexpected"] for s in sites) + sum(
        1 for s in sites if s["gateway_status_error"]
    )
    return {
        "ok": lost == 0 and duplicated == 0 and missed == 0 and breaches == 0 and unaccounted == 0,
        "interrupted": demo.interrupted,
        "speed": demo.options.speed, "seed": demo.options.seed, "duration_s": demo.options.duration_s,
        "story_s": round(demo.stopped_story_s, 1),
        "story_length_s": max(s.loaded.scenario.length for s in demo.sites.values()),
        "lost": lost, "duplicated": duplicated, "expected_met": met,
        "notifications_delivered": notified, "expected_due": len(due),
        "expected_total": total,
        "sites": sites,
        "workdir": str(demo.options.workdir),
    }  # fmt: skip


def _faults_seen(stats: dict[str, Any]) -> dict[str, int]:
    """What the simulator's faults did, as its wires and serial devices counted it."""
    wires = stats.get("wires", {}).values()
    serial = stats.get("serial_devices", {}).values()
    return {
        "answers_corrupted": sum(int(w.get("corrupted", 0)) for w in wires),
        "requests_to_dead_slaves": sum(int(w.get("swallowed_dead", 0)) for w in wires),
        "tcp_answers_swallowed": sum(
            int(s.get("answers_swallowed", 0)) for s in stats.get("servers", {}).values()
        ),
        "garbled_messages": sum(int(d.get("garbled", 0)) for d in serial),
    }
