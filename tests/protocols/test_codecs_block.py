"""The block decoder: equal to the scalar codecs on generated layouts, and the quality rules by example."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.codecs import INTEGER_LIMITS, apply_scale, decode, encode, register_count
from protocols.codecs_block import BlockDecoder, FieldSpec
from protocols.errors import LocalProtocolError, RemoteProtocolError
from protocols.quality import Quality

SF = int(Quality.SENSOR_FAULT)
NA = int(Quality.NOT_AVAILABLE)
OOR = int(Quality.OUT_OF_RANGE)
REGISTER_TYPES = ("int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "bit")
ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")


def reference(words: list[int], fields: list[FieldSpec], bits: bool) -> tuple[list[float], list[int]]:
    """What the block decoder must return, one field at a time with the scalar codecs."""
    raws: list[float] = []
    for f in fields:
        count = 1 if bits else register_count(f.data_type)
        raw = decode(words[f.offset : f.offset + count], f.data_type, f.word_order, bit=f.bit)
        assert not isinstance(raw, str)
        raws.append(raw)
    values, qualities = [], []
    for f, raw in zip(fields, raws, strict=True):
        value = apply_scale(raw, f.scale, f.value_offset)
        missing = (f.nan_value is not None and raw == f.nan_value) or math.isnan(raw)
        faulty = (f.fault_flag is not None and raws[f.fault_flag] == 1) or (
            not missing and not math.isfinite(value)
        )
        if faulty or missing:
            values.append(math.nan)
            qualities.append(SF if faulty else NA)
        else:
            low, high = f.physical_range or (-math.inf, math.inf)
            values.append(value)
            qualities.append(0 if low <= value <= high else OOR)
    return values, qualities


def assert_decodes_like_reference(words: list[int], fields: list[FieldSpec], bits: bool = False) -> None:
    expected_values, expected_quality = reference(words, fields, bits)
    values, quality = BlockDecoder(fields, bits=bits).decode(words)
    assert values.dtype == np.float64
    assert quality.dtype == np.uint32
    np.testing.assert_array_equal(values, np.array(expected_values, dtype=np.float64))
    np.testing.assert_array_equal(quality, np.array(expected_quality, dtype=np.uint32))


@st.composite
def layouts(draw: st.DrawFn, bits: bool) -> tuple[list[int], list[FieldSpec]]:
    """Words and fields at any offsets (overlaps too: the decoder does not care), with every option."""
    n = draw(st.integers(0, 10))
    shapes = []
    for _ in range(n):
        data_type = "bool" if bits else draw(st.sampled_from(REGISTER_TYPES))
        shapes.append((data_type, draw(st.integers(0, 30))))
    end = max((offset + (1 if bits else register_count(t)) for t, offset in shapes), default=0)  # type: ignore[arg-type]
    word = st.integers(0, 1) if bits else st.integers(0, 0xFFFF)
    words = draw(st.lists(word, min_size=end, max_size=end + 3))
    fields = []
    for i, (data_type, offset) in enumerate(shapes):
        order = draw(st.sampled_from(ORDERS))
        bit = draw(st.integers(0, 15)) if data_type == "bit" else None
        nan_value = None
        if data_type in INTEGER_LIMITS:
            sentinel = draw(st.sampled_from(["none", "hit", "other"]))
            if sentinel == "hit":
                nan_value = decode(words[offset : offset + register_count(data_type)], data_type, order)  # type: ignore[arg-type]
            elif sentinel == "other":
                nan_value = draw(st.integers(*INTEGER_LIMITS[data_type]))
        others = [j for j in range(n) if j != i]
        fields.append(
            FieldSpec(
                offset=offset,
                data_type=data_type,  # type: ignore[arg-type]
                word_order=order,  # type: ignore[arg-type]
                bit=bit,
                scale=draw(st.just(1.0) | st.floats(-1e3, 1e3)),
                value_offset=draw(st.just(0.0) | st.floats(-1e6, 1e6)),
                nan_value=nan_value,  # type: ignore[arg-type]
                physical_range=draw(st.none() | ranges),
                fault_flag=draw(st.none() | st.sampled_from(others)) if others else None,
            )
        )
    return words, fields


ranges = st.tuples(st.floats(-1e5, 1e5), st.floats(1e-3, 1e5)).map(lambda r: (r[0], r[0] + r[1]))


@settings(deadline=None)
@given(layouts(bits=False))
def test_register_blocks_decode_like_the_scalar_codecs(layout: tuple[list[int], list[FieldSpec]]) -> None:
    assert_decodes_like_reference(*layout)


@settings(deadline=None)
@given(layouts(bits=True))
def test_bit_blocks_decode_like_the_scalar_codecs(layout: tuple[list[int], list[FieldSpec]]) -> None:
    assert_decodes_like_reference(*layout, bits=True)


@settings(deadline=None)
@given(layouts(bits=False), st.sampled_from([np.uint16, np.int64, np.uint32, np.dtype(">u2")]))
def test_numpy_blocks_decode_like_lists(layout: tuple[list[int], list[FieldSpec]], dtype: object) -> None:
    words, fields = layout
    decoder = BlockDecoder(fields)
    from_list = decoder.decode(words)
    from_array = decoder.decode(np.array(words, dtype=dtype))  # type: ignore[call-overload]
    np.testing.assert_array_equal(from_list[0], from_array[0])
    np.testing.assert_array_equal(from_list[1], from_array[1])


def test_every_type_in_every_order_in_one_block() -> None:
    fields: list[FieldSpec] = []
    words: list[int] = []
    for data_type in REGISTER_TYPES[:-1]:
        for order in ORDERS:
            value = -7 if data_type.startswith("int") else 123.5 if data_type.startswith("float") else 7
            fields.append(FieldSpec(len(words), data_type, order))  # type: ignore[arg-type]
            words += encode(value, data_type, order)  # type: ignore[arg-type]
    values, quality = BlockDecoder(fields).decode(words)
    expected = [
        -7 if f.data_type.startswith("int") else 123.5 if f.data_type.startswith("float") else 7
        for f in fields
    ]
    np.testing.assert_array_equal(values, expected)
    assert not quality.any()


def test_interleaved_types_come_back_in_field_order() -> None:
    fields = [
        FieldSpec(0, "uint16"),
        FieldSpec(1, "float32", "CDAB"),
        FieldSpec(3, "int16"),
        FieldSpec(4, "bit", bit=0),
    ]
    words = [11, *encode(2.5, "float32", "CDAB"), *encode(-3, "int16"), 1]
    values, _ = BlockDecoder(fields).decode(words)
    assert values.tolist() == [11, 2.5, -3, 1]


def test_scale_and_offset() -> None:
    fields = [
        FieldSpec(0, "int16", scale=0.1, value_offset=-40.0),
        FieldSpec(1, "uint32", "CDAB", scale=0.001),
    ]
    words = encode(653, "int16") + encode(1_234_567, "uint32", "CDAB")
    values, quality = BlockDecoder(fields).decode(words)
    assert values.tolist() == [653 * 0.1 - 40.0, 1_234_567 * 0.001]
    assert quality.tolist() == [0, 0]


def test_nan_sentinel_voids_the_value() -> None:
    fields = [FieldSpec(0, "uint16", nan_value=0xFFFF), FieldSpec(1, "int32", "CDAB", nan_value=0x7FFFFFFF)]
    values, quality = BlockDecoder(fields).decode([0xFFFF, 0xFFFF, 0x7FFF])
    assert np.isnan(values).all()
    assert quality.tolist() == [NA, NA]
    values, quality = BlockDecoder(fields).decode([0xFFFE, 0xFFFF, 0x7FFE])
    assert values.tolist() == [0xFFFE, 0x7FFEFFFF]
    assert quality.tolist() == [0, 0]


def test_int64_sentinel_is_compared_exactly_not_as_a_float() -> None:
    sentinel = 2**62 + 1  # float64 cannot tell it from 2**62
    fields = [FieldSpec(0, "int64", nan_value=sentinel)]
    _, quality = BlockDecoder(fields).decode(encode(2**62, "int64"))
    assert quality.tolist() == [0]
    _, quality = BlockDecoder(fields).decode(encode(sentinel, "int64"))
    assert quality.tolist() == [NA]


@pytest.mark.parametrize(("value", "flag"), [(math.nan, NA), (math.inf, SF), (-math.inf, SF)])
def test_decoded_nan_is_not_available_and_infinity_a_sensor_fault(value: float, flag: int) -> None:
    fields = [FieldSpec(0, "float32", "DCBA"), FieldSpec(2, "float64", "BADC")]
    values, quality = BlockDecoder(fields).decode(
        encode(value, "float32", "DCBA") + encode(value, "float64", "BADC")
    )
    assert np.isnan(values).all()
    assert quality.tolist() == [flag, flag]


def test_scaling_that_overflows_is_a_sensor_fault() -> None:
    values, quality = BlockDecoder([FieldSpec(0, "float64", scale=10.0)]).decode(encode(1e308, "float64"))
    assert np.isnan(values[0])
    assert quality.tolist() == [SF]


def test_infinity_times_a_zero_scale_is_a_sensor_fault() -> None:
    fields = [FieldSpec(0, "float32", scale=0.0), FieldSpec(2, "float32", scale=0.0)]
    values, quality = BlockDecoder(fields).decode(encode(math.inf, "float32") + encode(3.0, "float32"))
    assert np.isnan(values[0])
    assert values[1] == 0.0
    assert quality.tolist() == [SF, 0]


def test_physical_range_flags_but_keeps_the_value() -> None:
    fields = [FieldSpec(i, "int16", physical_range=(-10.0, 100.0)) for i in range(5)]
    values, quality = BlockDecoder(fields).decode([*encode(-11, "int16"), 0, 100, 101, *encode(-10, "int16")])
    assert values.tolist() == [-11, 0, 100, 101, -10]
    assert quality.tolist() == [OOR, 0, 0, OOR, 0]  # the bounds themselves are in range


def test_a_missing_value_is_not_also_out_of_range() -> None:
    fields = [FieldSpec(0, "uint16", nan_value=0xFFFF, physical_range=(0.0, 10.0))]
    _, quality = BlockDecoder(fields).decode([0xFFFF])
    assert quality.tolist() == [NA]


def test_a_raised_fault_flag_wins_over_a_sentinel() -> None:
    """The device says the sensor is broken: that is more than "no value now"."""
    fields = [FieldSpec(0, "bit", bit=0), FieldSpec(1, "int16", nan_value=0x7FFF, fault_flag=0)]
    _, quality = BlockDecoder(fields).decode([1, 0x7FFF])
    assert quality.tolist() == [0, SF]
    _, quality = BlockDecoder(fields).decode([0, 0x7FFF])
    assert quality.tolist() == [0, NA]


def test_fault_flag_voids_the_value_it_guards() -> None:
    fields = [
        FieldSpec(0, "bit", bit=2),  # the device's "sensor 1 failed" status bit
        FieldSpec(1, "float32", fault_flag=0),
        FieldSpec(3, "float32", fault_flag=0, physical_range=(0.0, 1.0)),
    ]
    values, quality = BlockDecoder(fields).decode([0b100, *encode(2.5, "float32"), *encode(0.5, "float32")])
    assert values[0] == 1
    assert np.isnan(values[1:]).all()
    assert quality.tolist() == [0, SF, SF]
    values, quality = BlockDecoder(fields).decode([0b011, *encode(2.5, "float32"), *encode(0.5, "float32")])
    assert values.tolist() == [0, 2.5, 0.5]
    assert quality.tolist() == [0, 0, 0]


def test_fault_flag_uses_the_raw_value_not_the_scaled_one() -> None:
    fields = [FieldSpec(0, "uint16", scale=10.0), FieldSpec(1, "uint16", fault_flag=0)]
    _, quality = BlockDecoder(fields).decode([1, 5])
    assert quality.tolist() == [0, SF]


def test_coils_from_the_modbus_specification_example() -> None:
    # Read coils 20-38 (application protocol 6.1): status bytes CD 6B 05, unpacked LSB first, as
    # pymodbus returns them (padded to whole bytes).
    bits = [1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0]
    fields = [FieldSpec(i, "bool") for i in range(19)]
    values, quality = BlockDecoder(fields, bits=True).decode([bool(b) for b in bits])
    assert values.tolist() == bits[:19]
    assert not quality.any()
    values, _ = BlockDecoder(fields, bits=True).decode(np.array(bits, dtype=np.bool_))
    assert values.tolist() == bits[:19]


def test_words_past_the_fields_are_ignored_and_results_are_fresh() -> None:
    decoder = BlockDecoder([FieldSpec(1, "uint16")])
    assert decoder.min_length == 2
    first, _ = decoder.decode([0, 7, 70000])  # the unused third register is not even checked
    second, _ = decoder.decode([0, 8])
    assert first.tolist() == [7]
    assert second.tolist() == [8]


def test_an_empty_field_list_decodes_nothing() -> None:
    values, quality = BlockDecoder([]).decode([1, 2, 3])
    assert values.shape == quality.shape == (0,)


@pytest.mark.parametrize(
    ("fields", "bits", "words", "error", "message"),
    [
        (
            [FieldSpec(2, "int32")],
            False,
            [1, 2, 3],
            RemoteProtocolError,
            "has 3 registers; its fields need 4",
        ),
        ([FieldSpec(0, "bool")], True, [], RemoteProtocolError, "has 0 bits; its fields need 1"),
        ([FieldSpec(0, "int32")], False, [1, 70000], RemoteProtocolError, "register 1 of the block is 70000"),
        ([FieldSpec(0, "int32")], False, [-1, 0], RemoteProtocolError, "register 0 of the block is -1"),
        ([FieldSpec(0, "int32")], False, [1.5, 0], RemoteProtocolError, "register 0 of the block is 1.5"),
        ([FieldSpec(0, "int32")], False, np.array([1, 70000]), RemoteProtocolError, "register 1 .* 70000"),
        ([FieldSpec(0, "int32")], False, np.array([1.0, 2.0]), LocalProtocolError, "array of integers"),
        ([FieldSpec(0, "int32")], False, np.zeros((2, 2), np.uint16), LocalProtocolError, "2-d"),
        (
            [FieldSpec(1, "bool")],
            True,
            [0, 2],
            RemoteProtocolError,
            "bit 1 of the block is 2: a bit holds 0-1",
        ),
        ([FieldSpec(1, "bool")], True, [0, 300], RemoteProtocolError, "bit 1 of the block is 300"),
        ([FieldSpec(1, "bool")], True, np.array([0, 2]), RemoteProtocolError, "bit 1 of the block is 2"),
    ],
)
def test_bad_blocks_are_clear_errors(
    fields: list[FieldSpec], bits: bool, words: object, error: type[Exception], message: str
) -> None:
    decoder = BlockDecoder(fields, bits=bits)
    with pytest.raises(error, match=message):
        decoder.decode(words)  # type: ignore[arg-type]


def test_bad_fields_are_all_named_at_once() -> None:
    fields = [
        FieldSpec(-1, "string"),
        FieldSpec(0, "bit"),
        FieldSpec(0, "float32", "ABDC", nan_value=3, physical_range=(5.0, 1.0), fault_flag=2),  # type: ignore[arg-type]
        FieldSpec(0, "int16", scale=math.inf, nan_value=40000, fault_flag=7),
        FieldSpec(0, "bool"),
        FieldSpec(0, "uint16", bit=3),
    ]
    with pytest.raises(LocalProtocolError) as caught:
        BlockDecoder(fields)
    assert str(caught.value).splitlines() == [
        "bad block fields:",
        "fields[0].data_type: strings are not readings: decode them with protocols.codecs.decode",
        "fields[0].offset: must be an integer >= 0 (got -1)",
        "fields[1].bit: type bit needs bit 0-15 (0 = least significant), got None",
        "fields[2].word_order: unknown word order 'ABDC'",
        "fields[2].nan_value: a nan sentinel is a raw integer; float32 has none",
        "fields[2].physical_range: min must be below max (got 5.0, 1.0)",
        "fields[2].fault_flag: must be the index of another field, 0-5 (got 2)",
        "fields[3].scale: must be finite (got inf)",
        "fields[3].nan_value: 40000 does not fit int16",
        "fields[3].fault_flag: must be the index of another field, 0-5 (got 7)",
        "fields[4].data_type: bool is for coil and discrete blocks; one bit of a register is type bit",
        "fields[5].bit: bit is only for type bit (this value is uint16)",
    ]


def test_bit_blocks_hold_only_bools() -> None:
    with pytest.raises(
        LocalProtocolError, match=r"fields\[0\].data_type: a coil or discrete block holds bool"
    ):
        BlockDecoder([FieldSpec(0, "uint16")], bits=True)
