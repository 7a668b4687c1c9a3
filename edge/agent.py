"""The gateway agent: acquisition -> detection -> outbox -> uplink, with the heartbeat, in one TaskGroup.

``Agent.start(site, clock)`` does everything that can fail at startup, in order, so a bad setting stops
the process before it touches a bus: load the token (``ConfigError``), open the outbox (``OutboxError``:
an unwritable place), build and warm the detector bank (numba compiles the kernels or loads them from its
cache; the agent says so to systemd with ``STATUS=`` first, and logs which it was and how long it took),
restore its saved state. ``await agent.run(stop)`` then runs, each under ``supervise`` where it is a loop:

- ``acquisition``: one task per bus (``edge.acquisition``); its sink gathers their blocks until the
  buses have polled what was due (at most 100 ms), runs detection on them and appends the readings,
  then the events they raised, to the outbox (``DetectingSink``, never blocking; ``detection`` is the
  task that owns its 100 ms deadline);
- ``uplink``: the MQTT connection (HTTP has none to keep);
- ``forwarder``: outbox -> central, deleting only what the central acknowledged;
- ``heartbeat``: every ``gateway.heartbeat_interval_s``;
- ``detector state``: saved next to the outbox, atomically, after every step that changed an alarm (at
  most every ``STATE_MIN_GAP_S``), every ``STATE_SAVE_S``, and at stop; always after the outbox made
  durable what the state has seen;
- ``watchdog``: ``WATCHDOG=1`` to systemd at half its interval while the outbox writer is healthy.

When ``stop`` is set (SIGTERM), the agent says STOPPING to systemd and stops polling; with a drain time
(``run --drain-s``) it sends a last heartbeat (the final ``produced_through``) and keeps forwarding until
the outbox is empty or the time is up; then it cancels the
rest, commits what the outbox holds in memory, and saves the detector state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edge.acquisition import Acquisition
from edge.clock import Clock
from edge.detect import DetectorBank, StateMismatchError, WarmUp
from edge.forwarder import Forwarder
from edge.heartbeat import Heartbeat
from edge.outbox import Outbox
from edge.pipeline import DetectingSink
from edge.supervisor import supervise
from edge.systemd import Notifier
from edge.uplink.base import Uplink
from edge.uplink.http import HttpUplink, load_token
from edge.uplink.mqtt import MqttUplink
from protocols.config import BoundSite
from protocols.site import HttpUplink as HttpUplinkSettings
from protocols.wire import ChannelMeta, SiteMeta

log = logging.getLogger(__name__)

STATE_SAVE_S = 60.0
STATE_MIN_GAP_S = 1.0
STATE_SUFFIX = ".detector"
COMPILING_STATUS = (
    "compiling the detection kernels: minutes on a Pi at the first start after an install "
    "(unless `fieldwatch-edge warm` ran), seconds once numba's cache has them"
)


def describe_warm_up(warm: WarmUp) -> str:
    """The log line after the warm-up: compiled (and how long that took) or loaded from the cache."""
    if warm.compiled:
        return (
            f"detection kernels compiled in {warm.seconds:.1f} s ({', '.join(warm.compiled)}; "
            f"cached in {warm.cache_dir}, so later starts load them)"
        )
    return f"detection kernels ready in {warm.seconds:.1f} s (loaded from numba's cache in {warm.cache_dir})"


def outbox_path(site: BoundSite) -> Path:
    path = Path(site.site.outbox.path)
    return path if path.is_absolute() else Path(site.path).resolve().parent / path


def channel_metas(site: BoundSite) -> list[ChannelMeta]:
    return [
        ChannelMeta(
            c.key, c.unit, c.profile,
            None if c.location is None else c.location[0], None if c.location is None else c.location[1],
            c.physical_range,
        )
        for c in site.channels
    ]  # fmt: skip


def site_meta(site: BoundSite) -> SiteMeta:
    s = site.site.site
    return SiteMeta(
        s.id, s.name, s.type, s.latitude_deg, s.longitude_deg, contact_person=s.contact_person or None,
        contact_phone=s.contact_phone or None, time_zone=s.time_zone,
    )  # fmt: skip


def make_uplink(site: BoundSite, environ: Mapping[str, str] | None = None) -> Uplink:
    settings = site.site.uplink
    if isinstance(settings, HttpUplinkSettings):
        return HttpUplink(settings, load_token(settings, site.path, environ))
    return MqttUplink(settings, site.gateway_id, environ)


class Agent:
    def __init__(  # noqa: PLR0917 - built by ``start``
        self,
        site: BoundSite,
        clock: Clock,
        outbox: Outbox,
        bank: DetectorBank,
        uplink: Uplink,
        notifier: Notifier,
    ) -> None:
        self.site = site
        self.clock = clock
        self.outbox = outbox
        self.bank = bank
        self.uplink = uplink
        self.notifier = notifier
        self.state_path = Path(str(outbox.path) + STATE_SUFFIX)
        self.sink = DetectingSink(bank, outbox, clock=clock)
        self.acquisition = Acquisition(site, self.sink, clock, on_idle=self.sink.flush)
        self.forwarder = Forwarder(
            outbox, uplink, gateway=site.gateway_id, settings=site.site.forwarding, now_ms=clock.now_ms
        )
        self.heartbeat = Heartbeat(
            clock=clock, outbox=outbox, forwarder=self.forwarder,
            interval_s=site.site.gateway.heartbeat_interval_s,
            buses=self.acquisition.statistics, detector=self._detector_statistics,
        )  # fmt: skip

    @classmethod
    def start(
        cls, site: BoundSite, clock: Clock | None = None, environ: Mapping[str, str] | None = None
    ) -> Agent:
        """Everything that can fail at startup; raises ConfigError or OutboxError with the reason."""
        clock = clock or Clock()
        uplink = make_uplink(site, environ)
        outbox = Outbox.open(
            outbox_path(site), site.site.outbox, channels=channel_metas(site), site=site_meta(site),
            gateway=site.gateway_id,
        )  # fmt: skip
        try:
            notifier = Notifier(environ)
            bank = DetectorBank.from_site(site)
            notifier.status(COMPILING_STATUS)
            log.info("%s", COMPILING_STATUS)
            log.info("%s (%d channels)", describe_warm_up(bank.warm_up()), len(site.channels))
            agent = cls(site, clock, outbox, bank, uplink, notifier)
            agent.restore_state()
        except BaseException:
            outbox.close()
            raise
        return agent

    # ------------------------------------------------------------------ running

    async def run(self, stop: asyncio.Event, drain_s: float = 0.0) -> None:
        """Run until ``stop``; then, with ``drain_s`` > 0, keep delivering (nothing new is polled) until the
        outbox is empty, ``drain_s`` real seconds pass, or ``stop`` is set again."""
        try:
            async with asyncio.TaskGroup() as group:
                producing = [
                    group.create_task(self.acquisition.run(), name="acquisition"),
                    group.create_task(self.sink.run(), name="detection"),
                    group.create_task(supervise("heartbeat", self.heartbeat.run), name="heartbeat"),
                    group.create_task(self._save_state_periodically(), name="detector state"),
                ]
                delivering = [
                    group.create_task(supervise("uplink", self.uplink.run), name="uplink"),
                    group.create_task(supervise("forwarder", self.forwarder.run), name="forwarder"),
                    group.create_task(self._watchdog(), name="watchdog"),
                ]
                self.notifier.ready(f"gateway {self.site.gateway_id}: running")
                log.info("gateway %s running: %d buses", self.site.gateway_id, len(self.acquisition.buses))
                await stop.wait()
                self.notifier.stopping()
                for task in producing:
                    task.cancel()
                if drain_s > 0:
                    stop.clear()  # a second signal ends the drain at once
                    await self._drain(stop, drain_s)
                log.info("stopping")
                for task in delivering:
                    task.cancel()
        finally:
            await self.shutdown()

    async def _drain(self, stop: asyncio.Event, drain_s: float) -> None:
        """Deliver what the outbox holds before stopping (a planned shutdown; a power cut skips this)."""
        self.sink.flush()
        await asyncio.wrap_future(self.outbox.flush())
        # nothing new will be numbered: the central learns how far this outbox went, whatever is left
        self.forwarder.post_heartbeat(await self.heartbeat.snapshot())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_s
        log.info("draining the outbox: %d rows, at most %g s", self.outbox.statistics()["rows"], drain_s)
        while (left := self.outbox.statistics()["rows"]) > 0 and loop.time() < deadline and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
        if left:
            log.warning("stopping with %d rows still in the outbox: they go with the next start", left)
        else:
            log.info("outbox drained")

    async def shutdown(self) -> None:
        """Commit what is queued, save the detector state, close the uplink (idempotent)."""
        try:
            self.sink.flush()
            self.heartbeat.close()
            await asyncio.to_thread(self.outbox.close)
        finally:  # even when the outbox could not commit (a dead card), keep what else can be kept
            await asyncio.to_thread(self.write_state, self.bank.state())
            with contextlib.suppress(Exception):
                await self.uplink.aclose()

    async def _save_state_periodically(self) -> None:
        """Save after every step that changed an alarm (at most every ``STATE_MIN_GAP_S``) and every
        ``STATE_SAVE_S``: a reboot then neither re-learns from zero nor raises again what is open."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.sink.alarms_changed.wait(), STATE_SAVE_S)
            await self.save_state_safely()
            await asyncio.sleep(STATE_MIN_GAP_S)

    async def save_state_safely(self) -> None:
        """Snapshot the detectors, make durable every row and event their state has seen, then write it.

        The order matters: a state that knows of an alarm whose event a power cut took from the outbox
        would never raise it again. The snapshot is taken on the event loop, where ``step`` runs, so it
        is never half a step; everything the bank has seen is already queued in the outbox by then.
        """
        self.sink.alarms_changed.clear()
        data = self.bank.state()
        await asyncio.wrap_future(self.outbox.make_durable())
        await asyncio.to_thread(self.write_state, data)

    async def _watchdog(self) -> None:
        interval_s = self.notifier.watchdog_s
        if interval_s is None:
            return
        while True:
            if self.outbox.healthy():
                self.notifier.watchdog()
            else:
                log.error("the outbox writer is not healthy; withholding the watchdog ping")
            await asyncio.sleep(interval_s / 2)

    # ------------------------------------------------------------------ detector state

    def write_state(self, data: bytes) -> None:
        """Write the detector state next to the outbox: temp file, fsync, rename (never half a file)."""
        folder = self.state_path.parent
        fd, tmp = tempfile.mkstemp(prefix=self.state_path.name, dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.state_path)
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            log.warning("could not save the detector state to %s: %s", self.state_path, e)

    def restore_state(self) -> None:
        try:
            data = self.state_path.read_bytes()
        except FileNotFoundError:
            return
        try:
            self.bank.restore(data)
            log.info("detector state restored from %s", self.state_path)
        except StateMismatchError as e:
            log.warning("detector state in %s not restored (starting fresh): %s", self.state_path, e)

    def _detector_statistics(self) -> dict[str, Any]:
        return {**self.bank.statistics(), "errors": self.sink.detector_errors}
