"""The scenario file: a site, its devices' physical models, and a timeline of incidents and faults.

A scenario is one YAML file in ``simulator/scenarios/`` (see ``docs/simulator.md``)::

    name: tank_farm
    title: Jiangkou tank area B
    starts_at: "08:00"            # local time of day at simulated t = 0 (daily cycles, rain since midnight)
    length: 4h                    # how long the story runs, in simulated time
    site: {...}                   # the gateway's site file without ports, uplink and outbox (generated)
    devices:                      # per device id: how each point's value comes about
      level-t101:
        points:
          level: {integral: [[0, 0], [30m, -1.2], [1h30m, 0]], initial: 12.4, noise: 0.003}
    timeline:                     # what happens when: narrative notes and faults
      - {at: 1h, fault: dead_slave, bus: rs485-gas, unit_id: 3, for: 15m}

Times are durations from the start: ``90``, ``90s``, ``15m``, ``1h30m``. A point's model is exactly one of
the kinds below plus the common options (``scale``, ``offset``, ``noise``, ``clamp``, ``plus``); points
without a model get the profile's nominal values (``simulator.nominal``).

Validation errors name the file, line and key, like every other FieldWatch file
(``protocols.config.validate_text``).
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from protocols.modelbase import Identifier, StrictModel, at, cross_check, raise_all

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"1h30m"``; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 90s, 15m or 1h30m (got {value!r})")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.fullmatch(value.strip())
        if m and any(m.groups()):
            h, mins, s = (float(g) if g else 0.0 for g in m.groups())
            return h * 3600 + mins * 60 + s
    raise ValueError(f"expected a duration like 90s, 15m or 1h30m (got {value!r})")


def parse_time_of_day(value: Any) -> float:
    """Seconds after midnight from ``"HH:MM"`` (or a number of seconds)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 86400:
        return float(value)
    m = _TIME_OF_DAY.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"expected a time of day HH:MM (got {value!r})")
    return int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
TimeOfDay = Annotated[float, BeforeValidator(parse_time_of_day)]
Knot = tuple[Duration, float]  # (time, value): one point of a path or a rate schedule


class Daily(StrictModel):
    """A daily cycle: a cosine around ``mean`` with its maximum ``amplitude`` above it at ``peak_at``."""

    mean: float
    amplitude: float
    peak_at: TimeOfDay = Field(default=14 * 3600.0)


class Creep(StrictModel):
    """Slope displacement (mm): steady creep, then the tertiary creep of a slope heading for failure.

    Fukuzono (1985): the inverse of the velocity falls linearly to zero at the failure time,
    ``1/v = (failure_at - t) / a_mm``. Before that curve overtakes ``velocity_mm_h`` the slope creeps
    steadily; after it reaches ``max_velocity_mm_h`` (the slope has failed) it slides at that velocity.
    """

    velocity_mm_h: float = Field(gt=0, description="steady creep velocity")
    failure_at: Duration
    a_mm: float = Field(gt=0, description="Fukuzono's A: velocity x time to failure")
    max_velocity_mm_h: float = Field(default=2000.0, gt=0)


class Window(StrictModel):
    """The change of another point over the trailing ``span`` (rain in the last hour)."""

    of: Identifier
    span: Duration


class PointSpec(StrictModel):
    """How one point's value comes about. Exactly one kind:

    - ``constant``: a fixed value;
    - ``daily``: a daily cycle (``Daily``);
    - ``path``: ``[[t, value], ...]`` linear between knots (``hold: true``: steps), flat outside;
    - ``integral``: ``[[t, rate per hour], ...]`` piecewise constant, integrated from ``initial`` (tank
      levels under transfers, a rain gauge's counter);
    - ``creep``: slope displacement along its direction (``Creep``);
    - ``of``: another point of the device (before its noise), for derived values (radar distance);
    - ``norm``: the length of the vector of other points (horizontal displacement from north and east);
    - ``change_over``: the change of another point over a trailing window (``Window``);
    - ``since_midnight``: the change of another point since the last local midnight;
    - ``text``: a string point's text.

    Then ``value = clamp(scale * kind + offset + sum(plus) + noise)``.
    """

    constant: float | None = None
    daily: Daily | None = None
    path: tuple[Knot, ...] | None = Field(default=None, min_length=1)
    integral: tuple[Knot, ...] | None = Field(default=None, min_length=1)
    creep: Creep | None = None
    of: Identifier | None = None
    norm: tuple[Identifier, ...] | None = Field(default=None, min_length=1)
    change_over: Window | None = None
    since_midnight: Identifier | None = None
    text: str | None = None

    hold: bool = Field(default=False, description="path: hold each value until the next knot")
    initial: float = Field(default=0.0, description="integral: the value at t = 0")
    scale: float = 1.0
    offset: float = 0.0
    noise: float = Field(default=0.0, ge=0, description="standard deviation of white noise")
    noise_period: Duration = Field(default=1.0, gt=0, description="the noise holds this long")
    clamp: tuple[float, float] | None = None
    plus: tuple[PointSpec, ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> PointSpec:
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        problems: list[str] = []
        if len(kinds) != 1:
            got = ", ".join(kinds) or "none"
            problems.append(f"give exactly one of {', '.join(KINDS)} (got {got})")
        for key in ("path", "integral"):
            knots = getattr(self, key)
            if knots and any(b[0] <= a[0] for a, b in itertools.pairwise(knots)):
                problems.append(at(key, "knot times must increase"))
        if self.clamp is not None and self.clamp[0] >= self.clamp[1]:
            problems.append(at("clamp", "min must be below max"))
        raise_all(problems)
        return self

    def references(self) -> set[str]:
        """The other points this one is derived from (its own and its ``plus`` components')."""
        refs = {r for r in (self.of, self.since_midnight) if r is not None}
        refs |= set(self.norm or ())
        if self.change_over is not None:
            refs.add(self.change_over.of)
        for part in self.plus:
            refs |= part.references()
        return refs


KINDS = (
    "constant", "daily", "path", "integral", "creep", "of", "norm", "change_over", "since_midnight", "text",
)  # fmt: skip


class DeviceSpec(StrictModel):
    points: dict[Identifier, PointSpec] = Field(default_factory=dict)
    output_interval: Duration = Field(
        default=10.0, gt=0, description="NMEA receivers: one GGA and one RMC this often (simulated time)"
    )
    response_ms: float = Field(default=20.0, ge=0, description="line sensors: time to answer a poll")


class Note(StrictModel):
    at: Duration
    note: str = Field(min_length=1)


class DeadSlave(StrictModel):
    """A Modbus device stops answering (power or wiring gone) for ``for``."""

    at: Duration
    fault: Literal["dead_slave"]
    bus: Identifier
    unit_id: int = Field(ge=1, le=247)
    for_: Duration = Field(alias="for", gt=0)
    note: str = ""


class CrcNoise(StrictModel):
    """Interference on an RS-485 bus: this share of answers arrives with a flipped bit, for ``for``."""

    at: Duration
    fault: Literal["crc_noise"]
    bus: Identifier
    corrupt_rate: float = Field(gt=0, le=1)
    for_: Duration = Field(alias="for", gt=0)
    note: str = ""


class GarbledLine(StrictModel):
    """A serial line sensor's output is garbled (a loose connector, interference) for ``for``."""

    at: Duration
    fault: Literal["garbled_line"]
    device: Identifier
    for_: Duration = Field(alias="for", gt=0)
    note: str = ""


class UplinkCut(StrictModel):
    """The gateway's uplink is cut (the demo's TCP proxy refuses and drops connections) for ``for``."""

    at: Duration
    fault: Literal["uplink_cut"]
    for_: Duration = Field(alias="for", gt=0)
    note: str = ""


class GatewayReboot(StrictModel):
    """The gateway loses power: the demo kills its process (SIGKILL) and starts it again."""

    at: Duration
    fault: Literal["gateway_reboot"]
    down: Duration = Field(default=0.0, description="how long it stays off (simulated time)")
    note: str = ""


def _entry_kind(value: Any) -> str:
    """A timeline entry is a fault when it names one, a note otherwise."""
    if isinstance(value, dict):
        return str(value.get("fault", "note"))
    return str(getattr(value, "fault", "note"))


TimelineEntry = Annotated[
    Annotated[Note, Tag("note")]
    | Annotated[DeadSlave, Tag("dead_slave")]
    | Annotated[CrcNoise, Tag("crc_noise")]
    | Annotated[GarbledLine, Tag("garbled_line")]
    | Annotated[UplinkCut, Tag("uplink_cut")]
    | Annotated[GatewayReboot, Tag("gateway_reboot")],
    Discriminator(_entry_kind),
]
Fault = DeadSlave | CrcNoise | GarbledLine | UplinkCut | GatewayReboot
SIMULATOR_FAULTS = ("dead_slave", "crc_noise", "garbled_line")  # the simulator does these itself
DEMO_FAULTS = ("uplink_cut", "gateway_reboot")  # the demo does these when the simulator announces them


class Expectation(StrictModel):
    """An alarm the scenario must raise: what the end-to-end test and the demo's summary check.

    ``levels`` are the levels the alarm must pass through, in order (each escalation at least once);
    ``due`` the story time by which each must have been reached (default: the story's end), so a run cut
    short is judged on what was due by then; ``forecast: true`` asks for an inverse-velocity forecast on
    the slope alarm (due with the last level).
    """

    channel: str = Field(
        pattern=r"^[a-z0-9_][a-z0-9_\-]*/[a-z0-9_][a-z0-9_\-]*$",
        description="device/point, or _site/_combined for a combined rule",
    )
    rule: Identifier
    levels: tuple[Literal["blue", "yellow", "orange", "red"], ...] = Field(min_length=1)
    due: tuple[Duration, ...] = Field(default=(), description="story time each level is due by, in order")
    forecast: bool = False
    why: str = ""

    @cross_check
    def _one_due_per_level(self) -> list[str]:
        if self.due and len(self.due) != len(self.levels):
            return [at("due", f"give one time per level ({len(self.levels)}), or none (got {len(self.due)})")]
        if list(self.due) != sorted(self.due):
            return [at("due", "later levels are due later: the times must not decrease")]
        return []


class Scenario(StrictModel):
    name: Identifier
    title: str = Field(min_length=1)
    story: str = ""
    starts_at: TimeOfDay = Field(default=8 * 3600.0)
    length: Duration = Field(gt=0)
    site: dict[str, Any] = Field(description="the site file, without ports, uplink and outbox")
    devices: dict[Identifier, DeviceSpec] = Field(default_factory=dict)
    timeline: tuple[TimelineEntry, ...] = ()
    expect: tuple[Expectation, ...] = ()
    quiet: tuple[str, ...] = Field(
        default=(), description="device ids that must raise no alarm other than comm/fault (neighbours)"
    )

    @model_validator(mode="after")
    def _timeline_in_story(self) -> Scenario:
        problems = [
            at(f"timeline[{i}].at", f"{entry.at:g} s is after the story's length ({self.length:g} s)")
            for i, entry in enumerate(self.timeline)
            if entry.at > self.length
        ]
        raise_all(problems)
        return self
