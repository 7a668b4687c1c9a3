"""Hardware profiles: one YAML file per device model, written by a technician from the datasheet.

A profile says how to talk to the model (``protocol``: modbus, nmea or line) and which points it measures,
each with its unit, physical range, poll interval and default warning rules. ``hw_profiles/README.md`` is
the technician's reference; this module is the machine's.

Addresses are zero-based wire addresses (a datasheet's "40001" is holding register 0).

Over 400 lines because the models of the three profile kinds sit together, as
``hw_profiles/README.md`` describes them, and share their base classes and validators.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from protocols.modelbase import Identifier, StrictModel, at, cross_check, knows
from protocols.rules import Rule, check_unique_rule_names
from protocols.units import UNITS, suggest_unit

RegisterKind = Literal["holding", "input", "coil", "discrete"]
DataType = Literal[
    "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string", "bit", "bool"
]
WordOrder = Literal["ABCD", "DCBA", "BADC", "CDAB"]

# Registers each fixed-size type spans (string: its length_registers; bool: one bit, not a register).
REGISTERS_OF_TYPE: dict[str, int] = {
    "int16": 1, "uint16": 1, "bit": 1,
    "int32": 2, "uint32": 2, "float32": 2,
    "int64": 4, "uint64": 4, "float64": 4,
}  # fmt: skip
INTEGER_BITS = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64, "uint64": 64}
BIT_KINDS = ("coil", "discrete")
FLAG_TYPES = ("bit", "bool")
MAX_ADDRESS = 0xFFFF


def check_unit(unit: str) -> str:
    if unit not in UNITS:
        near = suggest_unit(unit)
        hint = f" (did you mean {' or '.join(map(repr, near))}?)" if near else ""
        raise ValueError(
            f"unknown unit {unit!r}{hint}; known units are listed in hw_profiles/README.md#units"
        )
    return unit


class PointBase(StrictModel):
    name: Identifier
    description: str = ""
    unit: str = ""
    physical_range: tuple[float, float] | None = Field(
        default=None, description="[min, max] the sensor can physically report; outside is out-of-range"
    )
    rules: tuple[Rule, ...] = ()

    _unit = field_validator("unit")(check_unit)

    @cross_check
    def _unique_rule_names(self) -> list[str]:
        return check_unique_rule_names(self.rules)

    @cross_check
    def _range_ordered(self) -> list[str]:
        if self.physical_range is not None and self.physical_range[0] >= self.physical_range[1]:
            return [at("physical_range", "min must be below max")]
        return []


class ModbusPoint(PointBase):
    kind: RegisterKind = Field(default="holding", alias="register")  # `register` shadows a BaseModel name
    address: int = Field(ge=0, le=MAX_ADDRESS)
    type: DataType = "uint16"
    word_order: WordOrder | None = Field(default=None, description="for 32/64-bit types; device default")
    bit: int | None = Field(default=None, ge=0, le=15, description="for type bit: which bit, 0 = LSB")
    length_registers: int | None = Field(default=None, ge=1, le=125, description="for type string")
    scale: float = 1.0
    offset: float = 0.0
    nan_value: int | None = Field(default=None, description="raw value that means 'no reading'")
    poll_interval_ms: int | None = Field(default=None, ge=10)
    fault_flag: Identifier | None = Field(
        default=None, description="a bit/bool point of this device that, when 1, marks this point faulty"
    )

    @field_validator("nan_value")
    @classmethod
    def _sentinel_fits(cls, v: int | None, info: ValidationInfo) -> int | None:
        """A sentinel the type can read; a signed type's may be written as the register's hex (int16
        0x8000 means -32768), and is kept as the value the type reads."""
        data_type = str(info.data.get("type"))
        bits = INTEGER_BITS.get(data_type, 0)
        if v is None or not bits:
            return v
        signed = not data_type.startswith("u")
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if signed and hi < v < 1 << bits:
            return v - (1 << bits)  # the register's hex: two's complement
        if not lo <= v <= hi:
            hex_too = f", or its raw hex 0x0..0x{(1 << bits) - 1:X}" if signed else ""
            raise ValueError(
                f"{data_type} can never read {v} (it reads {lo}..{hi}{hex_too}): "
                "this sentinel would never match"
            )
        return v

    @property
    def register_count(self) -> int:
        """Registers (or bits, for coils and discrete inputs) the point spans."""
        if self.kind in BIT_KINDS:
            return 1
        if self.type == "string":
            return self.length_registers or 0
        return REGISTERS_OF_TYPE.get(self.type, 1)

    @cross_check
    def _bool_only_for_bits(self) -> list[str]:
        bits = self.kind in BIT_KINDS
        if bits and self.type != "bool":
            return [at("type", f"{self.kind} points are single bits: use type bool (got {self.type})")]
        if not bits and self.type == "bool":
            return [
                at(
                    "type",
                    f"bool is for coil and discrete points; one bit of a {self.kind} "
                    "register is type bit with `bit:`",
                )
            ]
        return []

    @cross_check
    def _bit_only_for_type_bit(self) -> list[str]:
        if self.type == "bit" and self.bit is None:
            return [at("bit", "type bit needs `bit: 0-15`")]
        if self.type != "bit" and self.bit is not None:
            return [at("bit", f"`bit` is only for type bit (this point is {self.type})")]
        return []

    @cross_check
    def _length_only_for_strings(self) -> list[str]:
        if self.type == "string" and self.length_registers is None:
            return [at("length_registers", "type string needs `length_registers`")]
        if self.type != "string" and self.length_registers is not None:
            return [at("length_registers", "`length_registers` is only for type string")]
        return []

    @cross_check
    def _word_order_only_for_wide_types(self) -> list[str]:
        if self.word_order is not None and self.type in ("int16", "uint16", "bit", "bool"):
            return [at("word_order", f"{self.type} is one register: it has no word order")]
        return []

    @cross_check
    def _ends_inside_the_map(self) -> list[str]:
        if self.address + self.register_count - 1 > MAX_ADDRESS:
            return [
                at(
                    "address",
                    f"{self.type} at {self.address} spans {self.register_count} "
                    f"registers, past the last address {MAX_ADDRESS}",
                )
            ]
        return []

    @cross_check
    def _sentinel_is_an_integer(self) -> list[str]:
        if self.nan_value is not None and self.type in ("float32", "float64", "string", "bool", "bit"):
            return [at("nan_value", f"nan_value is a raw integer sentinel; {self.type} has none")]
        return []


class Workarounds(StrictModel):
    """Device quirks. Each is off by default; a profile that turns one on says why in a comment."""

    one_request_per_point: bool = False  # firmware that answers only exact register blocks
    pause_between_requests_ms: int = Field(default=0, ge=0, le=10_000)  # slow devices after each answer


class ModbusSettings(StrictModel):
    unit_id: int = Field(default=1, ge=1, le=247)
    word_order: WordOrder = "ABCD"
    max_registers_per_read: int = Field(default=125, ge=1, le=125)
    max_bits_per_read: int = Field(default=2000, ge=1, le=2000)
    max_gap_registers: int = Field(
        default=8, ge=0, le=124, description="unused registers read to join blocks"
    )
    workarounds: Workarounds = Workarounds()


class ProfileBase(StrictModel):
    model: str = Field(min_length=1)
    vendor: str = "generic"
    description: str = ""
    poll_interval_ms: int = Field(default=10_000, ge=10)

    def point_names(self) -> list[str]:
        return [p.name for p in getattr(self, "points")]  # noqa: B009 - every variant has points


def _duplicate_names(points: tuple[PointBase, ...]) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for i, p in enumerate(points):
        if not knows(p, "name"):
            continue
        if p.name in seen:
            problems.append(
                at(f"points[{i}].name", f"point name {p.name!r} is used twice (also points[{seen[p.name]}])")
            )
        seen.setdefault(p.name, i)
    return problems


class ModbusProfile(ProfileBase):
    protocol: Literal["modbus"]
    modbus: ModbusSettings = ModbusSettings()
    points: tuple[ModbusPoint, ...] = Field(min_length=1)

    @cross_check
    def _unique_names(self) -> list[str]:
        return _duplicate_names(self.points)

    @cross_check
    def _points_fit_one_read(self) -> list[str]:
        problems = []
        for i, p in enumerate(self.points):
            if not knows(p, "kind", "type", "length_registers"):
                continue
            bits = p.kind in BIT_KINDS
            limit = self.modbus.max_bits_per_read if bits else self.modbus.max_registers_per_read
            if p.register_count > limit:
                problems.append(
                    at(
                        f"points[{i}].length_registers",
                        f"{p.register_count} registers do not fit in one read "
                        f"(modbus.max_registers_per_read is {limit})",
                    )
                )
        return problems

    @cross_check
    def _fault_flags_exist(self) -> list[str]:
        by_name = {p.name: p for p in self.points if knows(p, "name")}
        problems = []
        for i, p in enumerate(self.points):
            if not knows(p, "fault_flag") or p.fault_flag is None:
                continue
            flag = by_name.get(p.fault_flag)
            if flag is not None and not knows(flag, "type"):
                continue
            if flag is None or flag.type not in FLAG_TYPES:
                names = sorted(n for n, q in by_name.items() if knows(q, "type") and q.type in FLAG_TYPES)
                near = difflib.get_close_matches(p.fault_flag, names, n=1)
                hint = (
                    f" (did you mean {near[0]!r}?)"
                    if near
                    else f" (its bit and bool points: {', '.join(names)})"
                    if names
                    else " (it has none)"
                )
                message = f"{p.fault_flag!r} is not a bit or bool point of this profile{hint}"
                problems.append(at(f"points[{i}].fault_flag", message))
        return problems

    @cross_check
    def _registers_read_once(self) -> list[str]:
        problems = []
        owner: dict[tuple[str, int], int] = {}
        for i, p in enumerate(self.points):
            if not knows(p, "kind", "type", "address", "length_registers") or p.type == "bit":
                continue  # several bit points share their status register on purpose
            for reg in range(p.address, p.address + p.register_count):
                other = owner.get((p.kind, reg))
                if other is not None:
                    problems.append(
                        at(
                            f"points[{i}].address",
                            f"{p.kind} register {reg} is also read by points[{other}] "
                            f"({self.points[other].name})",
                        )
                    )
                    break
                owner[(p.kind, reg)] = i
        return problems


NmeaField = Literal[
    "latitude_deg", "longitude_deg", "altitude_m", "fix_quality", "satellites", "hdop",
    "speed_m_s", "course_deg", "north_mm", "east_mm", "up_mm", "horizontal_mm",
]  # fmt: skip
# Fields measured from the device's origin (the site file gives each such device an `origin`).
NMEA_DISPLACEMENT_FIELDS = ("north_mm", "east_mm", "up_mm", "horizontal_mm")


class NmeaPoint(PointBase):
    field: NmeaField


class NmeaSettings(StrictModel):
    accept_fix_quality: tuple[int, ...] = Field(
        default=(4,), description="GGA fix qualities whose positions are trusted (4 = RTK fixed)"
    )
    sample_interval_ms: int = Field(
        default=1000, ge=0, description="at most one reading per point per interval"
    )
    max_line_bytes: int = Field(default=128, ge=82, le=4096)

    @field_validator("accept_fix_quality")
    @classmethod
    def _known_fix(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        bad = [q for q in v if not 0 <= q <= 8]
        if bad or not v:
            raise ValueError(f"GGA fix qualities are 0-8; give at least one (got {list(v)})")
        return v


class NmeaProfile(ProfileBase):
    protocol: Literal["nmea"]
    nmea: NmeaSettings = NmeaSettings()
    points: tuple[NmeaPoint, ...] = Field(min_length=1)

    @cross_check
    def _unique_names(self) -> list[str]:
        return _duplicate_names(self.points)

    @property
    def needs_origin(self) -> bool:
        return any(p.field in NMEA_DISPLACEMENT_FIELDS for p in self.points)


class LinePoint(PointBase):
    group: str | None = Field(default=None, description="the named group of `line.pattern`; default: name")
    scale: float = 1.0
    offset: float = 0.0

    @property
    def group_name(self) -> str:
        return self.group or self.name


class LineSettings(StrictModel):
    pattern: str = Field(min_length=1, description="a regular expression with one named group per point")
    delimiter: str = "\r\n"
    encoding: Literal["ascii", "latin-1", "utf-8"] = "ascii"
    max_line_bytes: int = Field(default=256, ge=8, le=65536)
    poll_command: str | None = Field(default=None, description="sent every poll interval, for query sensors")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a valid regular expression: {e}") from None
        return v

    @field_validator("delimiter")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v:
            raise ValueError("the delimiter may not be empty")
        return v

    @field_validator("delimiter", "poll_command")
    @classmethod
    def _real_control_characters(cls, v: str | None) -> str | None:
        # YAML turns "\r\n" into CR LF only inside double quotes; single quotes keep the backslashes, and a
        # delimiter of literal backslashes would never frame a line, silently.
        if v is not None and ("\\r" in v or "\\n" in v):
            raise ValueError(
                'contains a backslash sequence written literally: write it in double quotes ("\\r\\n") '
                "so YAML turns it into the control characters"
            )
        return v


class LineProfile(ProfileBase):
    protocol: Literal["line"]
    line: LineSettings
    points: tuple[LinePoint, ...] = Field(min_length=1)

    @cross_check
    def _unique_names(self) -> list[str]:
        return _duplicate_names(self.points)

    @cross_check
    def _groups_exist(self) -> list[str]:
        problems = []
        groups = re.compile(self.line.pattern).groupindex
        for i, p in enumerate(self.points):
            if not knows(p, "name", "group"):
                continue
            if p.group_name not in groups:
                known = ", ".join(groups) or "none"
                problems.append(
                    at(
                        f"points[{i}].group" if p.group else f"points[{i}].name",
                        f"line.pattern has no group named {p.group_name!r} (its groups: {known})",
                    )
                )
        return problems


Profile = Annotated[ModbusProfile | NmeaProfile | LineProfile, Field(discriminator="protocol")]
AnyProfile = ModbusProfile | NmeaProfile | LineProfile
