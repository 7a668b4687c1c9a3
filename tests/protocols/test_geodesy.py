"""Geodesy: known vectors, round trips, and agreement with the flat-earth approximation at slope scale."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.errors import LocalProtocolError
from protocols.geodesy import (
    WGS84_A_M,
    WGS84_E2,
    EnuFrame,
    ecef_to_geodetic,
    enu_mm,
    geodetic_to_ecef,
    horizontal_mm,
    prime_vertical_radius_m,
)

ORIGIN = (48.1173, 11.5166667, 600.0)


def meridian_radius_m(lat_rad: float) -> float:
    """M: the radius of curvature along the meridian."""
    return float(WGS84_A_M * (1 - WGS84_E2) / (1 - WGS84_E2 * math.sin(lat_rad) ** 2) ** 1.5)


def flat_earth_point(origin, north_m: float, east_m: float):
    """The point ``north_m`` and ``east_m`` away along the surface (equirectangular at the mid-latitude)."""
    lat0, lon0, h = origin
    phi = math.radians(lat0)
    mid = phi + north_m / (meridian_radius_m(phi) + h) / 2
    dphi = north_m / (meridian_radius_m(mid) + h)
    dlam = east_m / ((prime_vertical_radius_m(mid) + h) * math.cos(mid))
    return lat0 + math.degrees(dphi), lon0 + math.degrees(dlam), h


LATITUDES = st.floats(-85, 85)
LONGITUDES = st.floats(-180, 180)
HEIGHTS = st.floats(-400, 6000)


def test_known_ecef_vectors() -> None:
    assert geodetic_to_ecef((0.0, 0.0, 0.0)) == (WGS84_A_M, 0.0, 0.0)
    x, y, z = geodetic_to_ecef((90.0, 0.0, 0.0))
    assert (x, y) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert z == pytest.approx(6_356_752.314245, abs=1e-6)  # the WGS84 semi-minor axis
    x, y, z = geodetic_to_ecef((0.0, 90.0, 100.0))
    assert (x, y, z) == pytest.approx((0.0, WGS84_A_M + 100.0, 0.0), abs=1e-9)


@pytest.mark.parametrize(
    ("north_m", "east_m", "up_m"),
    [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (-1.0, -1.0, 0.0)],
)
def test_one_metre_is_a_thousand_millimetres_in_its_direction(north_m, east_m, up_m) -> None:
    phi = math.radians(ORIGIN[0])
    point = (
        ORIGIN[0] + math.degrees(north_m / (meridian_radius_m(phi) + ORIGIN[2])),
        ORIGIN[1] + math.degrees(east_m / ((prime_vertical_radius_m(phi) + ORIGIN[2]) * math.cos(phi))),
        ORIGIN[2] + up_m,
    )
    north, east, up = enu_mm(ORIGIN, point)
    assert north == pytest.approx(north_m * 1000, abs=0.001)
    assert east == pytest.approx(east_m * 1000, abs=0.001)
    assert up == pytest.approx(up_m * 1000, abs=0.001)  # the earth drops by 0.08 micrometres over 1 m


def test_the_origin_is_zero() -> None:
    assert enu_mm(ORIGIN, ORIGIN) == (0.0, 0.0, 0.0)
    assert horizontal_mm(ORIGIN, ORIGIN) == 0.0


@settings(deadline=None)
@given(lat=st.floats(-90, 90), lon=LONGITUDES, h=HEIGHTS)
def test_ecef_round_trip(lat: float, lon: float, h: float) -> None:
    lat2, lon2, h2 = ecef_to_geodetic(geodetic_to_ecef((lat, lon, h)))
    assert lat2 == pytest.approx(lat, abs=1e-11)  # 1e-11 degree is 1 micrometre
    if abs(lat) < 89.9999:  # at the pole every longitude is the same point
        assert abs(math.remainder(lon2 - lon, 360.0)) < 1e-11
    assert h2 == pytest.approx(h, abs=1e-6)


@settings(deadline=None)
@given(
    lat=LATITUDES, lon=LONGITUDES, h=HEIGHTS,
    north_mm=st.floats(-1e7, 1e7), east_mm=st.floats(-1e7, 1e7), up_mm=st.floats(-1e5, 1e5),
)  # fmt: skip
def test_enu_round_trip_within_ten_kilometres(lat, lon, h, north_mm, east_mm, up_mm) -> None:
    frame = EnuFrame((lat, lon, h))
    assert frame.enu_mm(frame.geodetic(north_mm, east_mm, up_mm)) == pytest.approx(
        (north_mm, east_mm, up_mm), abs=1e-4
    )


@settings(deadline=None)
@given(
    lat=LATITUDES, lon=LONGITUDES, h=HEIGHTS, distance_m=st.floats(0, 100), bearing=st.floats(0, 2 * math.pi)
)
def test_agrees_with_flat_earth_to_a_tenth_of_a_millimetre_over_100_m(
    lat, lon, h, distance_m, bearing
) -> None:
    origin = (lat, lon, h)
    north_m, east_m = distance_m * math.cos(bearing), distance_m * math.sin(bearing)
    point = flat_earth_point(origin, north_m, east_m)
    assert horizontal_mm(origin, point) == pytest.approx(distance_m * 1000, abs=0.1)
    # The tangent plane and the curved surface part by second-order terms (up to 8 mm at 85 degrees and
    # 100 m): the earth drops away below the plane, and parallels curve towards the pole.
    n_radius = prime_vertical_radius_m(math.radians(lat)) + h
    tan_lat = math.tan(math.radians(lat))
    north, east, up = enu_mm(origin, point)
    assert north == pytest.approx((north_m + east_m**2 * tan_lat / (2 * n_radius)) * 1000, abs=0.1)
    assert east == pytest.approx((east_m - east_m * north_m * tan_lat / (2 * n_radius)) * 1000, abs=0.1)
    mean_radius = math.sqrt(meridian_radius_m(math.radians(lat)) * n_radius) + h
    assert up == pytest.approx(-(distance_m**2) / (2 * mean_radius) * 1000, abs=0.1)


def test_longitudes_wrap_across_the_antimeridian() -> None:
    origin = (-17.7, 179.99999, 20.0)
    assert enu_mm(origin, (-17.7, -179.99999, 20.0)) == pytest.approx(
        enu_mm(origin, (-17.7, 180.00001, 20.0))
    )
    parallel_radius_m = (prime_vertical_radius_m(math.radians(-17.7)) + 20.0) * math.cos(math.radians(-17.7))
    east_mm = enu_mm(origin, (-17.7, -179.99999, 20.0))[1]
    assert east_mm == pytest.approx(math.radians(2e-5) * parallel_radius_m * 1000, abs=0.01)  # 2.1 m east


def test_one_frame_serves_many_points_like_the_function() -> None:
    frame = EnuFrame(ORIGIN)
    point = (ORIGIN[0] + 1e-5, ORIGIN[1] - 2e-5, ORIGIN[2] + 0.25)
    assert frame.enu_mm(point) == enu_mm(ORIGIN, point)
    assert math.hypot(*enu_mm(ORIGIN, point)[:2]) == horizontal_mm(ORIGIN, point)


@pytest.mark.parametrize(
    "position", [(90.1, 0.0, 0.0), (-91.0, 0.0, 0.0), (math.nan, 0.0, 0.0), (0.0, 0.0, math.inf)]
)
def test_impossible_positions_are_misuse(position) -> None:
    with pytest.raises(LocalProtocolError):
        enu_mm(ORIGIN, position)
    with pytest.raises(LocalProtocolError):
        EnuFrame(position)
