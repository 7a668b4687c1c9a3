"""A generic line protocol for ASCII sensors, sans I/O: one line in, named values out.

Many serial sensors (weather stations, level gauges, gas heads with a text port) print one line per
reading, such as ``T=21.4 RH=55 P=1013.2``. A line profile describes them with ``LineSettings``: the
delimiter that ends a line (YAML text, so ``"\\r\\n"`` arrives as real CR LF characters), a regular
expression with one named group per value, the text encoding and the longest line to accept. Each
``LinePoint`` names its group and a linear scaling (``value = raw * scale + offset``).

``LineDecoder`` has the framers' shape: ``feed(bytes)``, then ``next_values()`` until ``NEED_DATA``. Each
call returns one line's values as ``{point name: scaled value}``. Bad lines are counted, never raised:

- ``undecodable``: the line is not text in the profile's encoding;
- ``unmatched``: the pattern is not found in the line (``re.search``: the pattern may match part of it);
- ``bad_number``: a group matched text that is not a decimal number (``nan``, ``1_000``, ``--``): that
  point is left out of the line's values, the others are kept;
- a group that did not take part in the match (an optional part of the pattern) leaves its point out,
  uncounted: the device simply did not send it;
- a line that leaves no value at all is skipped.

The framer's counters (``lines``, ``overlong``, ``partial``, ``bytes_fed``, ``bytes_discarded``) are part of
``statistics()``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from protocols.errors import LocalProtocolError
from protocols.framing import NEED_DATA, LineFramer, NeedData
from protocols.profile import LinePoint, LineSettings

# Decimal numbers as sensors print them, optionally padded with blanks; no nan, inf or digit separators.
_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


class LineDecoder:
    """Values of ``points`` from the lines of one sensor configured by ``settings``."""

    def __init__(self, settings: LineSettings, points: Sequence[LinePoint]) -> None:
        self.encoding: Final = settings.encoding
        self.pattern: Final = re.compile(settings.pattern)
        missing = [p.group_name for p in points if p.group_name not in self.pattern.groupindex]
        if missing:  # a validated LineProfile never gets here
            raise LocalProtocolError(f"line.pattern has no group named {', '.join(map(repr, missing))}")
        try:
            delimiter = settings.delimiter.encode(settings.encoding)
        except UnicodeEncodeError:
            raise LocalProtocolError(
                f"the delimiter {settings.delimiter!r} is not {settings.encoding} text"
            ) from None
        self.poll_bytes: Final = _poll_bytes(settings)
        self._framer = LineFramer(delimiter, settings.max_line_bytes)
        self._points = tuple((p.name, p.group_name, p.scale, p.offset) for p in points)
        self._counts = dict.fromkeys(("decoded", "undecodable", "unmatched", "bad_number"), 0)

    @property
    def buffered_bytes(self) -> int:
        """Bytes of the unfinished line held (at most ``max_line_bytes`` + the delimiter's length - 1)."""
        return self._framer.buffered_bytes

    def feed(self, data: bytes) -> None:
        """Take bytes read from the port. ``feed(b"")`` does nothing (end of stream is ``close()``)."""
        self._framer.feed(data)

    def next_values(self) -> dict[str, float] | NeedData:
        """The next line's values (point name -> scaled value), or ``NEED_DATA``."""
        while (line := self._framer.next_line()) is not NEED_DATA:
            values = self._decode(line)
            if values:
                self._counts["decoded"] += 1
                return values
        return NEED_DATA

    def close(self) -> None:
        """End of stream: an unfinished line is dropped and counted ``partial``."""
        self._framer.close()

    def statistics(self) -> dict[str, int]:
        return self._framer.statistics() | self._counts

    def _decode(self, line: bytes) -> dict[str, float]:
        try:
            text = line.decode(self.encoding)
        except UnicodeDecodeError:
            self._counts["undecodable"] += 1
            return {}
        match = self.pattern.search(text)
        if match is None:
            self._counts["unmatched"] += 1
            return {}
        values: dict[str, float] = {}
        for name, group, scale, offset in self._points:
            raw = match.group(group)
            if raw is None:
                continue
            if _NUMBER.fullmatch(raw) is None:
                self._counts["bad_number"] += 1
                continue
            values[name] = float(raw) * scale + offset
        return values


def _poll_bytes(settings: LineSettings) -> bytes | None:
    """The poll command as bytes to write, exactly as the profile spells it (with its own terminator)."""
    if settings.poll_command is None:
        return None
    try:
        return settings.poll_command.encode(settings.encoding)
    except UnicodeEncodeError:
        raise LocalProtocolError(
            f"the poll command {settings.poll_command!r} is not {settings.encoding} text"
        ) from None
