"""A polled ASCII sensor on a serial line: it answers its poll command with one line of values.

The line is the device's own format, written by a formatter per profile (a regular expression cannot be
run backwards); ``FORMATTERS`` holds them, and a test decodes every formatter's output with the profile's
own pattern (``protocols.lineproto``). The answer goes out ``response_ms`` after the command arrived (real
milliseconds: the sensor's processing time is not part of the story's clock).

A profile without a poll command streams: the sensor prints a line every poll interval on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from protocols.profile import LineProfile
from simulator.clock import SimClock
from simulator.garble import Garbler
from simulator.models import DeviceModel
from simulator.pty_line import PtyLine

Values = Callable[[str], float]


def format_weather_0r0(value: Values) -> str:
    """``weather_sensor_ascii``: the composite "0R0" message of a compact weather transmitter."""
    return (
        f"0R0,Dm={round(value('wind_direction')) % 360:d}D,Sm={value('wind_speed'):.1f}M,"
        f"Ta={value('air_temperature'):.1f}C,Ua={value('humidity'):.1f}P,"
        f"Pa={value('pressure'):.1f}H,Rc={value('rain_total'):.2f}M"
    )


FORMATTERS: dict[str, Callable[[Values], str]] = {"weather_sensor_ascii": format_weather_0r0}


class LineSensor:
    def __init__(
        self,
        device_id: str,
        profile_name: str,
        profile: LineProfile,
        *,
        model: DeviceModel,
        line: PtyLine,
        clock: SimClock,
        poll_interval_s: float,
        response_ms: float,
        seed: int,
    ) -> None:
        formatter = FORMATTERS.get(profile_name)
        if formatter is None:
            known = ", ".join(sorted(FORMATTERS))
            raise ValueError(f"{device_id}: no line formatter for profile {profile_name} (known: {known})")
        self.device_id = device_id
        self.formatter = formatter
        self.settings = profile.line
        self.model = model
        self.line = line
        self.clock = clock
        self.poll_interval_s = poll_interval_s
        self.response_s = response_ms / 1000.0
        self.garbler = Garbler(seed, device_id, checksummed=False)
        self._poll = (profile.line.poll_command or "").encode(profile.line.encoding)
        self._received = b""
        self.counts = {"polls": 0, "answers": 0, "garbled": 0, "unknown_commands": 0}

    def message(self, t_s: float) -> bytes:
        text = self.formatter(lambda point: self.model.value(point, t_s))
        return (text + self.settings.delimiter).encode(self.settings.encoding)

    def _answer(self) -> None:
        t_s = self.clock.now_s()
        data = self.message(t_s)
        if self.garbler.active:
            data = self.garbler.garble(data, t_s)
            self.counts["garbled"] += 1
        self.line.write(data)
        self.counts["answers"] += 1

    async def run(self) -> None:
        if not self._poll:
            await self._stream()
            return
        loop = asyncio.get_running_loop()
        polled = asyncio.Event()
        loop.add_reader(self.line.master_fd, polled.set)
        try:
            while True:
                await polled.wait()
                polled.clear()
                self._received = (self._received + self.line.read())[-256:]
                while self._poll in self._received:
                    before, _, self._received = self._received.partition(self._poll)
                    if before.strip():
                        self.counts["unknown_commands"] += 1
                    self.counts["polls"] += 1
                    await asyncio.sleep(self.response_s)
                    self._answer()
        finally:
            with contextlib.suppress(Exception):
                loop.remove_reader(self.line.master_fd)

    async def _stream(self) -> None:
        await self.clock.started()
        t_s = self.clock.now_s()
        while True:
            await self.clock.sleep_until(t_s)
            self._answer()
            t_s = max(t_s + self.poll_interval_s, self.clock.now_s())

    def statistics(self) -> dict[str, int]:
        return {**self.counts, **self.line.statistics()}
