from __future__ import annotations

import numpy as np
import pytest

from protocols.quality import Quality, describe, exception_code, flags, is_usable, with_exception_code
from protocols.records import EventKind, Level, ReadingBlock, channel_key, event_kind, split_channel_key


def test_exception_code_travels_in_the_quality() -> None:
    q = with_exception_code(2) | Quality.OUT_OF_RANGE
    assert exception_code(q) == 2 and flags(q) == Quality.DEVICE_EXCEPTION | Quality.OUT_OF_RANGE
    assert describe(q) == "device_exception(2)|out_of_range"
    assert describe(0) == "good"
    with pytest.raises(ValueError, match="1-255"):
        with_exception_code(0)


@pytest.mark.parametrize(
    ("quality", "usable"),
    [(0, True), (Quality.OUT_OF_RANGE, True), (Quality.DEGRADED, True), (Quality.CLOCK_UNSYNC, True),
     (Quality.COMM_ERROR, False), (Quality.SENSOR_FAULT, False), (Quality.BAD_FRAME, False),
     (with_exception_code(4), False), (Quality.NOT_AVAILABLE, False)],
)  # fmt: skip
def test_which_flags_void_the_value(quality: int, usable: bool) -> None:
    assert is_usable(int(quality)) is usable


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        (0, 1, EventKind.RAISED),
        (1, 3, EventKind.ESCALATED),
        (4, 2, EventKind.DEESCALATED),
        (2, 0, EventKind.CLEARED),
    ],
)
def test_event_kinds(before: int, after: int, kind: EventKind) -> None:
    assert event_kind(before, after) is kind
    with pytest.raises(ValueError, match="changes the level"):
        event_kind(after, after)


def test_channel_keys() -> None:
    assert channel_key("gw", "dev", "pt") == "gw/dev/pt"
    assert split_channel_key("gw/dev/pt") == ("gw", "dev", "pt")
    for bad in ("gw/dev", "gw//pt", "a/b/c/d"):
        with pytest.raises(ValueError, match="gateway/device/point"):
            split_channel_key(bad)


def test_levels_are_named_like_the_field() -> None:
    assert [lvl.label for lvl in Level] == ["clear", "blue", "yellow", "orange", "red"]


def test_reading_blocks_check_their_columns() -> None:
    b = ReadingBlock.of([0, 1], [1, 2], [0.5, np.nan], [0, 1])
    assert len(b) == 2 and b.channel.dtype == np.int32 and b.quality.dtype == np.uint32
    both = ReadingBlock.concat([b, b])
    assert len(both) == 4 and len(ReadingBlock.concat([])) == 0
    with pytest.raises(ValueError, match="differ in length"):
        ReadingBlock.of([0], [1, 2], [0.5], [0])
