"""LineDecoder: named groups to scaled values, every counter path, encodings, and any split of the stream."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.config import parse_profile
from protocols.errors import LocalProtocolError
from protocols.framing import NEED_DATA
from protocols.lineproto import LineDecoder
from protocols.profile import LinePoint, LineProfile, LineSettings
from tests.protocols.streams import chunkings, every_two_way_split

WEATHER = LineSettings(
    pattern=r"T=(?P<temp>\S+) RH=(?P<rh>\S+)(?: P=(?P<p>\S+))?", delimiter="\r\n", max_line_bytes=40
)
WEATHER_POINTS = (
    LinePoint(name="temp", unit="degC"),
    LinePoint(name="rh", unit="%"),
    LinePoint(name="pressure", unit="kPa", group="p", scale=0.1),  # the station prints hPa
)
ZERO = {
    "lines": 0, "overlong": 0, "partial": 0, "bytes_fed": 0, "bytes_discarded": 0,
    "decoded": 0, "undecodable": 0, "unmatched": 0, "bad_number": 0,
}  # fmt: skip


def drain(decoder: LineDecoder) -> list[dict[str, float]]:
    out: list[dict[str, float]] = []
    for _ in range(100_000):
        values = decoder.next_values()
        if values is NEED_DATA:
            return out
        out.append(values)
    raise AssertionError("next_values never returned NEED_DATA")


def run(chunks: list[bytes], settings: LineSettings = WEATHER, points=WEATHER_POINTS):
    decoder = LineDecoder(settings, points)
    out = []
    for chunk in chunks:
        decoder.feed(chunk)
        out += drain(decoder)
    decoder.close()
    return out, decoder.statistics()


CASES = {
    # name: (stream, values, changed counters)
    "all groups": (
        b"T=21.4 RH=55 P=1013.2\r\n",
        [{"temp": 21.4, "rh": 55.0, "pressure": pytest.approx(101.32)}], {"lines": 1, "decoded": 1},
    ),
    "optional group absent": (b"T=-3 RH=90\r\n", [{"temp": -3.0, "rh": 90.0}], {"lines": 1, "decoded": 1}),
    "numbers as sensors print them": (
        b"T=+.5 RH=1e1 P=0010.\r\n", [{"temp": 0.5, "rh": 10.0, "pressure": 1.0}], {"lines": 1, "decoded": 1},
    ),
    "one bad number keeps the others": (
        b"T=nan RH=55\r\n", [{"rh": 55.0}], {"lines": 1, "decoded": 1, "bad_number": 1},
    ),
    "only bad numbers: line skipped": (
        b"T=-- RH=1_000\r\nT=1 RH=2\r\n", [{"temp": 1.0, "rh": 2.0}],
        {"lines": 2, "decoded": 1, "bad_number": 2},
    ),
    "infinity is not a reading": (b"T=inf RH=-Infinity\r\n", [], {"lines": 1, "bad_number": 2}),
    "unmatched": (b"boot v2.1\r\nT=1 RH=2\r\n", [{"temp": 1.0, "rh": 2.0}], {"lines": 2, "decoded": 1, "unmatched": 1}),
    "pattern found inside the line": (b"#07 T=1 RH=2 OK\r\n", [{"temp": 1.0, "rh": 2.0}], {"lines": 1, "decoded": 1}),
    "undecodable": (b"T=\xb021 RH=2\r\n", [], {"lines": 1, "undecodable": 1}),
    "empty line": (b"\r\n", [], {"lines": 1, "unmatched": 1}),
    "overlong": (
        b"T=1 RH=2 " + b"x" * 40 + b"\r\nT=3 RH=4\r\n", [{"temp": 3.0, "rh": 4.0}],
        {"lines": 1, "decoded": 1, "overlong": 1, "bytes_discarded": 51},
    ),
    "partial at close": (b"T=1 RH=2\r\nT=3 R", [{"temp": 1.0, "rh": 2.0}],
        {"lines": 1, "decoded": 1, "partial": 1, "bytes_discarded": 5},
    ),
    "lf alone does not end a crlf line": (b"T=1 RH=2\nT=3 RH=4\r\n", [{"temp": 1.0, "rh": 2.0}], {"lines": 1, "decoded": 1}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(name: str) -> None:
    stream, want_values, changed = CASES[name]
    values, stats = run([stream])
    assert values == want_values
    assert stats == ZERO | {"bytes_fed": len(stream)} | changed
    for chunks in every_two_way_split(stream):
        assert run(chunks) == (values, stats), chunks


def test_delimiter_from_yaml_arrives_as_real_control_characters() -> None:
    settings = LineSettings.model_validate(
        yaml.safe_load('pattern: "L=(?P<level>[0-9.]+)m"\ndelimiter: "\\r"\npoll_command: "?L\\r"')
    )
    assert settings.delimiter == "\r"
    decoder = LineDecoder(settings, [LinePoint(name="level", unit="m", scale=1000.0)])
    assert decoder.poll_bytes == b"?L\r"
    decoder.feed(b"L=1.25m\rL=1.5m\r\n")
    assert drain(decoder) == [{"level": 1250.0}, {"level": 1500.0}]
    decoder.feed(b"\r")  # the LF after the CR began the next line, which does not match
    assert drain(decoder) == []
    assert decoder.statistics()["unmatched"] == 1


def test_the_shipped_ascii_weather_profile_reads_its_datasheet_lines() -> None:
    path = Path(__file__).resolve().parents[2] / "hw_profiles" / "weather_sensor_ascii.yaml"
    profile = parse_profile(path.read_text(), str(path))
    assert isinstance(profile, LineProfile)
    decoder = LineDecoder(profile.line, profile.points)
    assert decoder.poll_bytes == b"0R0\r\n"
    decoder.feed(b"0R0,Dm=027D,Sm=3.1M,Ta=23.5C,Ua=31.2P,Pa=1012.3H,Rc=12.40M\r\n")
    decoder.feed(b"0R0,Dm=027D,Sm=0.0#,Ta=#,Ua=31.2P,Pa=1012.3H,Rc=12.40M\r\n")  # two fields unmeasured
    full, partial = drain(decoder)
    assert full == {
        "wind_direction": 27.0, "wind_speed": 3.1, "air_temperature": 23.5, "humidity": 31.2,
        "pressure": 1012.3, "rain_total": 12.4,
    }  # fmt: skip
    assert partial == {k: v for k, v in full.items() if k not in ("wind_speed", "air_temperature")}
    assert decoder.statistics()["bad_number"] == 0


def test_scale_and_offset_are_applied_to_the_raw_number() -> None:
    settings = LineSettings(pattern=r"^(?P<raw>\d+)$", delimiter="\n")
    points = [LinePoint(name="current_ma", unit="mA", group="raw", scale=0.01, offset=4.0)]
    assert run([b"1600\n"], settings, points)[0] == [{"current_ma": pytest.approx(20.0)}]


@pytest.mark.parametrize(("encoding", "decoded"), [("utf-8", 1), ("latin-1", 0), ("ascii", 0)])
def test_encoding_is_the_profiles(encoding: str, decoded: int) -> None:
    settings = LineSettings(pattern=r"(?P<t>[-\d.]+)°C", delimiter="\n", encoding=encoding)
    stream = "-4.5°C\n".encode()
    values, stats = run([stream], settings, [LinePoint(name="t", unit="degC")])
    assert values == ([{"t": -4.5}] if decoded else [])
    assert stats["decoded"] == decoded
    for chunks in every_two_way_split(stream):  # splits inside the two-byte degree sign included
        assert run(chunks, settings, [LinePoint(name="t", unit="degC")]) == (values, stats)


def test_a_delimiter_the_encoding_cannot_write_is_misuse() -> None:
    with pytest.raises(LocalProtocolError, match="delimiter"):
        LineDecoder(LineSettings(pattern="(?P<a>.)", delimiter="§"), [LinePoint(name="a")])
    with pytest.raises(LocalProtocolError, match="poll command"):
        LineDecoder(LineSettings(pattern="(?P<a>.)", poll_command="§"), [LinePoint(name="a")])


def test_a_point_without_its_group_is_misuse() -> None:
    with pytest.raises(LocalProtocolError, match="'missing'"):
        LineDecoder(WEATHER, [LinePoint(name="temp"), LinePoint(name="x", group="missing")])


def test_no_poll_command_means_no_poll_bytes() -> None:
    assert LineDecoder(WEATHER, WEATHER_POINTS).poll_bytes is None


LINES = st.lists(
    st.one_of(
        st.builds(
            lambda t, rh: b"T=%s RH=%s\r\n" % (t.encode(), rh.encode()),
            st.sampled_from(["1", "-2.5", "x", "nan", ""]),
            st.sampled_from(["55", "1e2", "--"]),
        ),
        st.binary(max_size=50),
    ),
    max_size=12,
).map(b"".join)


@settings(deadline=None)
@given(stream=LINES, data=st.data())
def test_any_chunking_gives_the_same_values_and_counters(stream: bytes, data: st.DataObject) -> None:
    assert run(data.draw(chunkings(stream))) == run([stream])


@settings(deadline=None)
@given(stream=st.binary(max_size=3000), size=st.integers(1, 500))
def test_random_garbage_never_raises_and_stays_within_the_bound(stream: bytes, size: int) -> None:
    decoder = LineDecoder(WEATHER, WEATHER_POINTS)
    for i in range(0, len(stream), size):
        decoder.feed(stream[i : i + size])
        drain(decoder)
        assert decoder.buffered_bytes <= 40 + 1
    assert decoder.statistics()["bytes_fed"] == len(stream)
