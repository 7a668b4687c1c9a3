"""Garbled serial output: damaged every time, and never damaged into a different valid message."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from protocols.nmea import build_sentence, format_gga, format_rmc, verify
from simulator.garble import Garbler
from simulator.gnss_receiver import garble_checked
from simulator.line_sensor import format_weather_0r0
from tests.simulator.test_line_formats import weather_profile


def nmea_pair(i: int) -> bytes:
    when = datetime(2026, 5, 1, 10, 0, i % 60, tzinfo=UTC)
    lat, lon = 30.93 + i * 1e-7, 117.82 - i * 1e-7
    gga = format_gga(utc_time=when.time(), latitude_deg=lat, longitude_deg=lon, fix_quality=4, satellites=24,
                     hdop=0.7, altitude_m=151.2 + i * 1e-3, geoid_separation_m=0.0)  # fmt: skip
    rmc = format_rmc(utc_time=when.time(), status="A", latitude_deg=lat, longitude_deg=lon, speed_m_s=0.0,
                     date=when.date(), mode="R")  # fmt: skip
    return build_sentence("GN", "GGA", gga) + build_sentence("GN", "RMC", rmc)


def test_garbled_nmea_never_carries_a_sentence_the_rover_did_not_send() -> None:
    garbler = Garbler(seed=11, device_id="rover")
    for i in range(3000):
        data = nmea_pair(i)
        originals = set(data.split(b"\r\n"))
        out = garble_checked(garbler, data, t_s=i * 7.0)
        assert out != data
        for piece in out.split(b"\r\n"):
            sentence = piece[piece.rfind(b"$") :] if b"$" in piece else b""
            if sentence and verify(sentence)[1] is not None:
                assert sentence in originals


def test_garbled_lines_never_match_the_sensor_pattern() -> None:
    profile = weather_profile()
    pattern = re.compile(profile.line.pattern)
    garbler = Garbler(seed=3, device_id="mast", checksummed=False)
    for i in range(3000):

        def value(point: str, i: int = i) -> float:
            return 200.0 + i % 100 if point == "wind_direction" else 10.0 + i % 50 * 0.7

        line = format_weather_0r0(value)
        data = (line + "\r\n").encode()
        for piece in garbler.garble(data, t_s=i * 3.0).split(b"\r\n"):
            text = piece.decode("ascii", errors="replace")
            assert piece == b"" or text == line or pattern.search(text) is None, text


def test_the_same_seed_damages_the_same_way() -> None:
    a, b = Garbler(seed=5, device_id="x"), Garbler(seed=5, device_id="x")
    data = nmea_pair(1)
    assert [a.garble(data, t) for t in range(50)] == [b.garble(data, t) for t in range(50)]
