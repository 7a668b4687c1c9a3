"""Decoding one read's block of registers into every reading it carries, in a few numpy calls.

The acquisition reads a block of registers per request and must turn ~50 points into values and quality
flags in microseconds, on a Raspberry Pi, many times a second. ``BlockDecoder`` compiles its field list once
and then, per block:

1. packs the registers into their wire bytes (each register high byte first) with one ``struct`` call,
   which also refuses any register outside 0..65535;
2. gathers every field's bytes into big-endian order with one precomputed index array (the word order is
   folded into that index, ``protocols.codecs.byte_permutation``), grouped by data type;
3. views each type's slice as its big-endian numpy dtype (bit fields shift and mask their register) and
   concatenates the views into one float64 array of raw values, put back in field order;
4. scales (``raw * scale + offset``) and sets quality flags, all vectorised.

The values equal ``protocols.codecs.apply_scale(decode(...))`` field by field (the tests check it on
generated layouts); ``protocols.codecs`` is the readable reference, this module the fast path.

Quality (``protocols.quality``):

- a raw value equal to the field's ``nan_value`` sentinel, or a NaN on the wire (a float's "no value"),
  gives value NaN with ``NOT_AVAILABLE``: the device has no value now, which is not a fault;
- a decoded infinity (or a scaled value that overflows), or a raised fault flag gives value NaN with
  ``SENSOR_FAULT``. A fault flag voids the value rather than marking it: the device says the number is not
  a measurement. Every reading with either flag carries NaN (``quality.NO_VALUE``), so detection never
  sees its value;
- a value outside ``physical_range`` keeps its value and gets ``OUT_OF_RANGE``.

``bits=True`` decodes coils and discrete inputs: the "words" are bit values (0/1 or bools, as a bit read
returns them) and each field is a ``bool`` at a bit offset.

A block shorter than its fields need, or a register out of range, is the device's fault
(``RemoteProtocolError``): the caller turns it into a quality flag and a counter. A bad field list is the
caller's (``LocalProtocolError``, naming every bad field at once).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from protocols.codecs import (
    DATA_TYPES,
    INTEGER_LIMITS,
    MAX_REGISTER,
    WORD_ORDERS,
    byte_permutation,
    check_bit,
    register_count,
)
from protocols.errors import LocalProtocolError, RemoteProtocolError
from protocols.profile import DataType, WordOrder
from protocols.quality import Quality

# The numpy dtype each type's big-endian bytes are viewed as.
VIEW_DTYPES: dict[str, np.dtype[np.generic]] = {
    name: np.dtype(code)
    for name, code in {
        "int16": ">i2", "uint16": ">u2", "bit": ">u2", "bool": "u1",
        "int32": ">i4", "uint32": ">u4", "float32": ">f4",
        "int64": ">i8", "uint64": ">u8", "float64": ">f8",
    }.items()
}  # fmt: skip
LARGEST_FINITE_RAW = {"float32": float(np.finfo(np.float32).max), "float64": float(np.finfo(np.float64).max)}
SENSOR_FAULT = np.uint32(Quality.SENSOR_FAULT)
NOT_AVAILABLE = np.uint32(Quality.NOT_AVAILABLE)
OUT_OF_RANGE = np.uint32(Quality.OUT_OF_RANGE)

Values = npt.NDArray[np.float64]
Qualities = npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One reading in a block: where it sits, how to decode it, and what makes it faulty."""

    offset: int  # registers (or bits) from the start of the block
    data_type: DataType  # not "string" (strings are not readings)
    word_order: WordOrder = "ABCD"
    bit: int | None = None  # for type bit: which bit of the register, 0 = LSB
    scale: float = 1.0
    value_offset: float = 0.0
    nan_value: int | None = None  # raw sentinel meaning "no reading"
    physical_range: tuple[float, float] | None = None  # outside -> OUT_OF_RANGE (value kept)
    fault_flag: int | None = None  # index of another field of the block; raw value 1 -> SENSOR_FAULT


@dataclass(frozen=True, slots=True)
class _Group:
    """The fields of one data type: a slice of the gathered bytes, viewed as the type's dtype."""

    dtype: np.dtype[np.generic]
    start: int  # byte slice of the gathered bytes
    stop: int
    fields: tuple[int, ...]  # the field index of each value
    shifts: npt.NDArray[np.uint16] | None  # type bit: each field's bit
    # nan sentinels that float64 cannot hold exactly (64-bit integers beyond 2**53), compared in the
    # group's own dtype: the values (within the group) that have one, their field indexes, the sentinels
    sentinel_at: npt.NDArray[np.intp] | None
    sentinel_fields: npt.NDArray[np.intp] | None
    sentinels: npt.NDArray[np.generic] | None


class BlockDecoder:
    """Decodes blocks of registers (or bits) into ``(values float64, quality uint32)``, in field order."""

    def __init__(self, fields: Sequence[FieldSpec], *, bits: bool = False) -> None:
        self.fields = tuple(fields)
        self.bits = bits
        problems = [p for i, f in enumerate(self.fields) for p in _problems(i, f, bits, len(self.fields))]
        if problems:
            raise LocalProtocolError("bad block fields:\n" + "\n".join(problems))
        ends = [f.offset + (1 if bits else register_count(f.data_type)) for f in self.fields]
        self.min_length = max(ends, default=0)  # registers (bits) the block must have
        self._pack = struct.Struct(f">{self.min_length}H")
        self._groups, self._gather = self._compile_groups()
        self._scale = np.array([f.scale for f in self.fields], dtype=np.float64)
        self._offset = np.array([f.value_offset for f in self.fields], dtype=np.float64)
        self._scaled = bool(np.any(self._scale != 1.0) or np.any(self._offset != 0.0))
        self._may_overflow = any(_may_overflow(f) for f in self.fields)
        grouped_order = [i for group in self._groups for i in group.fields]
        self._to_field_order = (
            None if grouped_order == sorted(grouped_order) else np.argsort(np.array(grouped_order))
        )
        exact = [_sentinel_is_exact(f) for f in self.fields]
        self._sentinels = np.array(
            [f.nan_value if is_exact else math.nan for f, is_exact in zip(self.fields, exact, strict=True)],
            dtype=np.float64,
        )
        self._has_sentinels = any(exact)
        flagged = [i for i, f in enumerate(self.fields) if f.fault_flag is not None]
        self._flag_fields = np.array(flagged, dtype=np.intp) if flagged else None
        self._flag_sources = np.array([self.fields[i].fault_flag for i in flagged], dtype=np.intp)
        ranges = [f.physical_range or (-math.inf, math.inf) for f in self.fields]
        self._low = np.array([r[0] for r in ranges], dtype=np.float64)
        self._high = np.array([r[1] for r in ranges], dtype=np.float64)
        self._ranged = any(f.physical_range is not None for f in self.fields)

    def decode(
        self, words: Sequence[int] | npt.NDArray[np.integer] | npt.NDArray[np.bool_]
    ) -> tuple[Values, Qualities]:
        """``(values, quality)`` of every field, in field order. Extra words after the fields are ignored."""
        wire = self._wire_array(words) if isinstance(words, np.ndarray) else self._wire_sequence(words)
        gathered = wire[self._gather]
        views = [self._view(gathered, group) for group in self._groups]
        raw = np.concatenate(views, dtype=np.float64) if views else np.empty(0, dtype=np.float64)
        if self._to_field_order is not None:
            raw = raw[self._to_field_order]
        values = self._scaled_values(raw) if self._scaled else raw
        missing = np.isnan(raw)
        if self._has_sentinels:
            missing |= raw == self._sentinels  # NaN where a field has none: never equal
        for group, view in zip(self._groups, views, strict=True):
            if group.sentinel_at is not None:
                missing[group.sentinel_fields] |= view[group.sentinel_at] == group.sentinels
        fault = ~missing & ~np.isfinite(values)
        if self._flag_fields is not None:
            fault[self._flag_fields] |= raw[self._flag_sources] == 1
        missing &= ~fault  # a raised fault flag wins: the sensor is broken, not only without a value
        np.copyto(values, np.nan, where=fault | missing)
        quality = np.multiply(fault, SENSOR_FAULT, dtype=np.uint32)
        quality |= np.multiply(missing, NOT_AVAILABLE, dtype=np.uint32)
        if self._ranged:
            outside = (values < self._low) | (values > self._high)  # a voided (NaN) value is neither
            quality |= np.multiply(outside, OUT_OF_RANGE, dtype=np.uint32)
        return values, quality

    def _scaled_values(self, raw: Values) -> Values:
        if not self._may_overflow:
            return raw * self._scale + self._offset
        # Overflow (a huge float times a scale) and inf * 0 give inf or NaN, which become SENSOR_FAULT
        # below; numpy's warning would only add noise. The guard costs ~1 us, so only such layouts pay it.
        with np.errstate(over="ignore", invalid="ignore"):
            return raw * self._scale + self._offset

    @staticmethod
    def _view(gathered: npt.NDArray[np.uint8], group: _Group) -> npt.NDArray[np.generic]:
        view = gathered[group.start : group.stop].view(group.dtype)
        if group.shifts is not None:
            return (view >> group.shifts) & 1
        return view

    def _compile_groups(self) -> tuple[tuple[_Group, ...], npt.NDArray[np.intp]]:
        """One group per data type, and the index that gathers every field's bytes big-endian."""
        by_type: dict[str, list[int]] = {}
        for i, f in enumerate(self.fields):
            by_type.setdefault(f.data_type, []).append(i)
        gather: list[int] = []
        groups = []
        for data_type, members in by_type.items():
            dtype = VIEW_DTYPES[data_type]
            start = len(gather)
            for i in members:
                f = self.fields[i]
                base = f.offset if self.bits else 2 * f.offset
                perm = range(dtype.itemsize) if self.bits else byte_permutation(f.word_order, dtype.itemsize)
                gather += (base + p for p in perm)
            bits = [self.fields[i].bit or 0 for i in members]
            sentinel_at = [
                k
                for k, i in enumerate(members)
                if self.fields[i].nan_value is not None and not _sentinel_is_exact(self.fields[i])
            ]
            sentinels = [self.fields[members[k]].nan_value for k in sentinel_at]
            groups.append(
                _Group(
                    dtype=dtype,
                    start=start,
                    stop=len(gather),
                    fields=tuple(members),
                    shifts=np.array(bits, dtype=np.uint16) if data_type == "bit" else None,
                    sentinel_at=np.array(sentinel_at, dtype=np.intp) if sentinel_at else None,
                    sentinel_fields=np.array([members[k] for k in sentinel_at], dtype=np.intp),
                    sentinels=np.array(sentinels, dtype=dtype) if sentinel_at else None,
                )
            )
        return tuple(groups), np.array(gather, dtype=np.intp)

    def _wire_sequence(self, words: Sequence[int] | Sequence[bool]) -> npt.NDArray[np.uint8]:
        """Bytes of a list of registers (or bits), as pymodbus returns them."""
        self._check_length(len(words))
        used = words if len(words) == self.min_length else words[: self.min_length]
        if self.bits:
            try:
                wire = np.frombuffer(bytes(used), dtype=np.uint8)
            except (ValueError, TypeError):
                raise RemoteProtocolError(_first_bad(used, 1)) from None
            if wire.size and wire.max() > 1:
                raise RemoteProtocolError(_first_bad(used, 1))
            return wire
        try:
            return np.frombuffer(self._pack.pack(*used), dtype=np.uint8)
        except struct.error:
            raise RemoteProtocolError(_first_bad(used, MAX_REGISTER)) from None

    def _wire_array(self, words: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
        """Bytes of a numpy array of registers (or bits)."""
        if words.ndim != 1 or words.dtype.kind not in "biu":
            raise LocalProtocolError(
                f"a block is a one-dimensional array of integers (got {words.ndim}-d {words.dtype})"
            )
        self._check_length(len(words))
        used = words[: self.min_length]
        highest = 1 if self.bits else MAX_REGISTER
        if used.size and _may_exceed(used.dtype, highest) and (used.min() < 0 or used.max() > highest):
            raise RemoteProtocolError(_first_bad(used.tolist(), highest))
        if self.bits:
            return used.astype(np.uint8)
        return used.astype(">u2").view(np.uint8)

    def _check_length(self, length: int) -> None:
        if length < self.min_length:
            unit = "bits" if self.bits else "registers"
            raise RemoteProtocolError(f"the block has {length} {unit}; its fields need {self.min_length}")


def _sentinel_is_exact(f: FieldSpec) -> bool:
    """Whether comparing the float64 raw value with the sentinel is exact (no other integer rounds to it).

    True for every type up to 32 bits; for 64-bit integers only below 2**53 in magnitude.
    """
    return f.nan_value is not None and abs(f.nan_value) < 2**53


def _may_overflow(f: FieldSpec) -> bool:
    """Whether scaling this field can overflow float64, or multiply an infinity by zero.

    ``raw * scale + offset`` is monotonic in ``|raw|``, so the largest raw value bounds it, computed with
    the same float64 rounding numpy uses.
    """
    if f.data_type in LARGEST_FINITE_RAW and f.scale == 0:
        return True  # a float field may hold an infinity
    largest_raw = LARGEST_FINITE_RAW.get(f.data_type, 2.0**64)  # integer types are below 2**64
    return not math.isfinite(largest_raw * abs(f.scale) + abs(f.value_offset))


def _may_exceed(dtype: np.dtype[np.generic], highest: int) -> bool:
    """Whether an array of ``dtype`` can hold a value outside 0..highest (uint16 registers cannot)."""
    if dtype.kind == "b":
        return False
    return highest == 1 or dtype.kind == "i" or dtype.itemsize > 2


def _first_bad(words: Sequence[object], highest: int) -> str:
    unit = "bit" if highest == 1 else "register"
    for i, word in enumerate(words):
        if isinstance(word, float) or not isinstance(word, int | np.integer) or not 0 <= word <= highest:
            return f"{unit} {i} of the block is {word!r}: a {unit} holds 0-{highest}"
    return f"the block's {unit}s are not all integers 0-{highest}"


def _problems(i: int, f: FieldSpec, bits: bool, count: int) -> list[str]:
    """Everything wrong with field ``i``, each as ``fields[i].key: message``."""
    out: list[str] = []

    def bad(key: str, message: str) -> None:
        out.append(f"fields[{i}].{key}: {message}")

    if f.data_type not in DATA_TYPES:
        bad("data_type", f"unknown data type {f.data_type!r}")
    elif f.data_type == "string":
        bad("data_type", "strings are not readings: decode them with protocols.codecs.decode")
    elif bits and f.data_type != "bool":
        bad("data_type", f"a coil or discrete block holds bool fields (got {f.data_type})")
    elif not bits and f.data_type == "bool":
        bad("data_type", "bool is for coil and discrete blocks; one bit of a register is type bit")
    else:
        try:
            check_bit(f.data_type, f.bit)
        except LocalProtocolError as e:
            bad("bit", str(e))
    if f.word_order not in WORD_ORDERS:
        bad("word_order", f"unknown word order {f.word_order!r}")
    if isinstance(f.offset, bool) or not isinstance(f.offset, int) or f.offset < 0:
        bad("offset", f"must be an integer >= 0 (got {f.offset!r})")
    for key, number in (("scale", f.scale), ("value_offset", f.value_offset)):
        if not math.isfinite(number):
            bad(key, f"must be finite (got {number})")
    if f.nan_value is not None:
        limits = INTEGER_LIMITS.get(f.data_type)
        if limits is None:
            bad("nan_value", f"a nan sentinel is a raw integer; {f.data_type} has none")
        elif not limits[0] <= f.nan_value <= limits[1]:
            bad("nan_value", f"{f.nan_value} does not fit {f.data_type}")
    if f.physical_range is not None:
        low, high = f.physical_range
        if not low < high:  # also refuses NaN
            bad("physical_range", f"min must be below max (got {low}, {high})")
    if f.fault_flag is not None and not (0 <= f.fault_flag < count and f.fault_flag != i):
        bad("fault_flag", f"must be the index of another field, 0-{count - 1} (got {f.fault_flag})")
    return out
