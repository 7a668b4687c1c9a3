"""Every line formatter writes what its profile's own pattern decodes back to the same values."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocols.config import parse_profile
from protocols.framing import NEED_DATA
from protocols.lineproto import LineDecoder
from protocols.profile import LineProfile
from simulator.line_sensor import FORMATTERS
from simulator.scenario import shipped_profiles_dir


def weather_profile(name: str = "weather_sensor_ascii") -> LineProfile:
    path = Path(shipped_profiles_dir()) / f"{name}.yaml"
    profile = parse_profile(path.read_text(), str(path))
    assert isinstance(profile, LineProfile)
    return profile


def test_every_shipped_line_profile_has_a_formatter() -> None:
    for path in Path(shipped_profiles_dir()).glob("*.yaml"):
        profile = parse_profile(path.read_text(), str(path))
        if isinstance(profile, LineProfile):
            assert path.stem in FORMATTERS, f"{path.stem}: the simulator cannot speak this line profile"


@pytest.mark.parametrize(
    "values",
    [
        {"wind_direction": 0, "wind_speed": 0.0, "air_temperature": -12.3, "humidity": 100.0,
         "pressure": 1013.2, "rain_total": 0.0},
        {"wind_direction": 359, "wind_speed": 31.4, "air_temperature": 41.9, "humidity": 3.5,
         "pressure": 712.8, "rain_total": 99999.99},
    ],
)  # fmt: skip
def test_the_weather_message_decodes_to_its_values(values: dict[str, float]) -> None:
    profile = weather_profile()
    decoder = LineDecoder(profile.line, profile.points)
    line = FORMATTERS["weather_sensor_ascii"](lambda p: values[p])
    decoder.feed((line + profile.line.delimiter).encode(profile.line.encoding))
    decoded = decoder.next_values()
    assert decoded is not NEED_DATA
    assert decoded == pytest.approx(values)
