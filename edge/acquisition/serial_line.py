"""One serial line sensor task: open the port, frame what arrives, hand readings on, reopen when it goes.

The port is read as it delivers (``edge.acquisition.serial_port``), bytes go to the sensor's sans-I/O decoder
(``sensor_values.NmeaValues`` or ``LineValues``), and every value group becomes one ``ReadingBlock``
stamped when its bytes arrived. A line profile with a ``poll_command`` gets it written every poll
interval. Faults never end the task:

- the port cannot be opened, or vanishes (USB adapter unplugged): the device is marked offline (one
  event, one warning) and the port is reopened with capped, jittered backoff (``reopen_max_s`` from the
  site file); the first good value after that clears it (one info line);
- the port stays open but nothing decodable arrives for ``silence_s`` (a dead or disconnected sensor):
  offline too, until values come back;
- broken sentences, bad checksums, garbage and over-long lines are counted by the framers.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import numpy as np

from edge.acquisition.health import DeviceHealth
from edge.acquisition.sensor_values import LineValues, NmeaValues
from edge.acquisition.serial_port import PortGone, SerialPort
from edge.clock import Clock
from edge.pipeline import Sink
from edge.supervisor import Restarts
from protocols.backoff import Backoff
from protocols.config import BoundDevice
from protocols.profile import LineProfile, NmeaProfile
from protocols.quality import Quality
from protocols.records import ReadingBlock, channel_key
from protocols.site import SerialLineBus

log = logging.getLogger(__name__)

REOPEN_MIN_S = 0.5
MIN_SILENCE_S = 10.0
READ_BYTES = 4096
OpenPort = Callable[..., Awaitable[SerialPort]]


class SerialLine:
    def __init__(
        self,
        bus: SerialLineBus,
        device: BoundDevice,
        *,
        sink: Sink,
        clock: Clock,
        channel_index: Mapping[str, int],
        gateway_id: str,
        open_port: OpenPort = SerialPort.open,
        rng: random.Random | None = None,
    ) -> None:
        profile = device.profile
        if not isinstance(profile, NmeaProfile | LineProfile):
            raise TypeError(f"{device.device.id}: a serial line carries NMEA or line sensors")
        self.bus = bus
        self.name = bus.name
        self.device = device
        self.profile = profile
        self.sink = sink
        self.clock = clock
        self._open_port = open_port
        self._rng = rng or random.Random()
        dev_id = device.device.id
        self.channels = {
            p.name: channel_index[channel_key(gateway_id, dev_id, p.name)] for p in profile.points
        }
        self.all_channels = np.array(list(self.channels.values()), dtype=np.int32)
        interval_s = (device.device.poll_interval_ms or profile.poll_interval_ms) / 1000
        self.poll_interval_s = interval_s
        sample_s = profile.nmea.sample_interval_ms / 1000 if isinstance(profile, NmeaProfile) else interval_s
        self.silence_s = max(MIN_SILENCE_S, 5 * sample_s)
        self.health = DeviceHealth(
            dev_id,
            channel_key(gateway_id, dev_id, "_device"),
            offline_after_failures=1,
            offline_retry_s=bus.reopen_max_s,
            rng=self._rng,
        )
        self.restarts = Restarts()
        self.counts = {"opens": 0, "open_failures": 0, "port_lost": 0, "bytes": 0, "values": 0,
                       "silences": 0}  # fmt: skip
        self._decoder: NmeaValues | LineValues | None = None
        self._decoder_stats: dict[str, int] = {}

    def _new_decoder(self) -> NmeaValues | LineValues:
        if isinstance(self.profile, NmeaProfile):
            return NmeaValues(self.profile, self.channels, self.device.device.origin)
        return LineValues(self.profile, self.channels)

    async def run(self) -> None:
        """Read until cancelled, reopening the port whenever it goes away."""
        backoff = Backoff(min(REOPEN_MIN_S, self.bus.reopen_max_s), self.bus.reopen_max_s)
        failures = 0
        while True:
            try:
                port = await self._open_port(
                    self.bus.port,
                    baud=self.bus.baud,
                    data_bits=self.bus.data_bits,
                    parity=self.bus.parity,
                    stop_bits=self.bus.stop_bits,
                )
            except PortGone as e:
                self.counts["open_failures"] += 1
                log.debug("serial line %s: %s", self.name, e)
                self._failed("port_missing")
                failures += 1
                await asyncio.sleep(backoff.delay_s(failures, self._rng))  # real seconds: I/O backoff
                continue
            self.counts["opens"] += 1
            failures = 0
            try:
                await self._read(port)
            except PortGone as e:
                self.counts["port_lost"] += 1
                log.debug("serial line %s: %s", self.name, e)
                self._failed("port_lost")
            finally:
                port.close()

    async def _read(self, port: SerialPort) -> None:
        decoder = self._decoder = self._new_decoder()
        poll_bytes = decoder.poll_bytes if isinstance(decoder, LineValues) else None
        next_poll_s = self.clock.monotonic_s()
        last_value_s = self.clock.monotonic_s()
        try:
            while True:
                now = self.clock.monotonic_s()
                if poll_bytes is not None and now >= next_poll_s:
                    await port.write(poll_bytes)
                    next_poll_s = max(next_poll_s + self.poll_interval_s, now)
                wait_s = last_value_s + self.silence_s - now
                if poll_bytes is not None:
                    wait_s = min(wait_s, next_poll_s - now)
                data = await port.read(READ_BYTES, max(wait_s, 0.0) / self.clock.speed)
                now = self.clock.monotonic_s()
                if data:
                    self.counts["bytes"] += len(data)
                    decoder.feed(data)
                    if self._emit(decoder, now):
                        last_value_s = now
                if now - last_value_s >= self.silence_s:
                    self.counts["silences"] += 1
                    self._failed("silence")
                    last_value_s = now
        finally:
            decoder.close()
            self._decoder_stats = decoder.statistics()

    def _emit(self, decoder: NmeaValues | LineValues, now_s: float) -> bool:
        groups = decoder.take(now_s)
        if not groups:
            return False
        ts_ms = self.clock.now_ms()
        event = self.health.success(ts_ms)
        if event is not None:
            self.sink.put_event(event)
        unsync = not self.clock.synchronised()
        for g in groups:
            n = len(g.channels)
            self.counts["values"] += n
            quality = g.quality | np.uint32(Quality.CLOCK_UNSYNC) if unsync else g.quality
            stamps = np.full(n, ts_ms, dtype=np.int64)
            self.sink.put_readings(ReadingBlock(g.channels, stamps, g.values, quality))
        return True

    def _failed(self, why: str) -> None:
        ts_ms = self.clock.now_ms()
        event = self.health.failure(self.clock.monotonic_s(), ts_ms, why)
        if event is None:
            return
        self.sink.put_event(event)
        n = len(self.all_channels)
        self.sink.put_readings(
            ReadingBlock(
                self.all_channels,
                np.full(n, ts_ms, dtype=np.int64),
                np.full(n, np.nan),
                np.full(n, Quality.COMM_ERROR, dtype=np.uint32),
            )
        )

    def statistics(self) -> dict[str, Any]:
        decoder = self._decoder.statistics() if self._decoder is not None else self._decoder_stats
        return {
            "type": "serial_line",
            "endpoint": self.bus.port,
            **self.counts,
            "restarts": self.restarts.count,
            "decoder": decoder,
            "devices": {self.device.device.id: self.health.snapshot()},
        }
