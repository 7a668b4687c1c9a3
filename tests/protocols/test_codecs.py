"""Register codecs: hand-written vectors in every order, round trips, and the errors.

The vectors are literal registers, written from the value's hex bytes by hand, so a codec that moves one
byte to the wrong place fails here (every vector's bytes are distinct within each register pair).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.codecs import (
    INTEGER_LIMITS,
    apply_scale,
    byte_permutation,
    decode,
    encode,
    register_count,
    unscale,
)
from protocols.errors import LocalProtocolError, RemoteProtocolError
from protocols.profile import DataType, WordOrder

ORDERS: tuple[WordOrder, ...] = ("ABCD", "CDAB", "BADC", "DCBA")
NUMERIC_TYPES: tuple[DataType, ...] = (
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
)

# (data_type, value, {order: registers})
MULTI_REGISTER_VECTORS: list[tuple[DataType, float, dict[WordOrder, list[int]]]] = [
    ("float32", 123.45600128173828, {  # 0x42F6E979, the float32 nearest 123.456
        "ABCD": [0x42F6, 0xE979], "CDAB": [0xE979, 0x42F6],
        "BADC": [0xF642, 0x79E9], "DCBA": [0x79E9, 0xF642],
    }),
    ("float32", -3.1415927410125732, {  # 0xC0490FDB, float32 -pi
        "ABCD": [0xC049, 0x0FDB], "CDAB": [0x0FDB, 0xC049],
        "BADC": [0x49C0, 0xDB0F], "DCBA": [0xDB0F, 0x49C0],
    }),
    ("int32", -2, {  # 0xFFFFFFFE
        "ABCD": [0xFFFF, 0xFFFE], "CDAB": [0xFFFE, 0xFFFF],
        "BADC": [0xFFFF, 0xFEFF], "DCBA": [0xFEFF, 0xFFFF],
    }),
    ("int32", -123456789, {  # 0xF8A432EB
        "ABCD": [0xF8A4, 0x32EB], "CDAB": [0x32EB, 0xF8A4],
        "BADC": [0xA4F8, 0xEB32], "DCBA": [0xEB32, 0xA4F8],
    }),
    ("int32", 0x12345678, {
        "ABCD": [0x1234, 0x5678], "CDAB": [0x5678, 0x1234],
        "BADC": [0x3412, 0x7856], "DCBA": [0x7856, 0x3412],
    }),
    ("uint32", 4_000_000_000, {  # 0xEE6B2800
        "ABCD": [0xEE6B, 0x2800], "CDAB": [0x2800, 0xEE6B],
        "BADC": [0x6BEE, 0x0028], "DCBA": [0x0028, 0x6BEE],
    }),
    ("int64", 0x0102030405060708, {
        "ABCD": [0x0102, 0x0304, 0x0506, 0x0708], "CDAB": [0x0708, 0x0506, 0x0304, 0x0102],
        "BADC": [0x0201, 0x0403, 0x0605, 0x0807], "DCBA": [0x0807, 0x0605, 0x0403, 0x0201],
    }),
    ("int64", -1234567890123456789, {  # 0xEEDDEF0B82167EEB
        "ABCD": [0xEEDD, 0xEF0B, 0x8216, 0x7EEB], "CDAB": [0x7EEB, 0x8216, 0xEF0B, 0xEEDD],
        "BADC": [0xDDEE, 0x0BEF, 0x1682, 0xEB7E], "DCBA": [0xEB7E, 0x1682, 0x0BEF, 0xDDEE],
    }),
    ("uint64", 0xFEDCBA9876543210, {
        "ABCD": [0xFEDC, 0xBA98, 0x7654, 0x3210], "CDAB": [0x3210, 0x7654, 0xBA98, 0xFEDC],
        "BADC": [0xDCFE, 0x98BA, 0x5476, 0x1032], "DCBA": [0x1032, 0x5476, 0x98BA, 0xDCFE],
    }),
    ("float64", 123.456, {  # 0x405EDD2F1A9FBE77
        "ABCD": [0x405E, 0xDD2F, 0x1A9F, 0xBE77], "CDAB": [0xBE77, 0x1A9F, 0xDD2F, 0x405E],
        "BADC": [0x5E40, 0x2FDD, 0x9F1A, 0x77BE], "DCBA": [0x77BE, 0x9F1A, 0x2FDD, 0x5E40],
    }),
    ("float64", -2.5, {  # 0xC004000000000000
        "ABCD": [0xC004, 0, 0, 0], "CDAB": [0, 0, 0, 0xC004],
        "BADC": [0x04C0, 0, 0, 0], "DCBA": [0, 0, 0, 0x04C0],
    }),
]  # fmt: skip

# One-register types have no word order: the same register in every order.
ONE_REGISTER_VECTORS = [
    ("uint16", 555, 0x022B),  # the Modbus application protocol's read-holding-registers example (6.3)
    ("uint16", 0xABCD, 0xABCD),
    ("int16", -12345, 0xCFC7),
    ("int16", -2, 0xFFFE),
    ("int16", 0x1234, 0x1234),
]

SPECIAL_FLOAT32 = [(math.inf, [0x7F80, 0]), (-math.inf, [0xFF80, 0]), (1.0, [0x3F80, 0])]


def multi_register_cases() -> list[tuple[DataType, float, WordOrder, list[int]]]:
    return [(t, v, o, regs) for t, v, by_order in MULTI_REGISTER_VECTORS for o, regs in by_order.items()]


@pytest.mark.parametrize(("data_type", "value", "order", "registers"), multi_register_cases())
def test_multi_register_vectors_decode(
    data_type: DataType, value: float, order: WordOrder, registers: list[int]
) -> None:
    decoded = decode(registers, data_type, order)
    assert decoded == value
    assert type(decoded) is type(value)


@pytest.mark.parametrize(("data_type", "value", "order", "registers"), multi_register_cases())
def test_multi_register_vectors_encode(
    data_type: DataType, value: float, order: WordOrder, registers: list[int]
) -> None:
    assert encode(value, data_type, order) == registers


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(("data_type", "value", "register"), ONE_REGISTER_VECTORS)
def test_one_register_types_ignore_the_word_order(
    data_type: DataType, value: int, register: int, order: WordOrder
) -> None:
    assert decode([register], data_type, order) == value
    assert encode(value, data_type, order) == [register]


@pytest.mark.parametrize(("value", "registers"), SPECIAL_FLOAT32)
def test_float32_specials(value: float, registers: list[int]) -> None:
    assert decode(registers, "float32") == value
    assert encode(value, "float32") == registers


def test_nan_decodes_and_encodes_as_the_quiet_nan() -> None:
    assert math.isnan(float(decode([0x7FC0, 0], "float32")))
    assert math.isnan(float(decode([0xFFF8, 0, 0, 0], "float64")))
    assert encode(math.nan, "float32") == [0x7FC0, 0]
    assert encode(math.nan, "float64") == [0x7FF8, 0, 0, 0]


@pytest.mark.parametrize(
    ("registers", "bit", "expected"),
    [([0x8001], 0, 1), ([0x8001], 15, 1), ([0x8001], 1, 0), ([0x0008], 3, 1), ([0x0008], 2, 0),
     ([0x0100], 8, 1), ([0x0100], 0, 0)],
)  # fmt: skip
@pytest.mark.parametrize("order", ORDERS)
def test_bit_is_counted_from_the_least_significant(
    registers: list[int], bit: int, expected: int, order: WordOrder
) -> None:
    assert decode(registers, "bit", order, bit=bit) == expected


def test_encode_bit_sets_only_that_bit() -> None:
    assert encode(1, "bit", bit=3) == [0x0008]
    assert encode(1, "bit", bit=15) == [0x8000]
    assert encode(0, "bit", bit=15) == [0]


def test_bool_is_one_coil() -> None:
    assert decode([1], "bool") == 1
    assert decode([True], "bool") == 1
    assert decode([0], "bool") == 0
    assert encode(True, "bool") == [1]
    with pytest.raises(RemoteProtocolError, match="0 or 1"):
        decode([2], "bool")


STRING_VECTORS = [
    # text, registers under ABCD/CDAB, registers under BADC/DCBA
    ("HELLO", [0x4845, 0x4C4C, 0x4F00], [0x4548, 0x4C4C, 0x004F]),
    ("A B", [0x4120, 0x4200], [0x2041, 0x0042]),
    ("XY", [0x5859, 0x0000], [0x5958, 0x0000]),
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(("text", "high_first", "swapped"), STRING_VECTORS)
def test_string_vectors(text: str, high_first: list[int], swapped: list[int], order: WordOrder) -> None:
    registers = swapped if order in ("BADC", "DCBA") else high_first
    assert decode(registers, "string", order) == text
    assert encode(text, "string", order, length_registers=len(registers)) == registers


def test_string_strips_trailing_nuls_and_spaces_only() -> None:
    assert decode([0x4142, 0x2020, 0x0000], "string") == "AB"
    assert decode([0x2041, 0x0020], "string") == " A"
    assert decode([0x4100, 0x4200], "string") == "A\x00B"  # an inner NUL is the device's business


def test_string_that_is_not_ascii_is_the_device_s_fault() -> None:
    with pytest.raises(RemoteProtocolError, match="string byte 1 is 0xE9, not ASCII"):
        decode([0x41E9], "string")


@pytest.mark.parametrize(
    ("data_type", "length", "expected"),
    [("int16", None, 1), ("uint16", None, 1), ("bit", None, 1), ("bool", None, 1), ("int32", None, 2),
     ("uint32", None, 2), ("float32", None, 2), ("int64", None, 4), ("uint64", None, 4),
     ("float64", None, 4), ("string", 10, 10)],
)  # fmt: skip
def test_register_count(data_type: DataType, length: int | None, expected: int) -> None:
    assert register_count(data_type, length) == expected


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: register_count("string"), LocalProtocolError, "type string needs length_registers"),
        (lambda: register_count("string", 126), LocalProtocolError, "1-125"),
        (lambda: register_count("int32", 2), LocalProtocolError, "only for type string"),
        (lambda: register_count("int24"), LocalProtocolError, "unknown data type 'int24'"),  # type: ignore[arg-type]
        (lambda: decode([1], "int24"), LocalProtocolError, "unknown data type 'int24'; expected one of"),  # type: ignore[arg-type]
        (lambda: decode([1, 2], "int32", "ABDC"), LocalProtocolError, "unknown word order 'ABDC'"),  # type: ignore[arg-type]
        (lambda: decode([1], "int32"), LocalProtocolError, "int32 spans 2 registers .got 1."),
        (lambda: decode([1, 2], "int16"), LocalProtocolError, "int16 spans 1 register .got 2."),
        (lambda: decode([], "string"), LocalProtocolError, "string spans 1 or more registers"),
        (lambda: decode([1], "bit"), LocalProtocolError, "type bit needs bit 0-15"),
        (lambda: decode([1], "bit", bit=16), LocalProtocolError, "type bit needs bit 0-15"),
        (lambda: decode([1], "uint16", bit=0), LocalProtocolError, "bit is only for type bit"),
        (lambda: decode([70000], "uint16"), RemoteProtocolError, "register 0 is 70000: a register holds"),
        (lambda: decode([1, -1], "int32"), RemoteProtocolError, "register 1 is -1"),
        (lambda: decode([1.5], "uint16"), LocalProtocolError, "register 0 is 1.5: registers are integers"),  # type: ignore[list-item]
        (lambda: encode(32768, "int16"), LocalProtocolError, r"32768 does not fit int16 \(-32768..32767\)"),
        (lambda: encode(-1, "uint32"), LocalProtocolError, "-1 does not fit uint32"),
        (lambda: encode(2**64, "uint64"), LocalProtocolError, "does not fit uint64"),
        (lambda: encode(1.5, "int32"), LocalProtocolError, "int32 takes an integer .got float 1.5."),
        (lambda: encode(math.nan, "int32"), LocalProtocolError, "int32 takes an integer"),
        (lambda: encode("12", "uint16"), LocalProtocolError, "uint16 takes an integer .got str"),
        (lambda: encode(1e39, "float32"), LocalProtocolError, "does not fit float32"),
        (lambda: encode("1.5", "float32"), LocalProtocolError, "float32 takes a number .got str"),
        (lambda: encode(2, "bool"), LocalProtocolError, r"2 does not fit bool \(0..1\)"),
        (lambda: encode(2, "bit", bit=1), LocalProtocolError, "does not fit bit"),
        (lambda: encode("ABCDE", "string", length_registers=2), LocalProtocolError, "at most 4"),
        (lambda: encode("é", "string", length_registers=2), LocalProtocolError, "not ASCII"),
        (lambda: encode(12, "string", length_registers=2), LocalProtocolError, "takes text"),
        (lambda: encode("AB", "string"), LocalProtocolError, "needs length_registers"),
        (lambda: unscale(1.0, 0.0, 0.0, "int16"), LocalProtocolError, "non-zero"),
        (lambda: unscale(math.nan, 1.0, 0.0, "int16"), LocalProtocolError, "has no int16 raw value"),
        (lambda: unscale(1.0, 1.0, 0.0, "string"), LocalProtocolError, "a string has no scale"),
        (lambda: byte_permutation("ABCD", 3), LocalProtocolError, "2, 4 or 8 bytes"),
    ],
)
def test_errors_say_what_is_wrong(call: Callable[[], object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("data_type", list(INTEGER_LIMITS))
def test_integer_limits_encode_and_one_past_them_does_not(data_type: DataType) -> None:
    low, high = INTEGER_LIMITS[data_type]
    for value in (low, high):
        assert decode(encode(value, data_type), data_type) == value
    for value in (low - 1, high + 1):
        with pytest.raises(LocalProtocolError, match=f"does not fit {data_type}"):
            encode(value, data_type)


def test_integral_floats_and_numpy_numbers_are_accepted() -> None:
    assert encode(12.0, "int16") == [12]
    assert encode(np.int64(-2), "int32") == [0xFFFF, 0xFFFE]  # type: ignore[arg-type]
    assert encode(np.float32(1.0), "float32") == [0x3F80, 0]  # type: ignore[arg-type]
    assert decode([np.uint16(0x022B)], "uint16") == 555  # type: ignore[list-item]


def test_scale_and_unscale() -> None:
    assert apply_scale(123, 0.1, -5.0) == 123 * 0.1 - 5.0
    assert unscale(123 * 0.1 - 5.0, 0.1, -5.0, "int16") == 123
    assert unscale(2.5, 1.0, 0.0, "int16") == 2  # ties to even
    assert unscale(1.1, 1.0, 0.0, "float32") == struct.unpack(">f", struct.pack(">f", 1.1))[0]
    assert unscale(1.1, 1.0, 0.0, "float64") == 1.1
    assert isinstance(unscale(3.0, 1.0, 0.0, "uint32"), int)


# --- properties ------------------------------------------------------------------------------------------


def reference_value_bytes(registers: list[int], order: WordOrder) -> bytes:
    """The value's big-endian bytes, from the word-order description (not from byte_permutation)."""
    words = list(registers)
    if order in ("CDAB", "DCBA"):  # low word first on the wire
        words.reverse()
    if order in ("BADC", "DCBA"):  # low byte first in each word
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return b"".join(w.to_bytes(2, "big") for w in words)


registers_16 = st.integers(0, 0xFFFF)


@settings(deadline=None)
@given(data=st.data(), data_type=st.sampled_from(NUMERIC_TYPES[2:]), order=st.sampled_from(ORDERS))
def test_decode_matches_the_word_order_description(
    data: st.DataObject, data_type: DataType, order: WordOrder
) -> None:
    count = register_count(data_type)
    registers = data.draw(st.lists(registers_16, min_size=count, max_size=count))
    code = {"int32": ">i", "uint32": ">I", "int64": ">q", "uint64": ">Q", "float32": ">f", "float64": ">d"}
    (expected,) = struct.unpack(code[data_type], reference_value_bytes(registers, order))
    decoded = decode(registers, data_type, order)
    assert decoded == expected or (math.isnan(expected) and math.isnan(float(decoded)))


@settings(deadline=None)
@given(data=st.data(), data_type=st.sampled_from(list(INTEGER_LIMITS)), order=st.sampled_from(ORDERS))
def test_integers_round_trip(data: st.DataObject, data_type: DataType, order: WordOrder) -> None:
    low, high = INTEGER_LIMITS[data_type]
    value = data.draw(st.integers(low, high))
    registers = encode(value, data_type, order)
    assert all(0 <= r <= 0xFFFF for r in registers)
    assert len(registers) == register_count(data_type)
    assert decode(registers, data_type, order) == value


@settings(deadline=None)
@given(value=st.floats(width=32), order=st.sampled_from(ORDERS))
def test_float32_round_trips_including_nan_and_inf(value: float, order: WordOrder) -> None:
    decoded = decode(encode(value, "float32", order), "float32", order)
    assert decoded == value or (math.isnan(value) and math.isnan(float(decoded)))


@settings(deadline=None)
@given(value=st.floats(), order=st.sampled_from(ORDERS))
def test_float64_round_trips_including_nan_and_inf(value: float, order: WordOrder) -> None:
    decoded = decode(encode(value, "float64", order), "float64", order)
    assert decoded == value or (math.isnan(value) and math.isnan(float(decoded)))


@settings(deadline=None)
@given(
    text=st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=20),
    extra_registers=st.integers(0, 3),
    order=st.sampled_from(ORDERS),
)
def test_strings_round_trip(text: str, extra_registers: int, order: WordOrder) -> None:
    length = (len(text) + 1) // 2 + extra_registers or 1
    registers = encode(text, "string", order, length_registers=length)
    assert len(registers) == length
    assert decode(registers, "string", order) == text.rstrip("\x00 ")


@settings(deadline=None)
@given(value=st.integers(0, 1), bit=st.integers(0, 15), order=st.sampled_from(ORDERS))
def test_bits_round_trip(value: int, bit: int, order: WordOrder) -> None:
    assert decode(encode(value, "bit", order, bit=bit), "bit", order, bit=bit) == value


@settings(deadline=None)
@given(data=st.data(), data_type=st.sampled_from(NUMERIC_TYPES), order=st.sampled_from(ORDERS))
def test_registers_round_trip_through_their_value(
    data: st.DataObject, data_type: DataType, order: WordOrder
) -> None:
    count = register_count(data_type)
    registers = data.draw(st.lists(registers_16, min_size=count, max_size=count))
    value = decode(registers, data_type, order)
    if isinstance(value, float) and math.isnan(value):
        return  # NaN payloads are not kept (a float32 signalling NaN is quieted on the way to float64)
    assert encode(value, data_type, order) == registers


@settings(deadline=None)
@given(
    raw=st.integers(-32768, 32767),
    scale=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3),
    offset=st.floats(-1e6, 1e6),
)
def test_unscale_inverts_apply_scale_for_integers(raw: int, scale: float, offset: float) -> None:
    assert unscale(apply_scale(raw, scale, offset), scale, offset, "int16") == raw
