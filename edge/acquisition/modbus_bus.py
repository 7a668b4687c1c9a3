"""One Modbus bus task: an RS-485 port, or one TCP endpoint, polled by one task over one connection.

An RS-485 line is half-duplex, so one task owns the port and polls its devices in turn: no locks, no
races between slaves. A TCP endpoint gets the same treatment (one connection, one request at a time),
which also respects the many small devices and gateways that accept a single connection; endpoints run
concurrently as separate tasks.

The loop: await the request due first on the bus schedule (``schedule.BusSchedule``), read it (with the
bus's retries), stamp the answer with ``clock.now_ms()`` as it arrives, decode the whole block with the
request's ``BlockDecoder``, and hand one ``ReadingBlock`` to the sink. Faults never end the loop:

- a Modbus exception gives its points ``with_exception_code(code)`` (the device is alive); a device that
  answers nothing but exceptions for ``offline_after_failures`` reads in a row raises a device fault
  (``health.ExceptionWatch``), and an exception 3 to a read of several registers logs, once per read, that
  the device may refuse reads that long (``modbus.max_registers_per_read``);
- a timeout, a lost connection or a broken answer (after the retries) gives ``COMM_ERROR`` or
  ``BAD_FRAME`` and counts towards the device's health (``health.DeviceHealth``); after
  ``offline_after_failures`` in a row the device is offline: one event, a ``COMM_ERROR`` reading for the
  read's points and for each other point of the device that has none in this run of failures yet (never two
  for one point at one time), its slots parked until the next jittered retry, so the rest of the bus keeps
  its rate;
- a lost connection (TCP peer gone, USB adapter unplugged) is reopened with capped, jittered backoff
  while the devices on it fail fast as DISCONNECTED.

Readings stamped while ``clock.synchronised()`` is False carry ``CLOCK_UNSYNC`` (checked once a second).

Text points (``type: string``: model, firmware, serial number) are no readings: each answer that carries
them updates the device's ``attributes`` (in ``statistics()``, so the heartbeat takes them to the central)
and calls ``on_attributes(device_id, attributes)`` when they change.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.acquisition.activity import BusActivity
from edge.acquisition.health import DeviceHealth, ExceptionWatch
from edge.acquisition.modbus_client import (
    NOT_CONNECTED,
    ModbusLink,
    ReadDeadlines,
    ReadResult,
    ReadStatus,
    rtu_link,
    tcp_link,
)
from edge.acquisition.modbus_plan import (
    ILLEGAL_DATA_VALUE,
    PreparedRequest,
    compile_device,
    refused_read_hint,
)
from edge.acquisition.schedule import BusSchedule
from edge.acquisition.stats import BusCounters, RequestCounters
from edge.clock import Clock
from edge.pipeline import Sink
from edge.supervisor import Restarts
from protocols.backoff import Backoff
from protocols.config import BoundDevice
from protocols.errors import RemoteProtocolError
from protocols.profile import ModbusProfile
from protocols.quality import Quality, with_exception_code
from protocols.records import Event, ReadingBlock, channel_key
from protocols.site import RtuBus, TcpBus

log = logging.getLogger(__name__)

RECONNECT = Backoff(first_s=0.5, max_s=30.0)
SYNC_CHECK_S = 1.0
COMM_ERROR = np.uint32(Quality.COMM_ERROR)
BAD_FRAME = np.uint32(Quality.BAD_FRAME)
CLOCK_UNSYNC = np.uint32(Quality.CLOCK_UNSYNC)


def default_link(bus: RtuBus | TcpBus, deadlines: ReadDeadlines | None = None) -> ModbusLink:
    timeout_s = bus.timeout_ms / 1000
    if isinstance(bus, TcpBus):
        return tcp_link(bus.host, bus.port, timeout_s=timeout_s, deadlines=deadlines)
    return rtu_link(
        bus.port,
        baud=bus.baud,
        data_bits=bus.data_bits,
        parity=bus.parity,
        stop_bits=bus.stop_bits,
        timeout_s=timeout_s,
        deadlines=deadlines,
    )


class ModbusBus:
    """Polls every enabled device of one RTU port or TCP endpoint (see the module docstring)."""

    def __init__(
        self,
        bus: RtuBus | TcpBus,
        devices: Sequence[BoundDevice],
        *,
        sink: Sink,
        clock: Clock,
        gateway_id: str,
        channel_index: Mapping[str, int],
        link_factory: Callable[[], ModbusLink] | None = None,
        rng: random.Random | None = None,
        activity: BusActivity | None = None,
        on_attributes: Callable[[str, dict[str, str | None]], None] | None = None,
    ) -> None:
        self.bus = bus
        self.activity = activity or BusActivity()
        self.name = bus.name
        self.sink = sink
        self.clock = clock
        self.timeout_s = bus.timeout_ms / 1000
        self.attempts = 1 + bus.retries
        self._link_factory = link_factory or (lambda: default_link(bus, self.activity.deadlines))
        self._rng = rng or random.Random()
        enabled = [d for d in devices if d.device.enabled and isinstance(d.profile, ModbusProfile)]
        self.requests: tuple[PreparedRequest, ...] = tuple(
            p for d in enabled for p in compile_device(d, channel_index, gateway_id)
        )
        self.health = {
            d.device.id: DeviceHealth(
                d.device.id,
                channel_key(gateway_id, d.device.id, "_device"),
                offline_after_failures=bus.offline_after_failures,
                offline_retry_s=bus.offline_retry_s,
                rng=self._rng,
            )
            for d in enabled
        }
        self.exceptions = {
            d: ExceptionWatch(d, h.event_channel, after=bus.offline_after_failures)
            for d, h in self.health.items()
        }
        self.device_counters = {d: RequestCounters() for d in self.health}
        self.device_requests = {d: [p for p in self.requests if p.device_id == d] for d in self.health}
        self.device_channels = {
            d: np.concatenate([p.channels for p in self.device_requests[d]] or [_NO_CHANNELS])
            for d in self.health
        }
        self._failed_reads: dict[str, set[int]] = {d: set() for d in self.health}  # id() of failed reads
        self._hinted_reads: set[int] = set()  # id() of reads whose exception 3 was explained
        self.attributes: dict[str, dict[str, str | None]] = {d: {} for d in self.health}
        self.on_attributes = on_attributes
        self.devices = {d.device.id: d for d in enabled}
        turnaround_s = bus.turnaround_ms / 1000 if isinstance(bus, RtuBus) else 0.0
        self.pause_s = {
            d.device.id: turnaround_s + _profile(d).modbus.workarounds.pause_between_requests_ms / 1000
            for d in enabled
        }
        self.flag_values: dict[str, dict[str, float]] = {d: {} for d in self.health}
        self.counters = BusCounters()
        self.restarts = Restarts()
        self.link: ModbusLink | None = None
        self._schedule: BusSchedule | None = None
        self._reconnect_at = 0.0
        self._reconnect_failures = 0
        self._link_lost_logged = False
        self._synced = True
        self._sync_checked_at = -SYNC_CHECK_S
        self._running = False
        self._connected_when_stopped = False

    @property
    def endpoint(self) -> str:
        return f"{self.bus.host}:{self.bus.port}" if isinstance(self.bus, TcpBus) else self.bus.port

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        """Poll until cancelled. Restartable: state (schedule, health, counters) survives a restart."""
        if not self.requests:
            return
        if self._schedule is None:
            intervals = [p.interval_s for p in self.requests]
            self._schedule = BusSchedule(intervals, self.clock.monotonic_s(), origin_s=0.0)
        schedule = self._schedule
        link = self.link = self._link_factory()
        self._running = True
        activity = self.activity
        activity.waking()
        awake = True
        try:
            while True:
                index, due = schedule.next_due()
                now = self.clock.monotonic_s()
                if due > now:
                    awake = False
                    activity.sleeping()
                    await activity.sleep_until(self.clock, due)
                    activity.waking()
                    awake = True
                    now = self.clock.monotonic_s()
                prepared = self.requests[index]
                health = self.health[prepared.device_id]
                if not health.retry_due(now):
                    schedule.park(index, health.next_retry_s)
                    self.counters.offline_skips += 1
                    continue
                await self._poll(link, prepared, health)
                schedule.done(index, self.clock.monotonic_s(), started_s=now)
        finally:
            if awake:
                activity.leaving()
            self._running = False
            self._connected_when_stopped = link.connected
            link.close()

    async def _poll(self, link: ModbusLink, p: PreparedRequest, health: DeviceHealth) -> None:
        r = p.request
        device = self.device_counters[p.device_id]
        result = NOT_CONNECTED
        for _ in range(self.attempts if health.online else 1):
            if not (link.connected or await self._connected(link)):
                result = NOT_CONNECTED
                seconds = 0.0
            else:
                started = time.perf_counter()
                result = await link.read(r.unit_id, r.kind, r.address, r.count, self.timeout_s)
                seconds = time.perf_counter() - started
                self.counters.busy(seconds)
            self.counters.record(result.status, seconds, result.exception_code, result.detail)
            device.record(result.status, seconds, result.exception_code, result.detail)
            if result.status in (ReadStatus.OK, ReadStatus.EXCEPTION, ReadStatus.DISCONNECTED):
                break
        self._emit(p, result, health)
        pause_s = self.pause_s[p.device_id]
        if pause_s > 0:
            await asyncio.sleep(pause_s)  # wire time: real seconds whatever the clock's speed
            self.counters.busy(pause_s)

    async def _connected(self, link: ModbusLink) -> bool:
        if link.connected:
            return True
        now = time.monotonic()
        if now < self._reconnect_at:
            return False
        link.close()  # one connection per endpoint: never open a second beside a half-dead first
        if await link.connect(self.timeout_s):
            if self._link_lost_logged:
                log.info("bus %s: %s connected again", self.name, self.endpoint)
            self._link_lost_logged = False
            self._reconnect_failures = 0
            return True
        if not self._link_lost_logged:
            log.warning("bus %s: cannot open %s; retrying with backoff", self.name, self.endpoint)
            self._link_lost_logged = True
        self._reconnect_failures += 1
        self._reconnect_at = now + RECONNECT.delay_s(self._reconnect_failures, self._rng)
        return False

    # ------------------------------------------------------------------ readings and events

    def _emit(self, p: PreparedRequest, result: ReadResult, health: DeviceHealth) -> None:
        ts_ms = self.clock.now_ms()
        n = len(p.channels)
        channels = p.channels
        device = p.device_id
        events: list[Event | None] = []
        if result.status is ReadStatus.OK:
            values, quality = self._decode(p, result)
            events += [health.success(ts_ms), self.exceptions[device].answered(ts_ms)]
            self._failed_reads[device].clear()
        elif result.status is ReadStatus.EXCEPTION:
            code = result.exception_code
            values = np.full(n, np.nan)
            quality = np.full(n, _exception_quality(code), dtype=np.uint32)
            events += [health.success(ts_ms), self.exceptions[device].exception(ts_ms, code)]
            self._failed_reads[device].clear()
            if code == ILLEGAL_DATA_VALUE and id(p) not in self._hinted_reads:
                self._hinted_reads.add(id(p))
                bound = self.devices[device]
                hint = refused_read_hint(p, bound.profile_name, _profile(bound))
                if hint is not None:
                    log.warning("%s", hint)
        else:
            event = health.failure(self.clock.monotonic_s(), ts_ms, result.status.value)
            events.append(event)
            channels = self._failure_channels(p, went_offline=event is not None, online=health.online)
            n = len(channels)
            values = np.full(n, np.nan)
            flag = BAD_FRAME if result.status is ReadStatus.BAD_FRAME else COMM_ERROR
            quality = np.full(n, flag, dtype=np.uint32)
        for e in events:
            if e is not None:
                self.sink.put_event(e)
        if n == 0:
            return
        if not self._clock_synchronised():
            quality |= CLOCK_UNSYNC
        self.sink.put_readings(ReadingBlock(channels, np.full(n, ts_ms, dtype=np.int64), values, quality))

    def _failure_channels(
        self, p: PreparedRequest, *, went_offline: bool, online: bool
    ) -> npt.NDArray[np.int32]:
        """The channels a failed read gives a failure reading: its own while the device is online; when it
        goes offline, its own and those of the device's other reads that have none in this run of failures
        yet (never a second reading of one point at one time); while offline (a retry), every point of the
        device (its other reads are parked)."""
        failed = self._failed_reads[p.device_id]
        if online:
            failed.add(id(p))
            return p.channels
        if not went_offline:
            return self.device_channels[p.device_id]
        pending = [
            q.channels for q in self.device_requests[p.device_id] if id(q) not in failed and q is not p
        ]
        failed.add(id(p))
        return np.concatenate([p.channels, *pending])

    def _decode(
        self, p: PreparedRequest, result: ReadResult
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]:
        n = len(p.channels)
        assert result.words is not None
        if p.text_points:
            self._update_attributes(p, result.words)
        if p.decoder is None:
            return np.empty(0), np.empty(0, dtype=np.uint32)
        try:
            values, quality = p.decoder.decode(result.words)
        except RemoteProtocolError:
            self.counters.frame_errors += 1
            return np.full(n, np.nan), np.full(n, BAD_FRAME, dtype=np.uint32)
        flags = self.flag_values[p.device_id]
        for field, name in p.flag_names:
            flags[name] = float(values[field])
        if p.external_flags:
            p.apply_external_flags(values, quality, flags)
        return values, quality

    def _update_attributes(self, p: PreparedRequest, words: Sequence[int]) -> None:
        """The device's text points from this answer (None where the bytes are not text)."""
        attributes = self.attributes[p.device_id]
        texts = p.decode_text([int(w) for w in words])
        if all(attributes.get(name, "") == text for name, text in texts.items()):
            return
        attributes.update(texts)
        if self.on_attributes is not None:
            self.on_attributes(p.device_id, dict(attributes))

    def _clock_synchronised(self) -> bool:
        now = time.monotonic()
        if now - self._sync_checked_at >= SYNC_CHECK_S:
            self._synced = self.clock.synchronised()
            self._sync_checked_at = now
        return self._synced

    # ------------------------------------------------------------------ statistics

    def statistics(self) -> dict[str, Any]:
        link = self.link.statistics() if self.link is not None else {}
        snapshot: dict[str, Any] = {
            "type": self.bus.type,
            "endpoint": self.endpoint,
            # while polling: now; after it stopped (poll's final table): when it stopped, not "closed"
            "connected": self.link is not None
            and (self.link.connected if self._running else self._connected_when_stopped),
            **self.counters.snapshot(),
            "crc_errors": link.get("crc_errors", 0),
            "unexpected_frames": link.get("unexpected_frames", 0),
            "connects": link.get("connects", 0),
            "skipped_slots": self._schedule.skipped_slots if self._schedule else 0,
            "offline_skips": self.counters.offline_skips,
            "utilisation": self.counters.utilisation(),
            "restarts": self.restarts.count,
            "devices": {
                d: {
                    **self.device_counters[d].snapshot(),
                    **self.health[d].snapshot(),
                    **self.exceptions[d].snapshot(),
                    "attributes": dict(self.attributes[d]),
                }
                for d in self.health
            },
        }
        return snapshot


_NO_CHANNELS: npt.NDArray[np.int32] = np.empty(0, dtype=np.int32)


def _profile(device: BoundDevice) -> ModbusProfile:
    assert isinstance(device.profile, ModbusProfile)
    return device.profile


def _exception_quality(code: int) -> int:
    return with_exception_code(code) if 0 < code <= 0xFF else int(Quality.DEVICE_EXCEPTION)
