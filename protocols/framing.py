"""Splitting a byte stream into delimited lines, sans I/O: the base of every serial line protocol.

The shape is h11's: the caller reads bytes from a port however it likes and hands them to ``feed``;
``next_line`` returns the next complete line (without its delimiter) or ``NEED_DATA`` when the bytes fed so
far hold no more. The caller drains ``next_line`` after each ``feed``::

    framer.feed(chunk)
    while (line := framer.next_line()) is not NEED_DATA:
        handle(line)

Costs are bounded against a babbling or hostile device:

- work is O(bytes fed): ``feed`` searches each byte for the delimiter once, remembering where the search
  stopped in the unfinished tail (only the last ``len(delimiter) - 1`` bytes are looked at twice, since a
  delimiter may be split across two feeds);
- memory is bounded: the unfinished tail never holds more than ``max_line_bytes + len(delimiter) - 1``
  bytes. A line that grows past ``max_line_bytes`` is counted ``overlong`` once and discarded up to its
  next delimiter; the lines after it are framed as usual. Complete lines wait in a queue until drained,
  so a caller that never drains holds what it fed (as with any buffer it owns).

Nothing a device sends raises: bad input becomes a counter in ``statistics()``. Misusing the API (feeding
after ``close``) raises ``LocalProtocolError``.
"""

from __future__ import annotations

from collections import deque
from enum import Enum
from typing import Final, Literal

from protocols.errors import LocalProtocolError


class _NeedDataType(Enum):
    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedDataType.NEED_DATA
"""Returned by ``next_*`` methods when the bytes fed so far hold no further complete item."""

NeedData = Literal[_NeedDataType.NEED_DATA]
"""The type of ``NEED_DATA``, for annotations: ``def next_line(self) -> bytes | NeedData``."""


class LineFramer:
    """Lines ending in ``delimiter`` (``b"\\r\\n"``, ``b"\\n"`` ...), each at most ``max_line_bytes``."""

    def __init__(self, delimiter: bytes, max_line_bytes: int) -> None:
        if not delimiter:
            raise LocalProtocolError("the delimiter may not be empty")
        if max_line_bytes < 1:
            raise LocalProtocolError(f"max_line_bytes must be at least 1 (got {max_line_bytes})")
        self.delimiter: Final = bytes(delimiter)
        self.max_line_bytes: Final = max_line_bytes
        self._tail = bytearray()  # the unfinished line: never holds a complete delimiter after feed()
        self._lines: deque[bytes] = deque()  # complete lines not yet returned
        self._discarding = False  # the tail belongs to an overlong line: drop it up to its delimiter
        self._closed = False
        self._counts = {"lines": 0, "overlong": 0, "partial": 0, "bytes_fed": 0, "bytes_discarded": 0}

    @property
    def buffered_bytes(self) -> int:
        """Bytes of the unfinished line held (at most ``max_line_bytes + len(delimiter) - 1``)."""
        return len(self._tail)

    def feed(self, data: bytes) -> None:
        """Take bytes read from the stream. ``feed(b"")`` does nothing (end of stream is ``close()``)."""
        if self._closed:
            raise LocalProtocolError("feed() after close(): the stream has ended")
        if not data:
            return
        self._counts["bytes_fed"] += len(data)
        tail, delimiter = self._tail, self.delimiter
        # A delimiter may straddle the old tail and the new data: resume just before the tail's end.
        search_from = max(len(tail) - (len(delimiter) - 1), 0)
        tail += data
        line_start = 0
        while (end := tail.find(delimiter, max(line_start, search_from))) >= 0:
            self._finish_line(tail, line_start, end)
            line_start = end + len(delimiter)
        del tail[:line_start]
        self._bound_tail()

    def next_line(self) -> bytes | NeedData:
        """The next complete line without its delimiter, or ``NEED_DATA``."""
        if self._lines:
            return self._lines.popleft()
        return NEED_DATA

    def close(self) -> None:
        """End of stream: a trailing unfinished line is dropped and counted ``partial``.

        Complete lines fed before stay available to ``next_line``. Calling ``close`` twice is harmless.
        """
        if self._closed:
            return
        self._closed = True
        if self._tail:
            if not self._discarding:  # an overlong line was counted when it overflowed
                self._counts["partial"] += 1
            self._counts["bytes_discarded"] += len(self._tail)
            self._tail.clear()
        self._discarding = False

    def statistics(self) -> dict[str, int]:
        """Counters since creation: ``lines`` framed, ``overlong`` and ``partial`` lines dropped,
        ``bytes_fed``, ``bytes_discarded`` (dropped lines with their delimiters)."""
        return dict(self._counts)

    def _finish_line(self, buffer: bytearray, start: int, end: int) -> None:
        """Queue ``buffer[start:end]`` as a line, or drop it if it is (the rest of) an overlong line."""
        length = end - start
        if self._discarding or length > self.max_line_bytes:
            if not self._discarding:
                self._counts["overlong"] += 1
            self._discarding = False
            self._counts["bytes_discarded"] += length + len(self.delimiter)
            return
        self._lines.append(bytes(buffer[start:end]))
        self._counts["lines"] += 1

    def _bound_tail(self) -> None:
        """Keep the unfinished tail within ``max_line_bytes + len(delimiter) - 1`` bytes.

        The last ``len(delimiter) - 1`` bytes may be the start of a delimiter, so only what comes before
        them surely belongs to the line.
        """
        keep = len(self.delimiter) - 1
        line_bytes = len(self._tail) - keep
        if not self._discarding and line_bytes > self.max_line_bytes:
            self._counts["overlong"] += 1
            self._discarding = True
        if self._discarding and line_bytes > 0:
            self._counts["bytes_discarded"] += line_bytes
            del self._tail[:line_bytes]
