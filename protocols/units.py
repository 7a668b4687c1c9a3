"""The units a profile may name, and the time bases of rates.

A unit is checked against this list so that ``unit: "%lel"`` or ``unit: mm/hr`` is caught at load with a
suggestion, not discovered on the command center's chart. Add a unit here when a new sensor needs one.
"""

from __future__ import annotations

UNITS: dict[str, str] = {
    "": "dimensionless",
    "1": "dimensionless",
    "count": "a count of events or items",
    "bool": "0 or 1",
    "%": "percent",
    "mm": "millimetre",
    "cm": "centimetre",
    "m": "metre",
    "km": "kilometre",
    "deg": "degree of angle",
    "mrad": "milliradian",
    "arcsec": "arc second",
    "mm/m": "millimetre per metre (tilt)",
    "ustrain": "microstrain",
    "Hz": "hertz (vibrating-wire frequency)",
    "digit": "vibrating-wire reading, Hz^2 / 1000",
    "%LEL": "percent of the lower explosive limit",
    "%vol": "percent by volume",
    "ppm": "parts per million",
    "mg/m3": "milligram per cubic metre",
    "degC": "degree Celsius",
    "K": "kelvin",
    "%RH": "relative humidity, percent",
    "Pa": "pascal",
    "hPa": "hectopascal",
    "kPa": "kilopascal",
    "MPa": "megapascal",
    "bar": "bar",
    "m/s": "metre per second",
    "km/h": "kilometre per hour",
    "mm/s": "millimetre per second (vibration velocity)",
    "mm/h": "millimetre per hour",
    "mm/d": "millimetre per day",
    "g": "standard gravity (acceleration)",
    "m3": "cubic metre",
    "m3/h": "cubic metre per hour",
    "L/min": "litre per minute",
    "t": "tonne",
    "V": "volt",
    "mA": "milliampere",
    "W/m2": "watt per square metre",
    "s": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "dB": "decibel",
}

# Time bases a rate rule may be stated in, in seconds.
TIME_BASES_S: dict[str, float] = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
