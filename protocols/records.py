"""The records that travel from a sensor to the command center.

- A channel is one measured quantity: its key is ``gateway/device/point``.
- A ``Reading`` is one value of one channel at one instant, with its quality flags.
- An ``Event`` is an alarm raised, escalated, de-escalated or cleared by an edge rule.
- A ``ReadingBlock`` is many readings as columns (numpy arrays): how readings move inside the edge
  (acquisition -> detection -> outbox) and across the wire, without a Python object per value.

``seq`` is per gateway and strictly increasing; the edge outbox assigns it. Times are UTC epoch
milliseconds from the gateway's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

KEY_SEPARATOR = "/"


class Level(IntEnum):
    """Warning levels, the same everywhere in this field."""

    CLEAR = 0
    BLUE = 1  # attention
    YELLOW = 2
    ORANGE = 3
    RED = 4  # act now

    @property
    def label(self) -> str:
        return self.name.lower()


LEVEL_BY_NAME: dict[str, Level] = {lvl.label: lvl for lvl in Level if lvl is not Level.CLEAR}


def channel_key(gateway_id: str, device_id: str, point: str) -> str:
    """``gateway/device/point``: the channel's county-wide key."""
    return KEY_SEPARATOR.join((gateway_id, device_id, point))


def split_channel_key(key: str) -> tuple[str, str, str]:
    """The (gateway, device, point) of a channel key; ValueError if it has not exactly three parts."""
    parts = key.split(KEY_SEPARATOR)
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"a channel key is gateway/device/point (got {key!r})")
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True, slots=True)
class Reading:
    channel: str
    ts_ms: int
    value: float
    quality: int = 0
    seq: int = 0  # 0 until the outbox assigns one


class EventKind(IntEnum):
    RAISED = 1
    ESCALATED = 2
    DEESCALATED = 3
    CLEARED = 4


def event_kind(previous_level: int, level: int) -> EventKind:
    """What a level change means for the alarm of one (channel, rule)."""
    if level == previous_level:
        raise ValueError(f"an event changes the level (got {previous_level} -> {level})")
    if previous_level == 0:
        return EventKind.RAISED
    if level == 0:
        return EventKind.CLEARED
    return EventKind.ESCALATED if level > previous_level else EventKind.DEESCALATED


@dataclass(frozen=True, slots=True)
class Forecast:
    """The inverse-velocity forecast of a slope failure, carried by a slope event."""

    failure_ts_ms: int  # the forecast time of failure (1/v extrapolated to zero)
    r2: float  # goodness of the linear fit of 1/v against time, 0..1
    points: int  # samples in the fit


@dataclass(frozen=True, slots=True)
class Event:
    channel: str
    ts_ms: int
    rule: str
    level: int  # 0 cleared, 1 blue .. 4 red
    previous_level: int
    value: float
    message: str
    forecast: Forecast | None = None
    seq: int = 0
    # What fired, for clients that write their own text (all optional: older edges send none of them).
    rule_kind: str | None = None  # the rule's type: level, rate, slope, fault, comm, ...
    criterion: str | None = None  # which test fired: level, rate, velocity, tangent_angle, ...
    unit: str | None = None  # of value and threshold
    threshold: float | None = None  # the threshold crossed (None when clearing or none applies)
    direction: str | None = None  # rising | falling: the way the value crossed it

    @property
    def kind(self) -> EventKind:
        return event_kind(self.previous_level, self.level)


def _empty_i64() -> npt.NDArray[np.int64]:
    return np.empty(0, dtype=np.int64)


@dataclass(slots=True)
class ReadingBlock:
    """Readings as columns. ``channel`` holds indexes into the gateway's channel table.

    All arrays have the same length. ``value`` is NaN where the quality voids the value.
    """

    channel: npt.NDArray[np.int32] = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    ts_ms: npt.NDArray[np.int64] = field(default_factory=_empty_i64)
    value: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0, dtype=np.float64))
    quality: npt.NDArray[np.uint32] = field(default_factory=lambda: np.empty(0, dtype=np.uint32))

    def __post_init__(self) -> None:
        n = len(self.channel)
        if not len(self.ts_ms) == len(self.value) == len(self.quality) == n:
            raise ValueError(
                "ReadingBlock columns differ in length: "
                f"channel {n}, ts_ms {len(self.ts_ms)}, value {len(self.value)}, quality {len(self.quality)}"
            )

    def __len__(self) -> int:
        return len(self.channel)

    @classmethod
    def of(
        cls,
        channel: npt.ArrayLike,
        ts_ms: npt.ArrayLike,
        value: npt.ArrayLike,
        quality: npt.ArrayLike,
    ) -> ReadingBlock:
        """A block from any array-likes, converted to the column dtypes."""
        return cls(
            np.asarray(channel, dtype=np.int32),
            np.asarray(ts_ms, dtype=np.int64),
            np.asarray(value, dtype=np.float64),
            np.asarray(quality, dtype=np.uint32),
        )

    @classmethod
    def concat(cls, blocks: list[ReadingBlock]) -> ReadingBlock:
        if not blocks:
            return cls()
        return cls(
            np.concatenate([b.channel for b in blocks]),
            np.concatenate([b.ts_ms for b in blocks]),
            np.concatenate([b.value for b in blocks]),
            np.concatenate([b.quality for b in blocks]),
        )
