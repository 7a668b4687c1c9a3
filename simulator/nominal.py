"""Nominal values: what a healthy, quiet device of each shipped profile reports.

A scenario models the points its story is about; every other point of a device still has to answer with
something plausible, so a gas detector's relays read 0, a radar's echo 60 dB and an inclinometer's
firmware 2.31. ``nominal_spec(profile, point)`` gives that value as a ``PointSpec``: from the table below
when the profile is a shipped one or a variant of one (its name plus ``_suffix``, like
``gnss_nmea_rtk_30s``), else a bit or bool 0, a string ``"SIM"``, and a number at the low end of the
physical range (or 0 when that is in range).
"""

from __future__ import annotations

from typing import Any

from protocols.profile import AnyProfile, ModbusPoint, PointBase
from simulator.spec import PointSpec

NOMINAL: dict[str, dict[str, dict[str, Any]]] = {
    "gas_lel_catalytic": {"gas": {"constant": 0.3, "noise": 0.3, "clamp": [0, 100]}},
    "gas_toxic_h2s": {
        "h2s": {"constant": 0.2, "noise": 0.1, "clamp": [0, 100]},
        "cell_life": {"constant": 87},
        "cell_temperature": {"daily": {"mean": 24, "amplitude": 4}, "noise": 0.1},
        "firmware_version": {"text": "H2S-3.41"},
    },
    "gnss_displacement_modbus": {
        "north_mm": {"constant": 0, "noise": 0.6},
        "east_mm": {"constant": 0, "noise": 0.6},
        "up_mm": {"constant": 0, "noise": 1.2},
        "horizontal_mm": {"norm": ["north_mm", "east_mm"], "noise": 0.3, "clamp": [0, 30000]},
        "fix_status": {"constant": 4},
        "satellites": {"constant": 21},
        "pdop": {"constant": 1.4, "noise": 0.05, "clamp": [0.8, 5]},
        "solution_age": {"constant": 1},
        "serial_number": {"text": "GM-SIM-0001"},
    },
    "gnss_nmea_rtk": {
        "north_mm": {"constant": 0, "noise": 0.6},
        "east_mm": {"constant": 0, "noise": 0.6},
        "up_mm": {"constant": 0, "noise": 1.2},
        "fix_quality": {"constant": 4},
        "satellites": {"constant": 24},
        "hdop": {"constant": 0.7, "noise": 0.03, "clamp": [0.5, 3]},
    },
    "inclinometer_2axis": {
        "tilt_x": {"constant": 0.4215, "noise": 0.0004},
        "tilt_y": {"constant": -0.1382, "noise": 0.0004},
        "temperature": {"constant": 14.2, "noise": 0.05},
        "firmware_version": {"constant": 2.31},
    },
    "piezometer": {
        "water_level": {"constant": 12.6, "noise": 0.005},
        "pressure": {"of": "water_level", "scale": 9.80665, "noise": 0.03},
        "temperature": {"constant": 13.4, "noise": 0.05},
        "frequency": {"of": "water_level", "scale": -12.0, "offset": 2900.0, "noise": 0.3},
    },
    "pressure_transmitter": {
        "pressure": {"constant": 0.62, "noise": 0.002},
        "body_temperature": {"daily": {"mean": 22, "amplitude": 5}, "noise": 0.1},
    },
    "radar_level_transmitter": {
        "level": {"constant": 9.0, "noise": 0.002},
        "distance": {"of": "level", "scale": -1, "offset": 18.5, "noise": 0.002},
        "echo_amplitude": {"constant": 62, "noise": 0.5},
        "firmware_version": {"text": "RL-2.07"},
    },
    "rain_gauge_tipping": {
        "rain_total": {"integral": [[0, 0]], "initial": 412.6},
        "rain_1h": {"change_over": {"of": "rain_total", "span": "1h"}, "clamp": [0, 300]},
        "rain_today": {"since_midnight": "rain_total", "clamp": [0, 1000]},
    },
    "smoke_flame_detector": {
        "flame_signal": {"constant": 2, "noise": 0.4, "clamp": [0, 100]},
        "smoke_obscuration": {"constant": 0.05, "noise": 0.01, "clamp": [0, 20]},
        "supply_voltage": {"constant": 24.1, "noise": 0.05},
        "internal_temperature": {"constant": 21},
    },
    "temperature_transmitter": {"temperature": {"constant": 24.5, "noise": 0.05}},
    "thermal_hotspot_camera": {
        "max_temperature": {"daily": {"mean": 31, "amplitude": 9}, "noise": 0.4},
        "avg_temperature": {"daily": {"mean": 18, "amplitude": 6}, "noise": 0.2},
        "hotspot_count": {"constant": 0},
        "hotspot_pan": {"constant": 0},
        "hotspot_tilt": {"constant": 0},
    },
    "vw_crack_meter_logger": {
        **{f"crack_{i}_mm": {"constant": 3.1 * i, "noise": 0.005} for i in (1, 2, 3)},
        **{f"crack_{i}_frequency": {"constant": 2400 + 150 * i, "noise": 0.2} for i in (1, 2, 3)},
        **{f"crack_{i}_digits": {"constant": 5760 + 720 * i, "noise": 1} for i in (1, 2, 3)},
        **{f"crack_{i}_temperature": {"constant": 11.5, "noise": 0.05} for i in (1, 2, 3)},
        "supply_voltage": {"constant": 12.9, "noise": 0.02},
        "serial_number": {"text": "VW4-SIM-0001"},
    },
    "weather_sensor_ascii": {
        "wind_direction": {"constant": 225, "noise": 15, "noise_period": 60, "clamp": [0, 359]},
        "wind_speed": {"constant": 3.2, "noise": 0.6, "clamp": [0, 60]},
        "air_temperature": {"daily": {"mean": 19, "amplitude": 6}, "noise": 0.1},
        "humidity": {"daily": {"mean": 62, "amplitude": -10}, "noise": 0.3, "clamp": [0, 100]},
        "pressure": {"constant": 921.4, "noise": 0.05},
        "rain_total": {"constant": 318.24},
    },
    "weather_station": {
        "wind_speed": {"constant": 2.8, "noise": 0.5, "clamp": [0, 60]},
        "wind_direction": {"constant": 230, "noise": 15, "noise_period": 60, "clamp": [0, 359]},
        "air_temperature": {"daily": {"mean": 20, "amplitude": 6}, "noise": 0.1},
        "humidity": {"daily": {"mean": 64, "amplitude": -10}, "noise": 0.3, "clamp": [0, 100]},
        "pressure": {"constant": 935.2, "noise": 0.05},
        "rain_total": {"constant": 562.3},
        "wind_gust": {"of": "wind_speed", "scale": 1.6, "noise": 0.4, "clamp": [0, 75]},
    },
}


def nominal_table(profile_name: str) -> dict[str, dict[str, Any]]:
    """The nominal values of a shipped profile, or of the shipped profile a variant's name extends."""
    name = profile_name
    while name not in NOMINAL and "_" in name:
        name = name.rsplit("_", 1)[0]
    return NOMINAL.get(name, {})


def nominal_spec(profile_name: str, profile: AnyProfile, point: PointBase) -> PointSpec:
    """The nominal model of ``point`` (see the module docstring)."""
    known = nominal_table(profile_name).get(point.name)
    if known is not None:
        return PointSpec.model_validate(known)
    if isinstance(point, ModbusPoint):
        if point.type == "string":
            return PointSpec(text="SIM")
        if point.type in ("bit", "bool"):
            return PointSpec(constant=0.0)
    low, high = point.physical_range or (0.0, 0.0)
    return PointSpec(constant=0.0 if low <= 0.0 <= high else low)


def device_specs(
    profile_name: str, profile: AnyProfile, modelled: dict[str, PointSpec]
) -> dict[str, PointSpec]:
    """Every point's spec: the scenario's where it has one, the nominal one otherwise.

    A nominal derived point (a radar's distance from its level) follows the scenario's model of the point
    it derives from.
    """
    specs = {p.name: modelled.get(p.name) or nominal_spec(profile_name, profile, p) for p in profile.points}
    unknown = sorted(set(modelled) - set(specs))
    if unknown:
        raise ValueError(f"profile {profile_name} has no point {', '.join(unknown)}")
    for p in profile.points:
        text = specs[p.name].text
        if (
            isinstance(p, ModbusPoint)
            and p.type == "string"
            and len(text or "") > 2 * (p.length_registers or 0)
        ):
            raise ValueError(f"{p.name}: {text!r} does not fit {p.length_registers} registers")
    return specs
