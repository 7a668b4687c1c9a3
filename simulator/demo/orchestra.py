"""The demo's run, in phases: start, hold, go, play, finish.

1. **start**: the central (SQLite in the run's folder) with a token per gateway and one operator token
   for the viewer, the county's duty officer and one enterprise (with its operator) per site
   (``simulator.demo.accounts``); per scenario a simulator (held at t = 0) behind which its gateway
   starts, its uplink through a proxy; wait until every gateway has reported to the central, then give
   each site to its enterprise.
2. **go**: SIGUSR1 to every simulator: the three stories start at the same instant.
3. **play**: until the stories are over (or the duration, or Ctrl-C): the view is refreshed from the
   central (sites, gateways, the event stream of alarm changes) and from the simulators' reports, and the
   faults they announce for the demo are done (uplink cut and restored, gateway killed and restarted).
4. **finish**: uplinks restored, gateways stopped (SIGTERM: each drains its outbox to the central before
   it exits, ``fieldwatch-edge run --drain-s``), the simulators stopped; then the accounting
   (``accounting``) and the scenarios' expectations (``outcome``) from what the central holds, and the
   central stopped.

Every wait is bounded; any failure still runs the finish, so no process outlives the demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from simulator import scenario as scenarios
from simulator.demo.accounts import assign_sites, create_people, new_password
from simulator.demo.api import CentralApi
from simulator.demo.fieldsite import SiteRun, tool
from simulator.demo.notifications import NotificationReceiver
from simulator.demo.procs import Child, run_once
from simulator.demo.report import collect
from simulator.demo.timebase import TimeBase
from simulator.demo.view import DemoState, FeedLine, SiteRow

log = logging.getLogger(__name__)

CENTRAL_TIMEOUT_S = 60.0
GATEWAYS_TIMEOUT_S = 240.0  # a cold numba cache compiles the detection kernels at a gateway's first start
POLL_S = 1.0
STATUS_POLL_S = 3.0
AFTER_STORY_S = 4.0  # real seconds of quiet after the last story ends, for the last batches
LATE_REAL_S = 5.0  # a feed line this far (real seconds) behind the story's clock was delivered late
NOTIFICATION_KINDS = ("notified", "notify_failed")  # stamped with the central's clock: not in the feed
LEVEL_WORD = {0: "clear", 1: "BLUE", 2: "YELLOW", 3: "ORANGE", 4: "RED"}
# How a timeline entry reads in the feed: "raised YELLOW", "up to RED", "cleared" (never "cleared clear").
KIND_PHRASE = {
    "raised": "raised {level}", "reraised": "raised again: {level}", "escalated": "up to {level}",
    "deescalated": "down to {level}", "cleared": "cleared", "updated": "still {level}",
    "late": "earlier {level}, kept for the record", "acknowledged": "acknowledged", "closed": "closed",
}  # fmt: skip


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path
    duration_s: float = 150.0
    speed: float = 120.0
    seed: int = 1
    scenarios: tuple[str, ...] = ("mine_slope", "tank_farm", "forest_tower")
    port: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Demo:
    def __init__(self, options: DemoOptions, on_change: Callable[[], None] = lambda: None) -> None:
        self.options = options
        self.on_change = on_change  # called when something the view shows has changed
        self.loaded = [scenarios.load(name) for name in options.scenarios]
        self.port = options.port or free_port()
        self.database = f"sqlite:///{options.workdir / 'central.db'}"
        self.timebase = TimeBase(options.speed)
        self.state = DemoState(
            options.speed, options.duration_s, f"http://127.0.0.1:{self.port}", "", self.timebase
        )
        self.central: Child | None = None
        self.notifications = NotificationReceiver()
        self.api: CentralApi | None = None
        self.sites: dict[str, SiteRun] = {}
        self.stories_over: set[str] = set()
        self.stop = asyncio.Event()
        self.interrupted = False
        self.stopped_story_s = 0.0
        self._seen_entries: dict[int, int] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ phases

    async def run(self) -> dict[str, Any]:
        try:
            await self._start()
            self._go()
            await self._play()
        finally:
            summary = await self._finish()
        return summary

    async def _start(self) -> None:
        self.state.phase = "starting the central"
        self.on_change()
        await self._start_central()
        assert self.api is not None
        for loaded in self.loaded:
            token = await self._token("gateway", "--gateway", loaded.bound.gateway_id)
            site = SiteRun(loaded, workdir=self.options.workdir, token=token, seed=self.options.seed,
                           speed=self.options.speed)  # fmt: skip
            self.sites[site.gateway] = site
            self.state.sites[site.gateway] = SiteRow(loaded.scenario.name, loaded.scenario.title,
                                                     loaded.bound.site.site.id, site.gateway)  # fmt: skip
        self.state.phase = "starting the simulators"
        self.on_change()
        for site in self.sites.values():
            await site.start_simulator(self.port)
        self.state.phase = "starting the gateways"
        self.on_change()
        for site in self.sites.values():
            await site.start_gateway(self.timebase.origin_ms)
            self._tasks.append(asyncio.create_task(self._read_simulator(site), name=f"sim {site.name}"))
        self._tasks.append(asyncio.create_task(self._follow_stream(), name="stream"))
        await self._wait_for_gateways()
        await assign_sites(self.database, [row.site_id for row in self.state.sites.values()])

    async def _start_central(self) -> None:
        self.options.workdir.mkdir(parents=True, exist_ok=True)
        self.state.token = await self._token("operator", "--name", "demo viewer")
        sites = {loaded.bound.site.site.id: loaded.scenario.title for loaded in self.loaded}
        self.state.password = new_password()
        self.state.logins = await create_people(self.database, sites, self.state.password)
        self.notifications.__enter__()
        policies = self.options.workdir / "notify.yaml"
        policies.write_text(self.notifications.policy_text())
        self.central = Child(
            "central",
            [tool("fieldwatch-central"), "serve", "--database", self.database, "--host", "127.0.0.1",
             "--port", str(self.port), "--notify", str(policies), "--base-url", self.state.api_url],
            log_path=self.options.workdir / "central.log",
        )  # fmt: skip
        await self.central.start()
        self.api = CentralApi(self.state.api_url, self.state.token)
        deadline = time.monotonic() + CENTRAL_TIMEOUT_S
        while not await self.api.healthy():
            if time.monotonic() > deadline or not self.central.running:
                raise RuntimeError(f"the central did not start (see {self.central.log_path})")
            await asyncio.sleep(0.3)

    async def _token(self, role: str, *args: str) -> str:
        out = await run_once([tool("fieldwatch-central"), "token", "create", "--role", role, *args,
                              "--database", self.database])  # fmt: skip
        return out.strip().splitlines()[-1]

    async def _wait_for_gateways(self) -> None:
        assert self.api is not None
        self.state.phase = "waiting for the gateways' first report"
        self.on_change()
        deadline = time.monotonic() + GATEWAYS_TIMEOUT_S
        while True:
            await self._refresh()
            if all(row.heard_wall_s is not None for row in self.state.sites.values()):
                return
            dead = [s.gateway for s in self.sites.values() if s.edge is not None and not s.edge.running]
            if dead or time.monotonic() > deadline:
                why = f"{', '.join(dead)} stopped" if dead else f"no report in {GATEWAYS_TIMEOUT_S:g} s"
                raise RuntimeError(f"the gateways did not come up: {why} (logs in {self.options.workdir})")
            await asyncio.sleep(POLL_S)

    def _go(self) -> None:
        self.timebase.go()
        for site in self.sites.values():
            if site.simulator is not None:
                site.simulator.signal(signal.SIGUSR1)
        self.state.phase = "running"
        self.state.running_wall_s = time.time()
        self.on_change()

    async def _play(self) -> None:
        self._tasks.append(asyncio.create_task(self._poll(), name="poll"))
        deadline = time.monotonic() + self.options.duration_s
        over_at: float | None = None
        while not self.stop.is_set() and time.monotonic() < deadline:
            if over_at is None and self.stories_over >= set(self.sites):
                over_at = time.monotonic()
            if over_at is not None and time.monotonic() - over_at >= AFTER_STORY_S:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), 0.5)
        self.interrupted = self.stop.is_set()

    async def _finish(self) -> dict[str, Any]:
        self.stopped_story_s = self.timebase.story_now_s()
        for site in self.sites.values():
            site.restore()
        for row in self.state.sites.values():
            row.link = "draining"
        self.state.phase = "the gateways deliver what they still hold, then stop"
        self.on_change()
        await asyncio.gather(*(s.stop_gateway() for s in self.sites.values()), return_exceptions=True)
        statuses: dict[str, dict[str, Any]] = {}
        results = await asyncio.gather(*(s.status() for s in self.sites.values()), return_exceptions=True)
        for site, result in zip(self.sites.values(), results, strict=True):
            statuses[site.gateway] = result if isinstance(result, dict) else {"error": str(result)}
        simulator_stats = {}
        for site in self.sites.values():
            simulator_stats[site.gateway] = await site.stop_simulator()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.state.phase = "reading the central's record"
        self.on_change()
        summary: dict[str, Any] = {}
        try:
            if self.api is not None and self.central is not None and self.central.running:
                summary = await collect(self, statuses, simulator_stats)
        finally:
            for site in self.sites.values():
                await site.close()
            if self.api is not None:
                await self.api.aclose()
            if self.central is not None:
                await self.central.stop()
            self.notifications.__exit__()
            self.state.phase = "done"
            self.on_change()
        return summary

    # ------------------------------------------------------------------ while it runs

    async def _read_simulator(self, site: SiteRun) -> None:
        assert site.simulator is not None
        async for line in site.simulator.lines():
            try:
                report = json.loads(line)
            except ValueError:
                continue
            kind = report.get("event")
            if kind == "story_end":
                self.stories_over.add(site.gateway)
            if kind not in ("note", "fault"):
                continue
            self._story(site, report)
            if report.get("by") == "demo":
                self._demo_fault(site, report)

    def _story(self, site: SiteRun, report: dict[str, Any]) -> None:
        text = report["text"]
        if report["event"] == "fault":
            text = f"{'fault' if report['phase'] == 'start' else 'over'}: {text}"
        self.state.story.append(FeedLine(report["t_s"], self.state.short(site.gateway), text))
        self.on_change()

    def _demo_fault(self, site: SiteRun, report: dict[str, Any]) -> None:
        row = self.state.sites[site.gateway]
        if report["fault"] == "uplink_cut":
            if report["phase"] == "start":
                site.cut()
                row.link = "cut"
            else:
                site.restore()
                row.link = "up"
        elif report["fault"] == "gateway_reboot":
            task = asyncio.create_task(self._reboot(site, float(report.get("down_s", 0.0))))
            self._tasks.append(task)

    async def _reboot(self, site: SiteRun, down_story_s: float) -> None:
        row = self.state.sites[site.gateway]
        row.link = "rebooting"
        self.on_change()
        await site.reboot(down_story_s / self.options.speed)
        row.link = "up" if site.proxy is None or site.proxy.up else "cut"
        self.on_change()

    async def _poll(self) -> None:
        last_status = 0.0
        while True:
            await asyncio.sleep(POLL_S)
            with contextlib.suppress(httpx.HTTPError, ValueError):
                await self._refresh()
            if time.monotonic() - last_status >= STATUS_POLL_S:
                last_status = time.monotonic()
                await self._status_of_unreachable()
            self.on_change()

    async def _refresh(self) -> None:
        assert self.api is not None
        for s in await self.api.sites():
            for gw in s["gateways"]:
                row = self.state.sites.get(gw)
                if row is not None:
                    row.worst_level = int(s.get("worst_hazard_level", s["worst_level"]))  # faults apart
                    row.faults = int((s.get("faults") or {}).get("count", 0))
                    row.open_alarms = int(s["open_alarms"])
        for g in await self.api.gateways():
            row = self.state.sites.get(g["id"])
            if row is None:
                continue
            beat = g.get("heartbeat") or {}
            row.acked_through = int(g["acked_through"])
            row.produced_through = max(row.produced_through, int(beat.get("produced_through") or 0))
            if row.heard_wall_s is None and row.link == "starting":
                row.link = "up"
            row.heard_wall_s = g["last_seen_ms"] / 1000.0
            if row.link == "up" and beat.get("outbox"):
                row.outbox_rows, row.outbox_from = int(beat["outbox"]["rows"]), "heartbeat"

    async def _status_of_unreachable(self) -> None:
        """A cut-off gateway's outbox, read at the gateway: the central cannot know it."""
        for site in self.sites.values():
            row = self.state.sites[site.gateway]
            if row.link in ("cut", "rebooting"):
                with contextlib.suppress(RuntimeError, ValueError, OSError):
                    status = await site.status()
                    row.outbox_rows = int(status["readings"]) + int(status["events"])
                    row.outbox_from = "status"
                    row.produced_through = max(row.produced_through, int(status["produced_through"]))

    async def _follow_stream(self) -> None:
        """The central's event stream: each alarm change becomes feed lines from its timeline."""
        assert self.api is not None
        while True:
            try:
                async for event, data in self.api.stream():
                    if event == "alarm":
                        await self._alarm_changed(data)
            except (httpx.HTTPError, ValueError) as e:
                log.debug("event stream: %s; reconnecting", e)
            await asyncio.sleep(POLL_S)

    async def _alarm_changed(self, alarm: dict[str, Any]) -> None:
        assert self.api is not None
        detail = await self.api.alarm(int(alarm["id"]))
        timeline = [
            e for e in detail["timeline"]
            if (e["event_seq"] is not None or e["kind"] != "raised") and e["kind"] not in NOTIFICATION_KINDS
        ]  # fmt: skip
        seen = self._seen_entries.get(int(alarm["id"]), 0)
        gateway = alarm["gateway_id"]
        row = self.state.sites.get(gateway)
        if row is not None and seen == 0:
            row.alarms_raised += 1
        for entry in timeline[seen:]:
            self.state.feed.append(self._feed_line(alarm, entry))
        self._seen_entries[int(alarm["id"])] = len(timeline)
        self.on_change()

    def _feed_line(self, alarm: dict[str, Any], entry: dict[str, Any]) -> FeedLine:
        _, device, point = alarm["channel"].split("/")
        where = alarm["rule"] if device == "_site" else f"{device}/{point} {alarm['rule']}"
        level = entry["level"]
        value = "" if entry["value"] is None else f" ({entry['value']:.4g})"
        text = f"{where}: {feed_phrase(entry['kind'], level)}{value}"
        forecast = entry.get("forecast")
        if forecast:
            hours = self.timebase.story_s(forecast["failure_ts_ms"]) / 3600
            text += f"  forecast failure at story {hours:.2f} h (r2 {forecast['r2']:.2f})"
        short = self.state.short(alarm["gateway_id"])
        story_s = self._story_s(entry)
        behind_s = self.timebase.story_now_s() - story_s
        late_by_s = behind_s if behind_s > LATE_REAL_S * self.options.speed else None
        return FeedLine(story_s, short, text, level, late_by_s)

    def _story_s(self, entry: dict[str, Any]) -> float:
        """Gateways stamp with their fast-forwarded clocks; the central (a silent gateway) with the wall's."""
        if entry.get("actor") == "central":
            go_ms = self.timebase.go_wall_ms or int(entry["ts_ms"])
            return (int(entry["ts_ms"]) - go_ms) * self.options.speed / 1000.0
        return self.timebase.story_s(entry["ts_ms"])


def feed_phrase(kind: str, level: int | None) -> str:
    """``raised YELLOW``, ``up to RED``, ``cleared``: a timeline entry in the feed's words."""
    word = LEVEL_WORD.get(level, "") if level is not None else ""
    return KIND_PHRASE.get(kind, kind + " {level}").format(level=word).strip()
