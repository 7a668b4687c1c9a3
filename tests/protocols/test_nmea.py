"""NMEA 0183: the framer's counters, every split of the stream, real receivers' sentences, GGA and RMC."""

from __future__ import annotations

import re
from datetime import UTC, date, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.errors import FrameError, LocalProtocolError
from protocols.framing import NEED_DATA
from protocols.nmea import (
    Gga,
    NmeaFramer,
    NmeaSentence,
    build_sentence,
    checksum,
    format_gga,
    format_rmc,
    parse_gga,
    parse_rmc,
    verify,
)
from tests.protocols.streams import chunkings, every_two_way_split

# Real receivers' output, as printed in their manuals and tutorials (checksums as published).
GGA_TEXTBOOK = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"
RMC_TEXTBOOK = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A"
GGA_ADAFRUIT = b"$GPGGA,092750.000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,*76"
RMC_ADAFRUIT = b"$GPRMC,092750.000,A,5321.6802,N,00630.3372,W,0.02,31.66,280511,,,A*43"
GGA_UBLOX = b"$GNGGA,001043.00,4404.14036,N,12118.85961,W,1,12,0.98,1113.0,M,-21.3,M,,*47"
RMC_UBLOX = b"$GNRMC,001031.00,A,4404.13993,N,12118.86023,W,0.146,,100117,,,A*7B"
GGA_NO_FIX = b"$GPGGA,,,,,,0,00,99.99,,,,,,*48"
RMC_NO_FIX = b"$GPRMC,,V,,,,,,,,,,N*53"
GGA_TRIMBLE_DGPS = b"$GPGGA,172814.0,3723.46587704,N,12202.26957864,W,2,6,1.2,18.893,M,-25.669,M,2.0,0031*4F"
GGA_NOVATEL_RTK_FLOAT = b"$GPGGA,202530.00,5109.0262,N,11401.8407,W,5,40,0.5,1097.36,M,-17.00,M,18,TSTR*61"
PUBX_UBLOX = (
    b"$PUBX,00,081350.00,4717.113210,N,00833.915187,E,546.589,G3,2.1,2.0,0.007,77.52,0.007,,"
    b"0.92,1.19,0.77,9,0,0*5F"
)
REAL = [
    GGA_TEXTBOOK, RMC_TEXTBOOK, GGA_ADAFRUIT, RMC_ADAFRUIT, GGA_UBLOX, RMC_UBLOX, GGA_NO_FIX, RMC_NO_FIX,
    GGA_TRIMBLE_DGPS, GGA_NOVATEL_RTK_FLOAT, PUBX_UBLOX,
]  # fmt: skip
ZERO = dict.fromkeys(
    (
        "sentences", "bytes_fed", "garbage_bytes", "bad_checksum", "no_checksum", "overlong",
        "not_a_sentence", "partial",
    ),
    0,
)  # fmt: skip


def drain(framer: NmeaFramer) -> list[NmeaSentence]:
    out: list[NmeaSentence] = []
    for _ in range(100_000):
        sentence = framer.next_sentence()
        if sentence is NEED_DATA:
            return out
        out.append(sentence)
    raise AssertionError("next_sentence never returned NEED_DATA")


def run(chunks: list[bytes], *, require_checksum: bool = True, max_line_bytes: int = 128):
    framer = NmeaFramer(max_line_bytes, require_checksum=require_checksum)
    out = []
    for chunk in chunks:
        framer.feed(chunk)
        assert framer.buffered_bytes <= max_line_bytes + 1
        out += drain(framer)
    framer.close()
    return out, framer.statistics()


def sentence_of(raw: bytes) -> NmeaSentence:
    problem, sentence = verify(raw)
    assert sentence is not None, problem
    return sentence


def with_checksum(body: bytes, start: bytes = b"$") -> bytes:
    return b"%s%s*%02X" % (start, body, checksum(body))


def test_real_receivers_sentences_pass_and_split_into_talker_kind_fields() -> None:
    sentences, stats = run([b"\r\n".join(REAL) + b"\r\n"])
    assert [(s.talker, s.kind) for s in sentences] == [
        ("GP", "GGA"), ("GP", "RMC"), ("GP", "GGA"), ("GP", "RMC"), ("GN", "GGA"), ("GN", "RMC"),
        ("GP", "GGA"), ("GP", "RMC"), ("GP", "GGA"), ("GP", "GGA"), ("P", "UBX"),
    ]  # fmt: skip
    assert sentences[0].fields == (
        "123519", "4807.038", "N", "01131.000", "E", "1", "08", "0.9", "545.4", "M", "46.9", "M", "", "",
    )  # fmt: skip
    assert stats == ZERO | {"sentences": len(REAL), "bytes_fed": stats["bytes_fed"]}


GOOD = GGA_TEXTBOOK + b"\r\n"
CASES = {
    # name: (stream, sentences expected, changed counters), require_checksum on, max_line_bytes 128
    "crlf": (GOOD, 1, {}),
    "lf only": (GGA_TEXTBOOK + b"\n", 1, {}),
    "cr only": (GGA_TEXTBOOK + b"\r", 1, {}),
    "lf cr": (GGA_TEXTBOOK + b"\n\r" + GOOD, 2, {}),
    "blank lines are not garbage": (b"\r\n\r\n" + GOOD + b"\n\n", 1, {}),
    "garbage before the start": (b"\x00\xffboot v1.2 " + GOOD, 1, {"garbage_bytes": 12}),
    "garbage between sentences": (GOOD + b"~~~" + GOOD, 2, {"garbage_bytes": 3}),
    "lower-case checksum hex": (RMC_TEXTBOOK[:-2] + b"6a\r\n", 1, {}),
    "bad checksum": (GGA_TEXTBOOK[:-2] + b"48\r\n" + GOOD, 1, {"bad_checksum": 1}),
    "flipped bit in a field": (GGA_TEXTBOOK.replace(b"545.4", b"545.5") + b"\r\n", 0, {"bad_checksum": 1}),
    "one checksum digit": (GGA_TEXTBOOK[:-1] + b"\r\n", 0, {"bad_checksum": 1}),
    "checksum not hex": (GGA_TEXTBOOK[:-2] + b"4G\r\n", 0, {"bad_checksum": 1}),
    "no checksum": (GGA_TEXTBOOK[:-3] + b"\r\n" + GOOD, 1, {"no_checksum": 1}),
    "non-ascii byte": (with_checksum(b"GPTXT,caf\xe9") + b"\r\n" + GOOD, 1, {"not_a_sentence": 1}),
    "control byte": (with_checksum(b"GPTXT,a\x07b") + b"\r\n", 0, {"not_a_sentence": 1}),
    "two stars": (with_checksum(b"GPTXT,a*b") + b"\r\n", 0, {"bad_checksum": 1}),
    "lower-case address": (with_checksum(b"gpgga,1") + b"\r\n", 0, {"not_a_sentence": 1}),
    "address too short": (with_checksum(b"GP,1") + b"\r\n", 0, {"not_a_sentence": 1}),
    "empty sentence": (b"$*00\r\n", 0, {"not_a_sentence": 1}),
    "bare start": (b"$\r\n", 0, {"no_checksum": 1}),
    "cut short by a new start": (b"$GPGGA,1235" + GOOD, 1, {"not_a_sentence": 1}),
    "overlong": (b"$GPTXT," + b"x" * 200 + b"*00\r\n" + GOOD, 1, {"overlong": 1}),
    "overlong cut by a new start": (b"$GPTXT," + b"x" * 200 + GOOD, 1, {"overlong": 1}),
    "exclamation start": (with_checksum(b"AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0", b"!") + b"\r\n", 1, {}),
    "unfinished at close": (GOOD + GGA_TEXTBOOK[:30], 1, {"partial": 1}),
    "unfinished overlong at close": (b"$GPTXT," + b"x" * 200, 0, {"overlong": 1}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(name: str) -> None:
    stream, count, changed = CASES[name]
    sentences, stats = run([stream])
    assert len(sentences) == count
    assert all(s.kind in ("GGA", "RMC", "VDM") for s in sentences)
    assert stats == ZERO | {"sentences": count, "bytes_fed": len(stream)} | changed
    for chunks in every_two_way_split(stream):
        assert run(chunks) == (sentences, stats), chunks


def test_checksum_may_be_left_out_when_not_required() -> None:
    sentences, stats = run([GGA_TEXTBOOK[:-3] + b"\r\n"], require_checksum=False)
    assert sentences == [sentence_of(GGA_TEXTBOOK)]
    assert stats["no_checksum"] == 0
    assert run([GGA_TEXTBOOK[:-1] + b"0\r\n"], require_checksum=False)[1]["bad_checksum"] == 1


def test_max_line_bytes_counts_start_through_checksum() -> None:
    length = len(GGA_TEXTBOOK)
    assert run([GOOD], max_line_bytes=length)[1]["sentences"] == 1
    assert run([GOOD], max_line_bytes=length - 1)[1]["overlong"] == 1


def test_misuse_is_local() -> None:
    framer = NmeaFramer()
    framer.close()
    with pytest.raises(LocalProtocolError, match="after close"):
        framer.feed(GOOD)
    with pytest.raises(LocalProtocolError):
        NmeaFramer(max_line_bytes=4)


# A stream of valid sentences with garbage (no start characters) between them.
FIELD_TEXT = st.text(st.sampled_from("0123456789.ABCNSEWM- "), max_size=12)
SENTENCES = st.builds(
    build_sentence,
    st.sampled_from(["GP", "GN", "GL", "P"]),
    st.sampled_from(["GGA", "RMC", "GSA", "TXT"]),
    st.lists(FIELD_TEXT, max_size=6),
)
GARBAGE = st.binary(max_size=12).map(lambda b: b.replace(b"$", b"").replace(b"!", b""))


@settings(deadline=None)
@given(
    pieces=st.lists(st.tuples(GARBAGE, SENTENCES, st.sampled_from([b"\r\n", b"\n", b"\r"])), max_size=8),
    data=st.data(),
)
def test_any_chunking_of_a_valid_stream_yields_its_sentences(pieces, data: st.DataObject) -> None:
    stream = b"".join(g + s.rstrip(b"\r\n") + end for g, s, end in pieces)
    # Garbage that ends in CR/LF or contains them only ends lines; any other byte before a start is garbage.
    sentences, stats = run(data.draw(chunkings(stream)))
    assert sentences == [sentence_of(s.rstrip(b"\r\n")) for _, s, _ in pieces]
    garbage = b"".join(g for g, _, _ in pieces)
    assert stats["garbage_bytes"] == len(garbage) - garbage.count(b"\r") - garbage.count(b"\n")
    assert stats == ZERO | {
        "sentences": len(pieces),
        "bytes_fed": len(stream),
        "garbage_bytes": stats["garbage_bytes"],
    }


NOISY = st.lists(
    st.one_of(SENTENCES, st.binary(max_size=40), st.sampled_from([b"$", b"!", b"*", b"\r", b"\n", b"*4"])),
    max_size=20,
).map(b"".join)


@settings(deadline=None)
@given(stream=NOISY, data=st.data())
def test_any_chunking_of_a_noisy_stream_gives_the_same_result(stream: bytes, data: st.DataObject) -> None:
    assert run(data.draw(chunkings(stream)), max_line_bytes=40) == run([stream], max_line_bytes=40)


@settings(deadline=None)
@given(stream=st.binary(max_size=3000), size=st.integers(1, 700))
def test_random_garbage_never_raises_and_stays_within_the_bound(stream: bytes, size: int) -> None:
    chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
    _, stats = run(chunks, max_line_bytes=82)  # run() asserts the bound after every feed
    assert stats["bytes_fed"] == len(stream)


# ---- GGA and RMC -------------------------------------------------------------------------------------


def test_parse_gga_textbook() -> None:
    gga = parse_gga(sentence_of(GGA_TEXTBOOK))
    assert gga.latitude_deg == pytest.approx(48 + 7.038 / 60, abs=1e-12)
    assert gga.longitude_deg == pytest.approx(11 + 31.0 / 60, abs=1e-12)
    assert gga == Gga(
        utc_time=time(12, 35, 19, tzinfo=UTC),
        latitude_deg=gga.latitude_deg,
        longitude_deg=gga.longitude_deg,
        fix_quality=1,
        satellites=8,
        hdop=0.9,
        altitude_m=545.4,
        geoid_separation_m=46.9,
    )


def test_parse_gga_rtk_western_negative_geoid() -> None:
    gga = parse_gga(sentence_of(GGA_NOVATEL_RTK_FLOAT))
    assert gga.fix_quality == 5
    assert gga.satellites == 40
    assert gga.latitude_deg == pytest.approx(51 + 9.0262 / 60, abs=1e-12)
    assert gga.longitude_deg == pytest.approx(-(114 + 1.8407 / 60), abs=1e-12)
    assert gga.geoid_separation_m == -17.0
    assert gga.utc_time == time(20, 25, 30, tzinfo=UTC)
    trimble = parse_gga(sentence_of(GGA_TRIMBLE_DGPS))
    assert trimble.latitude_deg == pytest.approx(37 + 23.46587704 / 60, abs=1e-13)
    assert trimble.utc_time == time(17, 28, 14, tzinfo=UTC)


def test_parse_gga_without_fix_has_empty_values() -> None:
    gga = parse_gga(sentence_of(GGA_NO_FIX))
    assert gga == Gga(None, None, None, 0, 0, 99.99, None, None)


def test_parse_rmc() -> None:
    rmc = parse_rmc(sentence_of(RMC_TEXTBOOK))
    assert rmc.status == "A"
    assert rmc.date == date(1994, 3, 23)
    assert rmc.speed_m_s == pytest.approx(22.4 * 1852 / 3600)
    assert rmc.course_deg == 84.4
    assert rmc.mode is None
    ublox = parse_rmc(sentence_of(RMC_UBLOX))
    assert (ublox.date, ublox.course_deg, ublox.mode) == (date(2017, 1, 10), None, "A")
    assert ublox.utc_time == time(0, 10, 31, tzinfo=UTC)
    void = parse_rmc(sentence_of(RMC_NO_FIX))
    assert (void.status, void.latitude_deg, void.speed_m_s, void.date, void.mode) == (
        "V",
        None,
        None,
        None,
        "N",
    )


def gga_fields(**changed: str) -> list[str]:
    names = [
        "time",
        "lat",
        "ns",
        "lon",
        "ew",
        "fix",
        "sats",
        "hdop",
        "alt",
        "alt_unit",
        "geoid",
        "geoid_unit",
    ]
    fields = dict(zip(names, sentence_of(GGA_TEXTBOOK).fields, strict=False)) | changed
    return list(fields.values())


@pytest.mark.parametrize(
    ("changed", "blamed"),
    [
        ({"time": "1235"}, "GGA.utc_time"),
        ({"time": "246000"}, "GGA.utc_time"),
        ({"time": "12a519"}, "GGA.utc_time"),
        ({"lat": "48O7.038"}, "GGA.latitude"),
        ({"lat": "4867.038"}, "GGA.latitude"),  # 67 minutes
        ({"lat": "9107.038"}, "GGA.latitude"),  # 91 degrees
        ({"lat": ""}, "GGA.latitude"),  # a hemisphere without a coordinate
        ({"ns": "X"}, "GGA.latitude hemisphere"),
        ({"ns": ""}, "GGA.latitude hemisphere"),
        ({"lon": "18131.000"}, "GGA.longitude"),
        ({"ew": "N"}, "GGA.longitude hemisphere"),
        ({"fix": "9"}, "GGA.fix_quality"),
        ({"fix": "-1"}, "GGA.fix_quality"),
        ({"sats": "eight"}, "GGA.satellites"),
        ({"hdop": "0;9"}, "GGA.hdop"),
        ({"hdop": "nan"}, "GGA.hdop"),
        ({"alt": "1e3"}, "GGA.altitude_m"),
        ({"alt_unit": "F"}, "GGA.altitude_m unit"),
        ({"geoid": "46.9.1"}, "GGA.geoid_separation_m"),
    ],
)
def test_malformed_gga_field_is_a_frame_error_naming_the_field(changed: dict[str, str], blamed: str) -> None:
    sentence = sentence_of(build_sentence("GP", "GGA", gga_fields(**changed)).rstrip(b"\r\n"))
    with pytest.raises(FrameError, match=f"^{re.escape(blamed)}: "):
        parse_gga(sentence)


@pytest.mark.parametrize(
    ("index", "text", "blamed"),
    [
        (1, "X", "RMC.status"),
        (6, "fast", "RMC.speed_knots"),
        (8, "310294", "RMC.date"),
        (8, "2303", "RMC.date"),
    ],
)
def test_malformed_rmc_field_is_a_frame_error_naming_the_field(index: int, text: str, blamed: str) -> None:
    fields = list(sentence_of(RMC_TEXTBOOK).fields)
    fields[index] = text
    with pytest.raises(FrameError, match=f"^{re.escape(blamed)}: "):
        parse_rmc(NmeaSentence("GP", "RMC", tuple(fields)))


def test_too_few_fields_is_a_frame_error_and_the_wrong_kind_is_misuse() -> None:
    with pytest.raises(FrameError, match="GGA: 5 fields, expected at least 11"):
        parse_gga(NmeaSentence("GP", "GGA", ("123519", "4807.038", "N", "01131.000", "E")))
    with pytest.raises(LocalProtocolError, match="parse_gga was given a RMC sentence"):
        parse_gga(sentence_of(RMC_TEXTBOOK))
    with pytest.raises(LocalProtocolError, match="parse_rmc was given a GGA sentence"):
        parse_rmc(sentence_of(GGA_TEXTBOOK))


# ---- building sentences ------------------------------------------------------------------------------


def test_build_sentence_reproduces_real_sentences() -> None:
    for raw in REAL:
        s = sentence_of(raw)
        assert build_sentence(s.talker, s.kind, s.fields) == raw + b"\r\n"


@pytest.mark.parametrize("field", ["a,b", "a*b", "$", "!", "a\r", "caf\xe9", "\x00", "^", "~"])
def test_build_sentence_refuses_reserved_characters(field: str) -> None:
    with pytest.raises(LocalProtocolError, match="field 1"):
        build_sentence("GP", "TXT", ["ok", field])


def test_build_sentence_refuses_a_bad_address() -> None:
    with pytest.raises(LocalProtocolError, match="address"):
        build_sentence("gp", "GGA", [])


def test_format_gga_writes_proper_fields() -> None:
    fields = format_gga(
        utc_time=time(12, 35, 19, 999_999, tzinfo=UTC),
        latitude_deg=-(48 + 7.038 / 60),
        longitude_deg=-(11 + 31.0 / 60),
        fix_quality=4,
        satellites=8,
        hdop=0.9,
        altitude_m=545.4,
        geoid_separation_m=-3.45,
    )
    assert fields == (
        "123519.99", "4807.0380000", "S", "01131.0000000", "W", "4", "08", "0.9", "545.400", "M", "-3.450",
        "M", "", "",
    )  # fmt: skip
    assert len(build_sentence("GN", "GGA", fields)) <= 82  # the standard's limit, CR LF included


def test_format_rmc_writes_proper_fields() -> None:
    fields = format_rmc(
        utc_time=time(12, 35, 19, tzinfo=UTC), status="A", latitude_deg=48.1173, longitude_deg=11.5166667,
        speed_m_s=22.4 * 1852 / 3600, course_deg=84.4, date=date(1994, 3, 23), mode="R",
    )  # fmt: skip
    assert fields == (
        "123519.00", "A", "4807.0380000", "N", "01131.0000020", "E", "22.400", "84.40", "230394", "", "", "R",
    )  # fmt: skip
    empty = format_rmc(utc_time=None, status="V", latitude_deg=None, longitude_deg=None)
    assert parse_rmc(NmeaSentence("GN", "RMC", empty)).latitude_deg is None


@settings(deadline=None)
@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    alt=st.floats(-500, 9000).map(lambda x: round(x, 3)),
    fix=st.integers(0, 8),
    sats=st.integers(0, 99),
    micros=st.integers(0, 86_400 * 10**6 - 1),
)
def test_gga_round_trips_through_text_to_a_fraction_of_a_millimetre(lat, lon, alt, fix, sats, micros) -> None:
    seconds, micro = divmod(micros, 10**6)
    utc = time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro // 10_000 * 10_000, tzinfo=UTC)
    raw = build_sentence(
        "GN",
        "GGA",
        format_gga(
            utc_time=utc, latitude_deg=lat, longitude_deg=lon, fix_quality=fix, satellites=sats,
            altitude_m=alt,
        ),
    )  # fmt: skip
    sentences, _ = run([raw])
    gga = parse_gga(sentences[0])
    # 7 decimals of minutes: 0.5e-7 minute of latitude is 0.09 mm.
    assert gga.latitude_deg == pytest.approx(lat, abs=0.5e-7 / 60 + 1e-12)
    assert gga.longitude_deg == pytest.approx(lon, abs=0.5e-7 / 60 + 1e-12)
    assert (gga.utc_time, gga.fix_quality, gga.satellites, gga.altitude_m) == (utc, fix, sats, alt)
