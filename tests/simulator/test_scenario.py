"""Scenario files: durations, validation errors at file:line:key, binding, and the generated site file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from edge.siteconfig import load_site
from protocols.errors import ConfigError
from protocols.site import RtuBus, TcpBus
from simulator import scenario as scenarios
from simulator.scenario import Endpoints, bind_document, site_document, write_site
from simulator.spec import parse_duration, parse_time_of_day


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h30m", 5400.0),
        ("2h", 7200.0),
        ("0.5h", 1800.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "1d", "h", "1h 30m", True, None, "-5s"])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_time_of_day() -> None:
    assert parse_time_of_day("09:30") == 9.5 * 3600
    with pytest.raises(ValueError, match="HH:MM"):
        parse_time_of_day("25:00")


@pytest.mark.parametrize("name", scenarios.scenario_names())
def test_shipped_scenarios_load_and_name_every_kind_of_fault(name: str) -> None:
    loaded = scenarios.load(name)
    assert loaded.scenario.name == name
    assert loaded.scenario.expect, "a shipped scenario says which alarms it must raise"
    kinds = {getattr(e, "fault", None) for e in loaded.scenario.timeline} - {None}
    assert {"dead_slave", "crc_noise", "garbled_line"} <= kinds


def test_the_shipped_scenarios_together_cover_every_fault_and_every_profile() -> None:
    faults: set[str] = set()
    profiles: set[str] = set()
    for name in scenarios.scenario_names():
        loaded = scenarios.load(name)
        faults |= {str(getattr(e, "fault", "")) for e in loaded.scenario.timeline} - {""}
        profiles |= {d.profile_name for d in loaded.bound.devices}
    assert faults == {"dead_slave", "crc_noise", "garbled_line", "uplink_cut", "gateway_reboot"}
    shipped = {p.stem for p in Path(scenarios.shipped_profiles_dir()).glob("*.yaml")}
    variants = {p.stem for p in (scenarios.SCENARIOS_DIR / "profiles").glob("*.yaml")}
    assert shipped <= {name.removesuffix("_30s") for name in profiles}
    assert profiles <= shipped | variants


MINIMAL_SITE = """\
site:
  gateway: {id: gw-test}
  site: {id: s1, name: Test, type: other, latitude_deg: 30, longitude_deg: 117}
  buses:
    - name: bus1
      type: rtu
      devices:
        - {id: temp-1, profile: temperature_transmitter, unit_id: 11}
    - name: line1
      type: serial_line
      devices:
        - {id: wx, profile: weather_sensor_ascii}
"""


def write_scenario(tmp_path: Path, body: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_errors_name_the_line_and_key_and_come_all_at_once(tmp_path: Path) -> None:
    path = write_scenario(
        tmp_path,
        "name: s\ntitle: t\nlength: 2x\n"
        + MINIMAL_SITE
        + """\
devices:
  temp-1:
    points:
      temperature: {constant: 3, daily: {mean: 1, amplitude: 2}}
      tempreature: {constant: 3}
timeline:
  - {at: 10m, fault: dead_slave, bus: bus1, unit_id: 11, for: 5m, colour: red}
""",
    )
    with pytest.raises(ConfigError) as e:
        scenarios.load(path)
    text = str(e.value)
    assert f"{path}:3: length: expected a duration like 90s, 15m or 1h30m (got '2x')" in text
    assert f"{path}:19: devices.temp-1.points.temperature: give exactly one of" in text
    assert f"{path}:22: timeline[0]" in text
    assert "colour: unknown key" in text


def test_references_to_missing_things_are_reported_with_their_lines(tmp_path: Path) -> None:
    path = write_scenario(
        tmp_path,
        "name: s\ntitle: t\nlength: 2h\n"
        + MINIMAL_SITE
        + """\
devices:
  temp-2:
    points: {}
  temp-1:
    points:
      tempreature: {constant: 3}
timeline:
  - {at: 10m, fault: dead_slave, bus: bus1, unit_id: 12, for: 5m}
  - {at: 10m, fault: crc_noise, bus: line1, corrupt_rate: 0.1, for: 5m}
  - {at: 10m, fault: garbled_line, device: temp-1, for: 5m}
expect:
  - {channel: temp-1/temperature, rule: hot, levels: [red]}
""",
    )
    with pytest.raises(ConfigError) as e:
        scenarios.load(path)
    lines = [str(i) for i in e.value.issues]
    assert f"{path}:17: devices.temp-2: the site has no device 'temp-2'" in lines
    assert (
        f"{path}:21: devices.temp-1.points.tempreature: profile temperature_transmitter has no point 'tempreature'"
        in lines
    )
    assert f"{path}:23: timeline[0].unit_id: no device with unit id 12 on bus1" in lines
    assert f"{path}:24: timeline[1].bus: no Modbus bus 'line1' in the site" in lines
    assert f"{path}:25: timeline[2].device: no serial line device 'temp-1' in the site" in lines
    assert f"{path}:27: expect[0].rule: temp-1/temperature has no rule 'hot'" in lines


def test_site_mistakes_are_reported_under_the_scenario_site_key(tmp_path: Path) -> None:
    body = "name: s\ntitle: t\nlength: 2h\n" + MINIMAL_SITE.replace(
        "temperature_transmitter", "temperature_transmiter"
    )
    path = write_scenario(tmp_path, body)
    with pytest.raises(ConfigError) as e:
        scenarios.load(path)
    assert str(e.value).startswith(
        f"{path}:11: site.buses[0].devices[0].profile: no profile 'temperature_transmiter'"
    )


def test_unknown_scenario_names_the_shipped_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"no such scenario \(shipped: forest_tower, mine_slope, tank_farm\)"
    ):
        scenarios.load("mine_slop")


def test_the_generated_site_file_points_at_the_endpoints_and_loads_like_any_site(tmp_path: Path) -> None:
    loaded = scenarios.load("tank_farm")
    endpoints = Endpoints(
        serial={"rs485-gas": "/tmp/x/gas", "rs485-tanks": "/tmp/x/tanks", "roof-wind": "/tmp/x/wind"},
        tcp={"tank-gauging": ("127.0.0.1", 15020)},
    )
    doc = site_document(loaded.scenario, endpoints, uplink_url="http://127.0.0.1:9/", token_env="TOKEN_X")
    path = tmp_path / "gw.yaml"
    write_site(doc, path, loaded.scenario, seed=3, speed=120)
    text = path.read_text()
    assert text.startswith("# Generated by fieldwatch-sim from the scenario 'tank_farm' (seed 3, speed 120)")
    bound = load_site(path)  # exactly what the gateway does with it
    buses = {b.name: b for b in bound.site.buses}
    gas, gauging = buses["rs485-gas"], buses["tank-gauging"]
    assert isinstance(gas, RtuBus)
    assert gas.port == "/tmp/x/gas"
    assert isinstance(gauging, TcpBus)
    assert (gauging.host, gauging.port) == ("127.0.0.1", 15020)
    assert bound.site.uplink.url == "http://127.0.0.1:9/"
    assert bound.site.outbox.path == "outbox.db"
    assert list(yaml.safe_load(text)["buses"][0])[:3] == ["name", "type", "port"]
    assert bind_document(doc, str(path)).gateway_id == "qs-jiangkou-gw02"


def test_a_profile_variant_gets_its_shipped_profile_nominal_values() -> None:
    loaded = scenarios.load("mine_slope")
    rover = next(d for d in loaded.bound.devices if d.device.id == "gnss-e2-crest")
    assert rover.profile_name == "gnss_nmea_rtk_30s"
    model = scenarios.device_models(loaded, seed=1)["gnss-e2-crest"]
    assert model.value("fix_quality", 100.0) == 4.0  # RTK fixed, as the shipped rover
    assert model.value("satellites", 100.0) == 24.0
