"""A GNSS RTK rover streaming NMEA 0183 on a serial line: GGA and RMC every output interval.

The scenario models the antenna's displacement from its surveyed origin (north, east and up millimetres,
for the points whose ``field`` is ``north_mm``, ``east_mm``, ``up_mm``); the receiver turns it into a
position with ``protocols.geodesy.EnuFrame(origin).geodetic`` and prints it with seven decimals of
minutes (about 0.2 mm), as monitoring receivers do. Heights go into GGA's altitude field with a geoid
separation of 0, so the edge's height (GGA altitude) and the site file's origin height agree whichever
way the origin was surveyed. Fix quality, satellites and HDOP come from their points' models (RTK fixed,
24 satellites and 0.7 by default).

While the line is garbled (a scenario fault), each sentence has a byte flipped, a piece cut out, or
noise in front of it; the edge's framer counts them as bad checksums, cut sentences and garbage. NMEA's
XOR checksum misses some damage (two equal changes cancel); a real line would then deliver a wrong fix,
which in a story about millimetres would be a false alarm, so such a sentence gets one more bit flipped
(a single flipped bit always breaks the checksum).
"""

from __future__ import annotations

import asyncio
import math

from protocols.geodesy import EnuFrame
from protocols.nmea import build_sentence, format_gga, format_rmc, verify
from protocols.profile import NmeaProfile
from simulator.clock import SimClock
from simulator.garble import Garbler
from simulator.models import DeviceModel
from simulator.pty_line import PtyLine

TALKER = "GN"


class GnssReceiver:
    def __init__(
        self,
        device_id: str,
        profile: NmeaProfile,
        model: DeviceModel,
        *,
        origin: tuple[float, float, float],
        line: PtyLine,
        clock: SimClock,
        output_interval_s: float,
        seed: int,
    ) -> None:
        self.device_id = device_id
        self.model = model
        self.frame = EnuFrame(origin)
        self.line = line
        self.clock = clock
        self.output_interval_s = output_interval_s
        self.garbler = Garbler(seed, device_id)
        self._point_of_field: dict[str, str] = {str(p.field): p.name for p in profile.points}
        self.counts = {"fixes": 0, "garbled": 0}

    def _field(self, field: str, t_s: float, default: float) -> float:
        point = self._point_of_field.get(field)
        return default if point is None else self.model.value(point, t_s)

    def sentences(self, t_s: float) -> bytes:
        """The GGA and RMC the receiver prints for simulated time ``t_s``."""
        north = self._field("north_mm", t_s, 0.0)
        east = self._field("east_mm", t_s, 0.0)
        up = self._field("up_mm", t_s, 0.0)
        lat, lon, height = self.frame.geodetic(north, east, up)
        fix = round(self._field("fix_quality", t_s, 4.0))
        when = self.clock.utc(t_s)
        has_fix = fix > 0
        gga = format_gga(
            utc_time=when.time(),
            latitude_deg=lat if has_fix else None,
            longitude_deg=lon if has_fix else None,
            fix_quality=fix,
            satellites=max(0, round(self._field("satellites", t_s, 24.0))),
            hdop=max(0.0, self._field("hdop", t_s, 0.7)),
            altitude_m=height if has_fix else None,
            geoid_separation_m=0.0 if has_fix else None,
        )
        rmc = format_rmc(
            utc_time=when.time(),
            status="A" if has_fix else "V",
            latitude_deg=lat if has_fix else None,
            longitude_deg=lon if has_fix else None,
            speed_m_s=0.0,
            course_deg=None,
            date=when.date(),
            mode="R" if fix == 4 else "F" if fix == 5 else "D" if has_fix else "N",
        )
        return build_sentence(TALKER, "GGA", gga) + build_sentence(TALKER, "RMC", rmc)

    async def run(self) -> None:
        """Print a fix every output interval of simulated time, until cancelled. While the story is held
        the receiver is already powered: it prints its t = 0 fix at the same pace."""
        t_s = math.ceil(self.clock.now_s() / self.output_interval_s) * self.output_interval_s
        while True:
            if not self.clock.running:
                self._print(0.0)
                await asyncio.sleep(self.output_interval_s / self.clock.speed)
                continue
            await self.clock.sleep_until(t_s)
            self._print(t_s)
            t_s = max(t_s + self.output_interval_s, self.clock.now_s())
            await asyncio.sleep(0)

    def _print(self, t_s: float) -> None:
        data = self.sentences(t_s)
        if self.garbler.active:
            data = garble_checked(self.garbler, data, t_s)
            self.counts["garbled"] += 1
        self.line.write(data)
        self.counts["fixes"] += 1

    def statistics(self) -> dict[str, int]:
        return {**self.counts, **self.line.statistics()}


def garble_checked(garbler: Garbler, data: bytes, t_s: float) -> bytes:
    """``data`` garbled so that no sentence in it still passes its checksum unless it is an original."""
    originals = set(data.split(b"\r\n"))
    out = []
    for piece in garbler.garble(data, t_s).split(b"\r\n"):
        start = piece.rfind(b"$")  # a framer restarts at every "$": only the last one can end well
        sentence = piece[start:]
        if start >= 0 and sentence not in originals and verify(sentence)[1] is not None:
            i = start + 1
            out.append(piece[:i] + bytes([piece[i] ^ 0x01]) + piece[i + 1 :])
        else:
            out.append(piece)
    return b"\r\n".join(out)
