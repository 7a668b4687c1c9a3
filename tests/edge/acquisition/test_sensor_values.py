"""GNSS displacement from NMEA fixes: heights are ellipsoidal on both sides of the subtraction."""

from __future__ import annotations

import pytest

from edge.acquisition.sensor_values import NmeaValues
from edge.siteconfig import load_profile
from protocols.geodesy import EnuFrame
from protocols.nmea import build_sentence, format_gga
from protocols.profile import NmeaProfile
from protocols.site import Location

ORIGIN = Location(latitude_deg=30.9315834, longitude_deg=117.8261928, altitude_m=151.236)  # ellipsoidal


def fix(north_mm: float, east_mm: float, up_mm: float, geoid_m: float) -> bytes:
    lat, lon, h = EnuFrame((ORIGIN.latitude_deg, ORIGIN.longitude_deg, 151.236)).geodetic(
        north_mm, east_mm, up_mm
    )
    fields = format_gga(utc_time=None, latitude_deg=lat, longitude_deg=lon, fix_quality=4, satellites=18,
                        hdop=0.6, altitude_m=h - geoid_m, geoid_separation_m=geoid_m)  # fmt: skip
    return build_sentence("GN", "GGA", fields)


@pytest.mark.parametrize("geoid_m", [0.0, -12.4, 31.7])
def test_up_is_measured_between_ellipsoidal_heights(geoid_m: float) -> None:
    profile = load_profile("gnss_nmea_rtk")
    assert isinstance(profile, NmeaProfile)
    channels = {p.name: i for i, p in enumerate(profile.points)}
    values = NmeaValues(profile, channels, ORIGIN)
    values.feed(fix(north_mm=12.0, east_mm=-3.0, up_mm=-5.0, geoid_m=geoid_m))
    (group,) = values.take(now_s=0.0)
    got = dict(zip(group.channels.tolist(), group.values.tolist(), strict=True))
    assert got[channels["north_mm"]] == pytest.approx(12.0, abs=0.2)
    assert got[channels["east_mm"]] == pytest.approx(-3.0, abs=0.2)
    assert got[channels["up_mm"]] == pytest.approx(-5.0, abs=1.0)  # not off by the geoid separation
