"""Modbus register values: registers in, numbers and text out, and back.

A Modbus register is 16 bits, sent high byte first (Modbus application protocol 4.2). Anything wider
spans several registers, and devices disagree on how its bytes are laid out. FieldWatch names the layout
with four letters, as the technician's datasheet usually does. Write the value big-endian as bytes
A B C D (A most significant); the order says which byte travels in which place on the wire:

    order   32-bit wire bytes   64-bit wire bytes   registers of 0x42F6E979 (float32 123.456)
    ABCD    A B C D             A B C D E F G H     [0x42F6, 0xE979]   big-endian
    CDAB    C D A B             G H E F C D A B     [0xE979, 0x42F6]   word-swapped
    BADC    B A D C             B A D C F E H G     [0xF642, 0x79E9]   byte-swapped in each word
    DCBA    D C B A             H G F E D C B A     [0x79E9, 0xF642]   little-endian

For 64-bit values this is Telegraf's convention (influxdata/telegraf, plugins/inputs/modbus,
``type_conversions64.go``): CDAB reverses the order of the four words and keeps each word big-endian,
BADC keeps the words and swaps the bytes in each. Every order is its own inverse, so one permutation
table (``byte_permutation``) serves decoding and encoding.

One-register types (int16, uint16, bit) have no word order: ``protocols.profile`` refuses one on such a
point, and the order passed here is accepted and ignored, so a caller may hand every point its device's
default order. (Telegraf, by contrast, byte-swaps 16-bit values under BADC and DCBA.)

Strings are ASCII, two characters per register, high byte first under ABCD and CDAB and swapped under
BADC and DCBA; the registers stay in address order. Trailing NULs and spaces are padding and are stripped.

``bool`` is one coil or discrete input: its "register" is the bit's value, 0 or 1.

Errors: a register outside 0..65535, or bytes that are not ASCII text, is the device's fault
(``RemoteProtocolError``); a wrong register count, an unknown type, or a value that does not fit its type is
the caller's (``LocalProtocolError``). ``protocols.codecs_block`` decodes a whole block at once for the
acquisition's hot path; this module is the clear, one-value-at-a-time reference it is tested against.
"""

from __future__ import annotations

import math
import numbers
import operator
import struct
from collections.abc import Sequence
from typing import Final, get_args

from protocols.errors import LocalProtocolError, RemoteProtocolError
from protocols.profile import REGISTERS_OF_TYPE, DataType, WordOrder

DATA_TYPES: Final = frozenset(get_args(DataType))
WORD_ORDERS: Final = frozenset(get_args(WordOrder))
MAX_REGISTER: Final = 0xFFFF
MAX_STRING_REGISTERS: Final = 125  # one read's worth (Modbus application protocol 6.3)

# struct codes of the numeric types, one value in big-endian bytes
STRUCT_CODES: Final[dict[str, str]] = {
    "int16": "h", "uint16": "H", "int32": "i", "uint32": "I",
    "int64": "q", "uint64": "Q", "float32": "f", "float64": "d",
}  # fmt: skip
FLOAT_TYPES: Final = frozenset({"float32", "float64"})
INTEGER_LIMITS: Final[dict[str, tuple[int, int]]] = {
    "int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1),
}  # fmt: skip
BIT_TYPES: Final = frozenset({"bit", "bool"})  # values 0 or 1
SWAPS_BYTES: Final = frozenset({"BADC", "DCBA"})  # orders that swap the two bytes of each register


def check_data_type(data_type: str) -> None:
    if data_type not in DATA_TYPES:
        raise LocalProtocolError(f"unknown data type {data_type!r}; expected one of {_listed(DATA_TYPES)}")


def check_word_order(word_order: str) -> None:
    if word_order not in WORD_ORDERS:
        raise LocalProtocolError(f"unknown word order {word_order!r}; expected one of {_listed(WORD_ORDERS)}")


def check_bit(data_type: str, bit: int | None) -> None:
    """``bit`` is required for type bit (0-15, 0 = LSB) and refused for every other type."""
    if data_type == "bit":
        if bit is None or isinstance(bit, bool) or not isinstance(bit, int) or not 0 <= bit <= 15:
            raise LocalProtocolError(f"type bit needs bit 0-15 (0 = least significant), got {bit!r}")
    elif bit is not None:
        raise LocalProtocolError(f"bit is only for type bit (this value is {data_type})")


def register_count(data_type: DataType, length_registers: int | None = None) -> int:
    """Registers a value of ``data_type`` spans (bool: one bit). Strings need ``length_registers``."""
    check_data_type(data_type)
    if data_type == "string":
        if length_registers is None or not 1 <= length_registers <= MAX_STRING_REGISTERS:
            raise LocalProtocolError(
                f"type string needs length_registers 1-{MAX_STRING_REGISTERS} (got {length_registers!r})"
            )
        return length_registers
    if length_registers is not None:
        raise LocalProtocolError(f"length_registers is only for type string (this value is {data_type})")
    return 1 if data_type == "bool" else REGISTERS_OF_TYPE[data_type]


def byte_permutation(word_order: WordOrder, size_bytes: int) -> tuple[int, ...]:
    """Wire byte ``i`` of a ``size_bytes`` value is its big-endian byte ``perm[i]``, and vice versa.

    One register (2 bytes) is always big-endian: see the module docstring.
    """
    check_word_order(word_order)
    if size_bytes not in (2, 4, 8):
        raise LocalProtocolError(f"a register value is 2, 4 or 8 bytes (got {size_bytes})")
    positions = range(size_bytes)
    if size_bytes == 2 or word_order == "ABCD":
        return tuple(positions)
    if word_order == "DCBA":
        return tuple(size_bytes - 1 - i for i in positions)
    if word_order == "BADC":
        return tuple(i ^ 1 for i in positions)
    return tuple(size_bytes - 2 - (i & ~1) + (i & 1) for i in positions)  # CDAB: words reversed


def decode(
    registers: Sequence[int],
    data_type: DataType,
    word_order: WordOrder = "ABCD",
    *,
    bit: int | None = None,
) -> int | float | str:
    """The value ``registers`` hold, as ``data_type`` laid out in ``word_order``.

    Integers (and bit, bool) come back as ``int``, floats as ``float`` (NaN and infinities included),
    strings as ``str``.
    """
    check_data_type(data_type)
    check_word_order(word_order)
    check_bit(data_type, bit)
    count = len(registers)
    expected = count if data_type == "string" else register_count(data_type)
    if count != expected or count == 0:
        spans = f"{expected} registers" if expected > 1 else "1 register"
        if data_type == "string":
            spans = "1 or more registers"
        raise LocalProtocolError(f"{data_type} spans {spans} (got {count})")
    wire = _wire_bytes(registers)
    if data_type == "bool":
        if registers[0] not in (0, 1):
            raise RemoteProtocolError(f"a coil or discrete input is 0 or 1 (got {registers[0]})")
        return int(registers[0])
    if data_type == "bit":
        assert bit is not None  # check_bit
        return (int(registers[0]) >> bit) & 1
    if data_type == "string":
        return _decode_string(wire, word_order)
    perm = byte_permutation(word_order, len(wire))
    value: int | float = struct.unpack(">" + STRUCT_CODES[data_type], bytes(wire[p] for p in perm))[0]
    return value


def encode(
    value: int | float | str,
    data_type: DataType,
    word_order: WordOrder = "ABCD",
    *,
    length_registers: int | None = None,
    bit: int | None = None,
) -> list[int]:
    """The registers that hold ``value`` as ``data_type`` in ``word_order``: the inverse of ``decode``.

    Integer types take integers (an integral float such as ``12.0`` is accepted); floats take any real
    number, NaN and infinities included; bit and bool take 0 or 1 (type bit sets ``bit`` of an otherwise
    zero register); strings take ASCII text of at most ``2 * length_registers`` characters, NUL-padded.
    A value that does not fit raises ``LocalProtocolError``.
    """
    check_data_type(data_type)
    check_word_order(word_order)
    check_bit(data_type, bit)
    count = register_count(data_type, length_registers)
    if data_type == "string":
        return _encode_string(value, count, word_order)
    if data_type in BIT_TYPES:
        flag = _as_integer(value, data_type, 0, 1)
        return [flag << bit] if bit is not None else [flag]
    if data_type in FLOAT_TYPES:
        packed = _pack_float(value, data_type)
    else:
        low, high = INTEGER_LIMITS[data_type]
        packed = struct.pack(">" + STRUCT_CODES[data_type], _as_integer(value, data_type, low, high))
    perm = byte_permutation(word_order, len(packed))
    wire = bytes(packed[p] for p in perm)
    return [int.from_bytes(wire[i : i + 2], "big") for i in range(0, len(wire), 2)]


def apply_scale(raw: float, scale: float, offset: float) -> float:
    """The physical value of a raw reading: ``raw * scale + offset``."""
    return float(raw) * scale + offset


def unscale(value: float, scale: float, offset: float, data_type: DataType) -> int | float:
    """The raw value that ``apply_scale`` turns into ``value``, rounded to what ``data_type`` can hold.

    Integer types (and bit, bool) round to the nearest integer, ties to even; float32 rounds to the
    nearest float32. Whether the result fits the type is ``encode``'s check.
    """
    check_data_type(data_type)
    if data_type == "string":
        raise LocalProtocolError("a string has no scale")
    if scale == 0 or not math.isfinite(scale) or not math.isfinite(offset):
        raise LocalProtocolError(f"scale must be finite and non-zero, offset finite (got {scale}, {offset})")
    raw = (float(value) - offset) / scale
    if data_type == "float64":
        return raw
    if data_type == "float32":
        return float(struct.unpack(">f", _pack_float(raw, "float32"))[0])
    if not math.isfinite(raw):
        raise LocalProtocolError(f"{value} has no {data_type} raw value (scale {scale}, offset {offset})")
    return round(raw)


def _listed(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


def _wire_bytes(registers: Sequence[int]) -> bytes:
    """The registers as the bytes they travel as: each high byte first."""
    out = bytearray()
    for i, register in enumerate(registers):
        try:
            number = operator.index(register)
        except TypeError:
            raise LocalProtocolError(
                f"register {i} is {register!r}: registers are integers 0-{MAX_REGISTER}"
            ) from None
        if not 0 <= number <= MAX_REGISTER:
            raise RemoteProtocolError(f"register {i} is {number}: a register holds 0-{MAX_REGISTER}")
        out += number.to_bytes(2, "big")
    return bytes(out)


def _decode_string(wire: bytes, word_order: str) -> str:
    if word_order in SWAPS_BYTES:
        wire = bytes(wire[i ^ 1] for i in range(len(wire)))
    try:
        text = wire.decode("ascii")
    except UnicodeDecodeError as e:
        raise RemoteProtocolError(
            f"string byte {e.start} is 0x{wire[e.start]:02X}, not ASCII (registers {wire.hex(' ', 2)})"
        ) from None
    return text.rstrip("\x00 ")


def _encode_string(value: object, count: int, word_order: str) -> list[int]:
    if not isinstance(value, str):
        raise LocalProtocolError(f"type string takes text (got {type(value).__name__} {value!r})")
    try:
        data = value.encode("ascii")
    except UnicodeEncodeError as e:
        raise LocalProtocolError(f"{value!r} is not ASCII (character {e.start})") from None
    if len(data) > 2 * count:
        raise LocalProtocolError(
            f"{value!r} has {len(data)} characters; {count} registers hold at most {2 * count}"
        )
    wire = data.ljust(2 * count, b"\x00")
    if word_order in SWAPS_BYTES:
        wire = bytes(wire[i ^ 1] for i in range(len(wire)))
    return [int.from_bytes(wire[i : i + 2], "big") for i in range(0, len(wire), 2)]


def _as_integer(value: object, data_type: str, low: int, high: int) -> int:
    """``value`` as an int within ``low..high``; integral floats pass, anything else is an error."""
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        number = int(float(value))
    else:
        raise LocalProtocolError(
            f"{data_type} takes an integer (got {type(value).__name__} {value!r}); "
            "unscale() rounds a physical value"
        )
    if not low <= number <= high:
        raise LocalProtocolError(f"{number} does not fit {data_type} ({low}..{high})")
    return number


def _pack_float(value: object, data_type: str) -> bytes:
    if not isinstance(value, numbers.Real):
        raise LocalProtocolError(f"{data_type} takes a number (got {type(value).__name__} {value!r})")
    try:
        return struct.pack(">" + STRUCT_CODES[data_type], float(value))
    except OverflowError:
        raise LocalProtocolError(f"{value} does not fit {data_type} (too large)") from None
