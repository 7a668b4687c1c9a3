"""WGS84 positions to local displacements in millimetres: how a GNSS fix on a slope becomes a reading.

A receiver reports geodetic coordinates (latitude, longitude in degrees, ellipsoidal height in metres).
Slope monitoring wants how far the antenna moved from its surveyed origin, in a frame a geologist reads:
north, east and up, in millimetres. The path is the standard one:

    geodetic --(WGS84 ellipsoid)--> ECEF (earth-centred, earth-fixed x, y, z in metres)
    ECEF difference point - origin --(rotation by the origin's latitude and longitude)--> ENU

Precision: everything is float64. ECEF coordinates are about 6.4e6 m, whose float64 spacing is about
1e-9 m, so the difference of two nearby points keeps sub-micrometre precision; the rotation keeps it.
No small-distance shortcut is taken, so the same code serves 1 m and 10 km baselines.

Heights are ellipsoidal. GGA gives height above mean sea level plus the geoid separation: their sum is the
ellipsoidal height. For displacement only consistency matters, as long as origin and point use the same.

A latitude outside [-90, 90] or a non-finite number raises ``LocalProtocolError``: a caller's bug, not a
measurement. Longitudes wrap (180.5 is -179.5), so points across the antimeridian need no special case.
"""

from __future__ import annotations

import math
from typing import Final

from protocols.errors import LocalProtocolError

WGS84_A_M: Final = 6_378_137.0  # semi-major axis
WGS84_F: Final = 1.0 / 298.257223563  # flattening
WGS84_E2: Final = WGS84_F * (2.0 - WGS84_F)  # first eccentricity squared

Geodetic = tuple[float, float, float]
"""(latitude_deg, longitude_deg, height_m): WGS84, heights above the ellipsoid."""
Ecef = tuple[float, float, float]
"""(x_m, y_m, z_m): earth-centred, earth-fixed."""

_MAX_ITERATIONS = 10  # the latitude iteration converges in 2-4 steps for any point near the earth's surface


def _checked(position: Geodetic) -> Geodetic:
    lat, lon, height = position
    if not (math.isfinite(lat) and math.isfinite(lon) and math.isfinite(height)):
        raise LocalProtocolError(f"position must be finite numbers (got {position})")
    if not -90.0 <= lat <= 90.0:
        raise LocalProtocolError(f"latitude must be -90..90 (got {lat})")
    return position


def prime_vertical_radius_m(lat_rad: float) -> float:
    """N: the ellipsoid's radius of curvature across the meridian at latitude ``lat_rad``."""
    return WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * math.sin(lat_rad) ** 2)


def geodetic_to_ecef(position: Geodetic) -> Ecef:
    lat_deg, lon_deg, height_m = _checked(position)
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    n = prime_vertical_radius_m(lat)
    cos_lat = math.cos(lat)
    return (
        (n + height_m) * cos_lat * math.cos(lon),
        (n + height_m) * cos_lat * math.sin(lon),
        (n * (1.0 - WGS84_E2) + height_m) * math.sin(lat),
    )


def ecef_to_geodetic(point: Ecef) -> Geodetic:
    """The inverse of ``geodetic_to_ecef`` by fixed-point iteration on latitude (exact to ~1e-15 rad).

    ``tan(lat) = (z + e2 * N * sin(lat)) / p`` with ``p`` the distance from the axis; the height is taken
    in the form that stays accurate at the poles.
    """
    x, y, z = point
    p = math.hypot(x, y)
    lon = math.atan2(y, x)
    lat = math.atan2(z, p * (1.0 - WGS84_E2))
    for _ in range(_MAX_ITERATIONS):
        n = prime_vertical_radius_m(lat)
        next_lat = math.atan2(z + WGS84_E2 * n * math.sin(lat), p)
        converged = abs(next_lat - lat) < 1e-15
        lat = next_lat
        if converged:
            break
    n = prime_vertical_radius_m(lat)
    height = p * math.cos(lat) + z * math.sin(lat) - WGS84_A_M**2 / n
    return math.degrees(lat), math.degrees(lon), height


class EnuFrame:
    """The local east-north-up frame at ``origin``: computed once per origin, applied per fix."""

    def __init__(self, origin: Geodetic) -> None:
        self.origin: Final = _checked(origin)
        self._origin_ecef = geodetic_to_ecef(origin)
        lat, lon = math.radians(origin[0]), math.radians(origin[1])
        self._sin_lat, self._cos_lat = math.sin(lat), math.cos(lat)
        self._sin_lon, self._cos_lon = math.sin(lon), math.cos(lon)

    def enu_mm(self, point: Geodetic) -> tuple[float, float, float]:
        """(north_mm, east_mm, up_mm) of ``point`` from the origin."""
        x, y, z = geodetic_to_ecef(point)
        ox, oy, oz = self._origin_ecef
        dx, dy, dz = x - ox, y - oy, z - oz
        east = -self._sin_lon * dx + self._cos_lon * dy
        across = self._cos_lon * dx + self._sin_lon * dy  # in the equator's plane, away from the axis
        north = -self._sin_lat * across + self._cos_lat * dz
        up = self._cos_lat * across + self._sin_lat * dz
        return north * 1000.0, east * 1000.0, up * 1000.0

    def geodetic(self, north_mm: float, east_mm: float, up_mm: float) -> Geodetic:
        """The position at a displacement from the origin: the inverse of ``enu_mm`` (for the simulator)."""
        north, east, up = north_mm / 1000.0, east_mm / 1000.0, up_mm / 1000.0
        across = -self._sin_lat * north + self._cos_lat * up
        dz = self._cos_lat * north + self._sin_lat * up
        dx = self._cos_lon * across - self._sin_lon * east
        dy = self._sin_lon * across + self._cos_lon * east
        ox, oy, oz = self._origin_ecef
        return ecef_to_geodetic((ox + dx, oy + dy, oz + dz))


def enu_mm(origin: Geodetic, point: Geodetic) -> tuple[float, float, float]:
    """(north_mm, east_mm, up_mm) of ``point`` from ``origin``. For many points, use one ``EnuFrame``."""
    return EnuFrame(origin).enu_mm(point)


def horizontal_mm(origin: Geodetic, point: Geodetic) -> float:
    """The horizontal distance in the origin's tangent plane, in millimetres."""
    north, east, _ = enu_mm(origin, point)
    return math.hypot(north, east)
