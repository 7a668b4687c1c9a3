"""LineFramer: lines, over-long lines, partial tails, every split of the stream, and its bounds."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.errors import LocalProtocolError
from protocols.framing import NEED_DATA, LineFramer
from tests.protocols.streams import chunkings, every_two_way_split


def drain(framer: LineFramer) -> list[bytes]:
    lines: list[bytes] = []
    for _ in range(100_000):
        line = framer.next_line()
        if line is NEED_DATA:
            return lines
        lines.append(line)
    raise AssertionError("next_line never returned NEED_DATA")


def run(delimiter: bytes, max_line_bytes: int, chunks: list[bytes], *, close: bool = True):
    framer = LineFramer(delimiter, max_line_bytes)
    lines = []
    for chunk in chunks:
        framer.feed(chunk)
        lines += drain(framer)
    if close:
        framer.close()
        lines += drain(framer)
    return lines, framer.statistics()


def reference(delimiter: bytes, max_line_bytes: int, stream: bytes) -> tuple[list[bytes], dict[str, int]]:
    """What the framer must do, the obvious way: split the whole stream at once."""
    *complete, tail = stream.split(delimiter)
    lines = [line for line in complete if len(line) <= max_line_bytes]
    overlong = len(complete) - len(lines)
    tail_overlong = len(tail) - (len(delimiter) - 1) > max_line_bytes
    stats = {
        "lines": len(lines),
        "overlong": overlong + tail_overlong,
        "partial": int(bool(tail) and not tail_overlong),
        "bytes_fed": len(stream),
        "bytes_discarded": len(stream) - sum(len(line) + len(delimiter) for line in lines),
    }
    return lines, stats


def test_need_data_is_a_singleton_with_a_readable_repr() -> None:
    assert repr(NEED_DATA) == "NEED_DATA"
    assert copy.deepcopy(NEED_DATA) is NEED_DATA
    assert pickle.loads(pickle.dumps(NEED_DATA)) is NEED_DATA
    assert LineFramer(b"\n", 10).next_line() is NEED_DATA


CASES = {
    # name: (delimiter, max_line_bytes, chunks, lines, changed counters)
    "crlf lines": (b"\r\n", 16, [b"a=1\r\nb=2\r\n"], [b"a=1", b"b=2"], {"lines": 2}),
    "lf lines": (b"\n", 16, [b"a=1\nb=2\n"], [b"a=1", b"b=2"], {"lines": 2}),
    "lf only keeps cr in the line": (b"\n", 16, [b"a=1\r\n"], [b"a=1\r"], {"lines": 1}),
    "crlf framer does not split at lf": (b"\r\n", 16, [b"a\nb\r\n"], [b"a\nb"], {"lines": 1}),
    "empty lines are lines": (b"\n", 16, [b"\n\nx\n"], [b"", b"", b"x"], {"lines": 3}),
    "no delimiter: partial at close": (b"\r\n", 16, [b"abc"], [], {"partial": 1, "bytes_discarded": 3}),
    "trailing cr of a crlf is partial": (b"\r\n", 16, [b"ok\r\nab\r"], [b"ok"], {"lines": 1, "partial": 1, "bytes_discarded": 3}),
    "delimiter split across feeds": (b"\r\n", 16, [b"abc\r", b"\ndef\r\n"], [b"abc", b"def"], {"lines": 2}),
    "line of exactly max bytes": (b"\n", 4, [b"abcd\n"], [b"abcd"], {"lines": 1}),
    "complete overlong line": (
        b"\n", 4, [b"abcde\nok\n"], [b"ok"], {"lines": 1, "overlong": 1, "bytes_discarded": 6},
    ),
    "overlong across feeds": (
        b"\r\n", 4, [b"abc", b"defgh", b"ijk\r", b"\nok\r\n"], [b"ok"],
        {"lines": 1, "overlong": 1, "bytes_discarded": 13},
    ),
    "overlong tail at close is not also partial": (
        b"\n", 4, [b"abcdefgh"], [], {"overlong": 1, "bytes_discarded": 8},
    ),
    "multi-byte delimiter": (b"<END>", 8, [b"x<EN", b"D>y<END>"], [b"x", b"y"], {"lines": 2}),
    "feed of nothing": (b"\n", 4, [b"", b"a\n", b""], [b"a"], {"lines": 1}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(name: str) -> None:
    delimiter, max_line_bytes, chunks, want_lines, changed = CASES[name]
    lines, stats = run(delimiter, max_line_bytes, chunks)
    assert lines == want_lines
    fed = sum(len(c) for c in chunks)
    want = {"lines": 0, "overlong": 0, "partial": 0, "bytes_fed": fed, "bytes_discarded": 0} | changed
    assert stats == want
    assert (lines, stats) == reference(delimiter, max_line_bytes, b"".join(chunks))


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_two_way_split_gives_the_same_result(name: str) -> None:
    delimiter, max_line_bytes, chunks, _, _ = CASES[name]
    stream = b"".join(chunks)
    whole = run(delimiter, max_line_bytes, [stream])
    for chunks in every_two_way_split(stream):
        assert run(delimiter, max_line_bytes, chunks) == whole, chunks


def test_lines_stay_readable_after_close_and_feeding_after_close_is_misuse() -> None:
    framer = LineFramer(b"\n", 8)
    framer.feed(b"one\ntwo\nthr")
    framer.close()
    framer.close()  # harmless
    assert drain(framer) == [b"one", b"two"]
    assert framer.statistics()["partial"] == 1
    with pytest.raises(LocalProtocolError, match="after close"):
        framer.feed(b"x")


@pytest.mark.parametrize(("delimiter", "max_line_bytes"), [(b"", 8), (b"\n", 0)])
def test_bad_construction_is_local_misuse(delimiter: bytes, max_line_bytes: int) -> None:
    with pytest.raises(LocalProtocolError):
        LineFramer(delimiter, max_line_bytes)


def test_a_long_run_without_delimiter_is_counted_once_and_held_within_the_bound() -> None:
    framer = LineFramer(b"\r\n", 32)
    for _ in range(1000):
        framer.feed(b"x" * 97 + b"\r")
        assert framer.buffered_bytes <= 32 + 1
        assert drain(framer) == []
    framer.feed(b"\nback\r\n")
    assert drain(framer) == [b"back"]
    stats = framer.statistics()
    assert stats["overlong"] == 1
    assert stats["bytes_discarded"] == 98 * 1000 + 1


def test_many_lines_in_one_feed_are_all_returned_in_order() -> None:
    stream = b"".join(b"line %d\n" % i for i in range(5000))
    lines, stats = run(b"\n", 16, [stream])
    assert lines == [b"line %d" % i for i in range(5000)]
    assert stats["lines"] == 5000


# Streams built from a few symbols, so that delimiters (whole and partial) and long runs are common.
SYMBOLS = st.sampled_from([b"a", b"bb", b"\r", b"\n", b"\r\n", b"x" * 9, b"\x00", b"\xff"])
STREAMS = st.lists(SYMBOLS, max_size=60).map(b"".join)
DELIMITERS = st.sampled_from([b"\n", b"\r\n", b"\r\n\r\n", b"x"])


@settings(deadline=None)
@given(delimiter=DELIMITERS, max_line_bytes=st.integers(1, 20), stream=STREAMS, data=st.data())
def test_any_chunking_matches_splitting_the_whole_stream(
    delimiter: bytes, max_line_bytes: int, stream: bytes, data: st.DataObject
) -> None:
    chunks = data.draw(chunkings(stream))
    assert run(delimiter, max_line_bytes, chunks) == reference(delimiter, max_line_bytes, stream)


@settings(deadline=None)
@given(stream=st.binary(max_size=2000), sizes=st.lists(st.integers(1, 300), min_size=1, max_size=20))
def test_random_garbage_never_raises_and_stays_within_the_bound(stream: bytes, sizes: list[int]) -> None:
    framer = LineFramer(b"\r\n", 64)
    pos = 0
    for size in sizes * (len(stream) // sum(sizes) + 1):
        if pos >= len(stream):
            break
        framer.feed(stream[pos : pos + size])
        pos += size
        assert framer.buffered_bytes <= 64 + 1
        assert all(len(line) <= 64 for line in drain(framer))
    stats = framer.statistics()
    assert stats["bytes_fed"] == len(stream)
