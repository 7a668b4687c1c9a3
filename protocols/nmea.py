"""NMEA 0183, sans I/O: the framer that finds sentences in a serial byte stream, and the sentence builder.

A sentence is ``$`` (or ``!`` for encapsulated data) + address + ``,field`` ... + ``*HH`` + CR LF, where HH
is the XOR of the bytes between the start character and ``*``, in hex. The address is a two-letter talker
and a sentence kind (``GNGGA``: talker ``GN``, kind ``GGA``); proprietary sentences use the talker ``P``
and the rest as kind (``PUBX``).

``NmeaFramer`` takes the shape of ``protocols.framing``: ``feed(bytes)``, then ``next_sentence()`` until
``NEED_DATA``. It is a small state machine over three states (hunting for a start character, inside a
sentence, skipping the rest of an over-long one) that does a constant amount of work per byte and keeps
no more than one unfinished sentence, so the sentences and counters it yields do not depend on how the
stream was split into chunks. ``$`` and ``!`` are reserved characters: one inside
a sentence means the sentence was cut short (a dropped CR LF, a receiver reset), so a new sentence starts
there and the cut one is counted ``not_a_sentence``.

What a receiver sends never raises; each problem is counted and the sentence skipped:

- ``garbage_bytes``: bytes before a start character, other than CR and LF (line noise, a boot banner,
  NMEA 4 tag blocks);
- ``overlong``: more than ``max_line_bytes`` from the start character to the end of the checksum;
- ``bad_checksum``: the checksum does not match, or ``*`` is not followed by exactly two hex digits;
- ``no_checksum``: no ``*HH`` while ``require_checksum`` is on;
- ``not_a_sentence``: non-printable or non-ASCII bytes, a malformed address, or cut short by a new start;
- ``partial``: an unfinished sentence at ``close()``.

``parse_gga`` and ``parse_rmc`` read the two sentences a GNSS receiver on a slope is polled for; a field
that is empty reads as None, a malformed one raises ``FrameError`` naming it (a sentence that passed its
checksum but carries nonsense is a receiver bug, not line noise). ``build_sentence``, ``format_gga`` and
``format_rmc`` write sentences for the simulator and the tests. Field codecs live in
``protocols.nmea_fields``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from enum import Enum
from functools import reduce
from operator import xor
from typing import Final

from protocols.errors import FrameError, LocalProtocolError
from protocols.framing import NEED_DATA, NeedData
from protocols.nmea_fields import (
    KNOT_M_S,
    format_coordinate,
    format_date,
    format_number,
    format_time,
    parse_choice,
    parse_coordinate,
    parse_date,
    parse_float,
    parse_int,
    parse_time,
)

START_CHARS: Final = b"$!"
# Characters a field may not contain: they delimit sentences and fields (NMEA 0183 reserved characters).
RESERVED_CHARS: Final = "$!*,\\^~\r\n"

_START = re.compile(rb"[$!]")
_BOUNDARY = re.compile(rb"[\r\n$!]")
# Start character, body (printable, without start characters or "*"), then "*" and the checksum text.
_SHAPE = re.compile(rb"[$!]([\x20\x22\x23\x25-\x29\x2b-\x7e]*)(?:\*([\x20-\x7e]*))?")
_HEX2 = re.compile(rb"[0-9A-Fa-f]{2}")
_ADDRESS = re.compile(r"[A-Z][A-Z0-9]{2,15}")


@dataclass(frozen=True, slots=True)
class NmeaSentence:
    """One verified sentence: ``talker`` ("GN"), ``kind`` ("GGA") and the fields after the address."""

    talker: str
    kind: str
    fields: tuple[str, ...]


class _State(Enum):
    HUNTING = 0  # looking for a start character; bytes seen are garbage
    SENTENCE = 1  # collecting a sentence
    SKIPPING = 2  # the sentence grew past max_line_bytes: drop it up to its end


def checksum(body: bytes) -> int:
    """The XOR of ``body``: the bytes between the start character and ``*``."""
    return reduce(xor, body, 0)


class NmeaFramer:
    """Verified NMEA sentences from a serial byte stream. See the module docstring for the counters."""

    def __init__(self, max_line_bytes: int = 128, *, require_checksum: bool = True) -> None:
        if max_line_bytes < 8:
            raise LocalProtocolError(f"max_line_bytes must be at least 8 (got {max_line_bytes})")
        self.max_line_bytes: Final = max_line_bytes
        self.require_checksum: Final = require_checksum
        self._state = _State.HUNTING
        self._sentence = bytearray()  # bounded by max_line_bytes + 1
        self._ready: deque[NmeaSentence] = deque()
        self._closed = False
        self._counts = dict.fromkeys(
            (
                "sentences", "bytes_fed", "garbage_bytes", "bad_checksum", "no_checksum", "overlong",
                "not_a_sentence", "partial",
            ),
            0,
        )  # fmt: skip

    @property
    def buffered_bytes(self) -> int:
        """Bytes of the unfinished sentence held (at most ``max_line_bytes + 1``)."""
        return len(self._sentence)

    def feed(self, data: bytes) -> None:
        """Take bytes read from the port. ``feed(b"")`` does nothing (end of stream is ``close()``)."""
        if self._closed:
            raise LocalProtocolError("feed() after close(): the stream has ended")
        self._counts["bytes_fed"] += len(data)
        pos = 0
        while pos < len(data):
            hunting = self._state is _State.HUNTING
            pos = self._hunt(data, pos) if hunting else self._collect(data, pos)

    def next_sentence(self) -> NmeaSentence | NeedData:
        """The next verified sentence, or ``NEED_DATA``."""
        if self._ready:
            return self._ready.popleft()
        return NEED_DATA

    def close(self) -> None:
        """End of stream: an unfinished sentence is dropped and counted ``partial``."""
        if not self._closed and self._state is _State.SENTENCE:
            self._counts["partial"] += 1
        self._closed = True
        self._state = _State.HUNTING
        self._sentence.clear()

    def statistics(self) -> dict[str, int]:
        return dict(self._counts)

    def _hunt(self, data: bytes, pos: int) -> int:
        """Skip to the next start character; return where to continue."""
        found = _START.search(data, pos)
        stop = found.start() if found else len(data)
        skipped = data[pos:stop]
        self._counts["garbage_bytes"] += len(skipped) - skipped.count(b"\r") - skipped.count(b"\n")
        if found:
            self._state = _State.SENTENCE
            self._sentence.clear()
            self._sentence.append(data[stop])
            return stop + 1
        return stop

    def _collect(self, data: bytes, pos: int) -> int:
        """Add bytes to the sentence (or skip them) up to its end; return where to continue."""
        found = _BOUNDARY.search(data, pos)
        stop = found.start() if found else len(data)
        if self._state is _State.SENTENCE:
            room = self.max_line_bytes + 1 - len(self._sentence)
            self._sentence += data[pos : min(stop, pos + room)]
            if len(self._sentence) > self.max_line_bytes:
                self._counts["overlong"] += 1
                self._state = _State.SKIPPING
                self._sentence.clear()
        if found is None:
            return stop
        if data[stop] in b"\r\n":
            if self._state is _State.SENTENCE:
                self._finish(bytes(self._sentence))
            self._state = _State.HUNTING
            return stop + 1
        if self._state is _State.SENTENCE:  # a start character: this sentence was cut short
            self._counts["not_a_sentence"] += 1
        self._state = _State.HUNTING
        return stop  # hunting picks the start character up

    def _finish(self, raw: bytes) -> None:
        """Verify one complete sentence (start character through checksum) and queue it."""
        problem, sentence = verify(raw, require_checksum=self.require_checksum)
        if sentence is None:
            self._counts[problem] += 1
            return
        self._ready.append(sentence)
        self._counts["sentences"] += 1


def verify(raw: bytes, *, require_checksum: bool = True) -> tuple[str, NmeaSentence | None]:
    """``("", sentence)`` for a good sentence (``$`` or ``!`` through ``*HH``, no CR LF), otherwise
    ``(counter name, None)``: ``not_a_sentence``, ``bad_checksum`` or ``no_checksum``."""
    shape = _SHAPE.fullmatch(raw)
    if shape is None:
        return "not_a_sentence", None
    body, given = shape.group(1), shape.group(2)
    if given is None:
        if require_checksum:
            return "no_checksum", None
    elif _HEX2.fullmatch(given) is None or int(given, 16) != checksum(body):
        return "bad_checksum", None
    address, *fields = body.decode("ascii").split(",")
    if _ADDRESS.fullmatch(address) is None:
        return "not_a_sentence", None
    talker, kind = ("P", address[1:]) if address[0] == "P" else (address[:2], address[2:])
    return "", NmeaSentence(talker, kind, tuple(fields))


def build_sentence(talker: str, kind: str, fields: Sequence[str]) -> bytes:
    """``$`` + talker + kind + ``,fields`` + ``*HH`` + CR LF. A field with a reserved or non-printable
    character raises ``LocalProtocolError``: it would make a different sentence."""
    address = talker + kind
    if _ADDRESS.fullmatch(address) is None:
        raise LocalProtocolError(f"not an NMEA address: {address!r} (upper-case letters and digits, 3-16)")
    for i, field in enumerate(fields):
        bad = [c for c in field if c in RESERVED_CHARS or not " " <= c <= "~"]
        if bad:
            raise LocalProtocolError(f"field {i} ({field!r}) contains {bad[0]!r}, which NMEA 0183 reserves")
    body = ",".join((address, *fields)).encode("ascii")
    return b"$%s*%02X\r\n" % (body, checksum(body))


@dataclass(frozen=True, slots=True)
class Gga:
    """GGA, the fix: position, its quality (0 none, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float) and height.

    ``altitude_m`` is above mean sea level; ``geoid_separation_m`` is the geoid above the WGS84 ellipsoid,
    so the ellipsoidal height is their sum.
    """

    utc_time: time | None
    latitude_deg: float | None
    longitude_deg: float | None
    fix_quality: int | None
    satellites: int | None
    hdop: float | None
    altitude_m: float | None
    geoid_separation_m: float | None


@dataclass(frozen=True, slots=True)
class Rmc:
    """RMC, the recommended minimum: ``status`` A (valid) or V (void), position, speed over ground,
    course (degrees true) and date. ``mode`` (NMEA 2.3+): A autonomous, D differential, F RTK float,
    R RTK fixed, E estimated, N not valid ..."""

    utc_time: time | None
    status: str | None
    latitude_deg: float | None
    longitude_deg: float | None
    speed_m_s: float | None
    course_deg: float | None
    date: date | None
    mode: str | None = None


def _fields_of(sentence: NmeaSentence, kind: str, at_least: int, padded: int) -> tuple[str, ...]:
    """The sentence's fields, checked to be ``kind`` with at least ``at_least`` of them, padded with empty
    fields to ``padded`` (optional trailing fields that older receivers leave out)."""
    if sentence.kind != kind:
        raise LocalProtocolError(f"parse_{kind.lower()} was given a {sentence.kind} sentence")
    fields = sentence.fields
    if len(fields) < at_least:
        raise FrameError(f"{kind}: {len(fields)} fields, expected at least {at_least}")
    return fields + ("",) * (padded - len(fields))


def _metres(value: str, unit: str, name: str) -> float | None:
    if unit not in ("", "M"):
        raise FrameError(f"{name} unit: expected M (got {unit!r})")
    return parse_float(value, name)


def parse_gga(sentence: NmeaSentence) -> Gga:
    f = _fields_of(sentence, "GGA", at_least=11, padded=14)
    return Gga(
        utc_time=parse_time(f[0], "GGA.utc_time"),
        latitude_deg=parse_coordinate(f[1], f[2], "GGA.latitude", latitude=True),
        longitude_deg=parse_coordinate(f[3], f[4], "GGA.longitude", latitude=False),
        fix_quality=parse_int(f[5], "GGA.fix_quality", 0, 8),
        satellites=parse_int(f[6], "GGA.satellites"),
        hdop=parse_float(f[7], "GGA.hdop"),
        altitude_m=_metres(f[8], f[9], "GGA.altitude_m"),
        geoid_separation_m=_metres(f[10], f[11], "GGA.geoid_separation_m"),
    )


def parse_rmc(sentence: NmeaSentence) -> Rmc:
    f = _fields_of(sentence, "RMC", at_least=9, padded=12)
    knots = parse_float(f[6], "RMC.speed_knots")
    return Rmc(
        utc_time=parse_time(f[0], "RMC.utc_time"),
        status=parse_choice(f[1], "RMC.status", "AV"),
        latitude_deg=parse_coordinate(f[2], f[3], "RMC.latitude", latitude=True),
        longitude_deg=parse_coordinate(f[4], f[5], "RMC.longitude", latitude=False),
        speed_m_s=None if knots is None else knots * KNOT_M_S,
        course_deg=parse_float(f[7], "RMC.course_deg"),
        date=parse_date(f[8], "RMC.date"),
        mode=parse_choice(f[11], "RMC.mode", "ADEFMNPRS"),
    )


def format_gga(
    *,
    utc_time: time | None,
    latitude_deg: float | None,
    longitude_deg: float | None,
    fix_quality: int | None,
    satellites: int | None = None,
    hdop: float | None = None,
    altitude_m: float | None = None,
    geoid_separation_m: float | None = None,
    minute_decimals: int = 7,
) -> tuple[str, ...]:
    """The 14 GGA fields: ``build_sentence("GN", "GGA", format_gga(...))``. Heights to the millimetre."""
    return (
        format_time(utc_time),
        *format_coordinate(latitude_deg, latitude=True, minute_decimals=minute_decimals),
        *format_coordinate(longitude_deg, latitude=False, minute_decimals=minute_decimals),
        "" if fix_quality is None else str(fix_quality),
        "" if satellites is None else f"{satellites:02d}",
        format_number(hdop, 1),
        format_number(altitude_m, 3),
        "" if altitude_m is None else "M",
        format_number(geoid_separation_m, 3),
        "" if geoid_separation_m is None else "M",
        "",  # age of differential corrections
        "",  # differential reference station id
    )


def format_rmc(
    *,
    utc_time: time | None,
    status: str,
    latitude_deg: float | None,
    longitude_deg: float | None,
    speed_m_s: float | None = None,
    course_deg: float | None = None,
    date: date | None = None,
    mode: str | None = None,
    minute_decimals: int = 7,
) -> tuple[str, ...]:
    """The 12 RMC fields (NMEA 2.3, magnetic variation empty): ``build_sentence("GN", "RMC", ...)``."""
    return (
        format_time(utc_time),
        status,
        *format_coordinate(latitude_deg, latitude=True, minute_decimals=minute_decimals),
        *format_coordinate(longitude_deg, latitude=False, minute_decimals=minute_decimals),
        format_number(None if speed_m_s is None else speed_m_s / KNOT_M_S, 3),
        format_number(course_deg, 2),
        format_date(date),
        "",  # magnetic variation, degrees
        "",  # its direction, E or W
        mode or "",
    )
