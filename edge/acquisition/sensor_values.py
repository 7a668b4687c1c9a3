"""Serial line sensors: bytes in, blocks of (channel, value, quality) out. Pure: no port, no clock.

Two decoders share one shape (``feed(bytes)``, then ``take(now_s)`` -> the value groups ready, each a
``ValueGroup`` of channel indexes, values and qualities; ``statistics()``; ``close()`` at the end of a
stream):

- ``NmeaValues`` maps GGA and RMC sentences to a profile's ``NmeaPoint`` fields. Position fields (latitude,
  longitude, altitude and the displacement from the device's ``origin``) follow the fix: no fix (quality 0
  or empty) gives NaN with ``SENSOR_FAULT``; a fix not in ``nmea.accept_fix_quality`` (RTK float when the
  slope wants RTK fixed) keeps the value with ``DEGRADED``. Fix quality, satellites and HDOP are reported
  as they are. ``nmea.sample_interval_ms`` decimates: at most one group per sentence kind per interval.
  A sentence that passed its checksum but carries nonsense (``FrameError``) is counted and skipped.
- ``LineValues`` wraps ``protocols.lineproto.LineDecoder``: one group per decoded line.

Both set ``OUT_OF_RANGE`` on values outside a point's physical range (value kept).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from protocols.errors import FrameError
from protocols.framing import NEED_DATA
from protocols.geodesy import EnuFrame
from protocols.lineproto import LineDecoder
from protocols.nmea import Gga, NmeaFramer, NmeaSentence, Rmc, parse_gga, parse_rmc
from protocols.profile import NMEA_DISPLACEMENT_FIELDS, LineProfile, NmeaProfile, PointBase
from protocols.quality import Quality
from protocols.site import Location

GGA_FIELDS = frozenset(
    {"latitude_deg", "longitude_deg", "altitude_m", "fix_quality", "satellites", "hdop",
     *NMEA_DISPLACEMENT_FIELDS}
)  # fmt: skip
RMC_FIELDS = frozenset({"speed_m_s", "course_deg"})
POSITION_FIELDS = frozenset({"latitude_deg", "longitude_deg", "altitude_m", *NMEA_DISPLACEMENT_FIELDS})


@dataclass(frozen=True, slots=True)
class ValueGroup:
    channels: npt.NDArray[np.int32]
    values: npt.NDArray[np.float64]
    quality: npt.NDArray[np.uint32]


class _Points:
    """A group of points decoded together: their channels and physical ranges, precomputed."""

    def __init__(self, points: Sequence[PointBase], channels: Mapping[str, int]) -> None:
        self.names = tuple(p.name for p in points)
        self.channels = np.array([channels[p.name] for p in points], dtype=np.int32)
        ranges = [p.physical_range or (-math.inf, math.inf) for p in points]
        self.low = np.array([r[0] for r in ranges])
        self.high = np.array([r[1] for r in ranges])

    def group(self, values: npt.NDArray[np.float64], quality: npt.NDArray[np.uint32]) -> ValueGroup:
        outside = (values < self.low) | (values > self.high)
        quality |= (outside * np.uint32(Quality.OUT_OF_RANGE)).astype(np.uint32)
        return ValueGroup(self.channels, values, quality)


class NmeaValues:
    def __init__(self, profile: NmeaProfile, channels: Mapping[str, int], origin: Location | None) -> None:
        settings = profile.nmea
        self.accept = frozenset(settings.accept_fix_quality)
        self.interval_s = settings.sample_interval_ms / 1000
        self._origin_height = origin.altitude_m if origin is not None else None
        self._frame = (
            EnuFrame((origin.latitude_deg, origin.longitude_deg, origin.altitude_m or 0.0))
            if origin is not None
            else None
        )
        self._framer = NmeaFramer(settings.max_line_bytes)
        gga = [p for p in profile.points if p.field in GGA_FIELDS]
        rmc = [p for p in profile.points if p.field in RMC_FIELDS]
        self._gga = (_Points(gga, channels), tuple(p.field for p in gga)) if gga else None
        self._rmc = (_Points(rmc, channels), tuple(p.field for p in rmc)) if rmc else None
        self._last_s = {"GGA": -math.inf, "RMC": -math.inf}
        self._counts = {"bad_sentences": 0, "other_sentences": 0, "decimated": 0}

    def feed(self, data: bytes) -> None:
        self._framer.feed(data)

    def take(self, now_s: float) -> list[ValueGroup]:
        out = []
        while (sentence := self._framer.next_sentence()) is not NEED_DATA:
            group = self._decode(sentence, now_s)
            if group is not None:
                out.append(group)
        return out

    def close(self) -> None:
        self._framer.close()

    def statistics(self) -> dict[str, int]:
        return self._framer.statistics() | self._counts

    def _decode(self, sentence: NmeaSentence, now_s: float) -> ValueGroup | None:
        kind = sentence.kind
        target = self._gga if kind == "GGA" else self._rmc if kind == "RMC" else None
        if target is None:
            self._counts["other_sentences"] += 1
            return None
        if now_s - self._last_s[kind] < self.interval_s:
            self._counts["decimated"] += 1
            return None
        try:
            parsed: Gga | Rmc = parse_gga(sentence) if kind == "GGA" else parse_rmc(sentence)
        except FrameError:
            self._counts["bad_sentences"] += 1
            return None
        self._last_s[kind] = now_s
        points, fields = target
        if isinstance(parsed, Gga):
            values, quality = self._gga_values(parsed, fields)
        else:
            values = np.array([_number(getattr(parsed, f)) for f in fields])
            quality = np.where(np.isnan(values), np.uint32(Quality.SENSOR_FAULT), np.uint32(0))
        return points.group(values, quality.astype(np.uint32))

    def _gga_values(
        self, gga: Gga, fields: tuple[str, ...]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]:
        fix = gga.fix_quality
        displacement = self._displacement(gga) if fix else None
        values = np.empty(len(fields))
        quality = np.zeros(len(fields), dtype=np.uint32)
        for i, f in enumerate(fields):
            if f in NMEA_DISPLACEMENT_FIELDS:
                values[i] = math.nan if displacement is None else displacement[f]
            else:
                values[i] = _number(getattr(gga, f))
            if f in POSITION_FIELDS:
                if not fix or math.isnan(values[i]):
                    values[i] = math.nan
                    quality[i] = Quality.SENSOR_FAULT
                elif fix not in self.accept:
                    quality[i] = Quality.DEGRADED
            elif math.isnan(values[i]):
                quality[i] = Quality.SENSOR_FAULT
        return values, quality

    def _displacement(self, gga: Gga) -> dict[str, float] | None:
        """North, east, up and horizontal millimetres from the origin. Heights are ellipsoidal, as WGS84
        geodesy needs: the fix's is GGA's altitude plus its geoid separation, the origin's is written so in
        the site file (hw_profiles/README.md)."""
        if self._frame is None or gga.latitude_deg is None or gga.longitude_deg is None:
            return None
        known = gga.altitude_m is not None and self._origin_height is not None
        # Without both heights, put the point at the origin's height: north and east stay exact, up is NaN.
        height = (gga.altitude_m or 0.0) + (gga.geoid_separation_m or 0.0) if known else self._origin_height
        north, east, up = self._frame.enu_mm((gga.latitude_deg, gga.longitude_deg, height or 0.0))
        if not known:
            up = math.nan
        return {"north_mm": north, "east_mm": east, "up_mm": up, "horizontal_mm": math.hypot(north, east)}


class LineValues:
    def __init__(self, profile: LineProfile, channels: Mapping[str, int]) -> None:
        self._decoder = LineDecoder(profile.line, profile.points)
        self.poll_bytes = self._decoder.poll_bytes
        self._points = {p.name: _Points([p], channels) for p in profile.points}
        self._all = _Points(profile.points, channels)

    def feed(self, data: bytes) -> None:
        self._decoder.feed(data)

    def take(self, now_s: float) -> list[ValueGroup]:
        out = []
        while (line := self._decoder.next_values()) is not NEED_DATA:
            if len(line) == len(self._all.names):
                values = np.array([line[n] for n in self._all.names])
                out.append(self._all.group(values, np.zeros(len(values), dtype=np.uint32)))
                continue
            names = [n for n in self._all.names if n in line]
            channels = np.concatenate([self._points[n].channels for n in names])
            values = np.array([line[n] for n in names])
            low = np.array([self._points[n].low[0] for n in names])
            high = np.array([self._points[n].high[0] for n in names])
            quality = (((values < low) | (values > high)) * np.uint32(Quality.OUT_OF_RANGE)).astype(np.uint32)
            out.append(ValueGroup(channels, values, quality))
        return out

    def close(self) -> None:
        self._decoder.close()

    def statistics(self) -> dict[str, int]:
        return self._decoder.statistics()


def _number(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]
