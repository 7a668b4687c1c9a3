"""The units a profile may name, and the time bases of rates.

A unit is checked against this list so that ``unit: "%lel"`` or ``unit: mm/hr`` is caught at load with a
suggestion, not discovered on the command center's chart. Add a unit here when a new sensor needs one (and
to the list in ``hw_profiles/README.md``: a test compares them).

A suggestion keeps the quantity the technician meant: a rate (``mm/minute``, ``m3/hr``) is matched against
rates over time (``mm/min``, ``m3/h``), never against a ratio such as ``mm/m`` (millimetres per metre).
"""

from __future__ import annotations

import difflib

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
    "m/min": "metre per minute",
    "m/h": "metre per hour (a tank level's rate)",
    "km/h": "kilometre per hour",
    "mm/s": "millimetre per second (vibration velocity)",
    "mm/min": "millimetre per minute (rain intensity, displacement rate)",
    "mm/h": "millimetre per hour",
    "mm/d": "millimetre per day",
    "g": "standard gravity (acceleration)",
    "m3": "cubic metre",
    "m3/min": "cubic metre per minute",
    "m3/h": "cubic metre per hour",
    "L/s": "litre per second",
    "L/min": "litre per minute",
    "L/h": "litre per hour",
    "t": "tonne",
    "t/h": "tonne per hour",
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

# How technicians write a time base, and the unit list's spelling of it.
_TIME_WORDS = {
    "s": "s", "sec": "s", "second": "s",
    "min": "min", "mn": "min", "minute": "min",
    "h": "h", "hr": "h", "hour": "h",
    "d": "d", "day": "d",
}  # fmt: skip

# Units written out in words, or with symbols the list spells differently.
_ALIASES = {
    "metre": "m", "meter": "m", "millimetre": "mm", "millimeter": "mm", "celsius": "degC", "°c": "degC",
    "℃": "degC", "c": "degC", "degree": "deg", "degrees": "deg", "°": "deg", "hour": "h", "hours": "h",
    "second": "s", "seconds": "s", "sec": "s", "minute": "min", "minutes": "min", "day": "d", "days": "d",
    "lel": "%LEL", "rh": "%RH", "l/m": "L/min", "lpm": "L/min",
}  # fmt: skip


def suggest_unit(unit: str) -> list[str]:
    """Known units the technician probably meant by ``unit`` (best first; empty when nothing is close)."""
    by_lower = {u.lower(): u for u in UNITS}
    lowered = unit.strip().lower()
    if lowered in by_lower:
        return [by_lower[lowered]]
    if lowered in _ALIASES:
        return [_ALIASES[lowered]]
    amount, slash, per = lowered.partition("/")
    base = _time_base(per) if slash else None
    if base is not None:
        return _suggest_rate(amount, base)
    same_shape = [u for u in UNITS if ("/" in u) == bool(slash)]  # a ratio for a ratio, a unit for a unit
    near = difflib.get_close_matches(unit, same_shape, n=1)
    return near or difflib.get_close_matches(unit, list(UNITS), n=1)


def _time_base(word: str) -> str | None:
    word = word.strip().rstrip(".")
    return _TIME_WORDS.get(word) or (_TIME_WORDS.get(word[:-1]) if word.endswith("s") else None)


def _suggest_rate(amount: str, base: str) -> list[str]:
    """Rates over time only: the same amount per the same base, else per another base (a typo in the
    amount is matched against the amounts rates have); nothing when no rate has that amount."""
    rates = [u for u in UNITS if "/" in u and u.split("/", 1)[1] in TIME_BASES_S]
    amounts = {u.split("/", 1)[0].lower() for u in rates}
    amount = _ALIASES.get(amount, amount).lower()
    if amount not in amounts:
        near = difflib.get_close_matches(amount, sorted(amounts), n=1)
        if not near:
            return []
        amount = near[0]
    same_amount = [u for u in rates if u.split("/", 1)[0].lower() == amount]
    return [u for u in same_amount if u.endswith("/" + base)] or same_amount
