"""The loader's contract: valid files become models; every mistake is reported with its line and key."""

from __future__ import annotations

import textwrap

import pytest

from protocols.config import format_key, load_site, parse_key, parse_profile, parse_site
from protocols.errors import ConfigError
from protocols.profile import ModbusProfile
from protocols.rules import LevelRule

GAS = """\
model: gas
protocol: modbus
modbus:
  unit_id: 3
  word_order: CDAB
points:
  - name: gas
    register: holding
    address: 0
    type: uint16
    scale: 0.1
    unit: "%LEL"
    physical_range: [0, 100]
    nan_value: 0x7FFF
    rules:
      - type: level
        name: high
        levels: {yellow: 25, red: 50}
        hysteresis: 2
  - name: temp
    register: input
    address: 10
    type: float32
    unit: degC
  - name: fault
    address: 1
    type: bit
    bit: 3
"""

SITE = """\
gateway: {id: gw-1}
site: {id: farm, name: Tank farm, type: tank_farm, latitude_deg: 30.5, longitude_deg: 114.3}
uplink: {type: http, url: "http://127.0.0.1:8000"}
buses:
  - name: rs485-1
    type: rtu
    port: /dev/ttyUSB0
    devices:
      - {id: gas-1, profile: gas, unit_id: 3}
      - id: gas-2
        profile: gas
        unit_id: 4
        rules:
          gas:
            - {type: level, name: high, levels: {yellow: 20, red: 40}}
            - {type: rate, name: rising, window_s: 60, per: min, levels: {yellow: 5}}
"""


def issues_of(fn, text: str, path: str = "f.yaml") -> list[str]:
    with pytest.raises(ConfigError) as e:
        fn(text, path)
    return [str(i) for i in e.value.issues]


def files(**texts: str):
    table = {f"/s/{name}": textwrap.dedent(t) for name, t in texts.items()}
    return table.get


def test_a_valid_profile_loads_with_defaults_applied() -> None:
    p = parse_profile(GAS, "gas.yaml")
    assert isinstance(p, ModbusProfile)
    assert p.modbus.unit_id == 3 and p.modbus.max_registers_per_read == 125
    gas, temp, fault = p.points
    assert (gas.kind, gas.nan_value, gas.physical_range) == ("holding", 0x7FFF, (0.0, 100.0))
    assert temp.register_count == 2 and temp.word_order is None
    assert isinstance(gas.rules[0], LevelRule) and gas.rules[0].levels.thresholds() == [(2, 25.0), (4, 50.0)]
    assert fault.register_count == 1


def test_every_mistake_is_reported_at_once_with_line_and_key() -> None:
    bad = GAS.replace("  word_order: CDAB", "  word_ordr: CDAB").replace("unit: degC", "unit: degc")
    bad = bad.replace("    type: float32\n", "    type: float32\n    word_order: ABDC\n")
    bad = bad.replace("    bit: 3", "    bit: 3\n    word_order: ABCD").replace("name: fault", "name: temp")
    assert issues_of(parse_profile, bad) == [
        "f.yaml:5: modbus.word_ordr: unknown key (did you mean 'word_order'?)",
        "f.yaml:24: points[1].word_order: expected one of ABCD, DCBA, BADC, CDAB (got 'ABDC')",
        "f.yaml:25: points[1].unit: unknown unit 'degc' (did you mean 'degC'?); known units are listed in "
        "hw_profiles/README.md#units",
        "f.yaml:26: points[2].name: point name 'temp' is used twice (also points[1])",
        "f.yaml:30: points[2].word_order: bit is one register: it has no word order",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("address: 10", "address: 65535"),
            "f.yaml:22: points[1].address: float32 at 65535 spans 2 registers",
        ),
        (("address: 10", "address: 70000"), "f.yaml:22: points[1].address: must be <= 65535 (got 70000)"),
        (
            ("name: temp", "name: gas"),
            "f.yaml:20: points[1].name: point name 'gas' is used twice (also points[0])",
        ),
        (
            ("address: 10", "address: 0\n    length_registers: 3"),
            "f.yaml:23: points[1].length_registers: `length_registers` is only for type string",
        ),
        (("type: bit", "type: bool"), "f.yaml:27: points[2].type: bool is for coil and discrete points"),
        (
            ("{yellow: 25, red: 50}", "{yellow: 50, red: 25}"),
            "f.yaml:18: points[0].rules[0].levels.red: for a rule that warns above a threshold, red (25) must be",
        ),
        (("unit_id: 3", "unit_id: 300"), "f.yaml:4: modbus.unit_id: must be <= 247 (got 300)"),
        (("protocol: modbus", "protocol: modbuss"), "f.yaml:2: protocol: expected one of modbus, nmea, line"),
        (("scale: 0.1", "scale: ten"), "f.yaml:11: points[0].scale: expected a number (got 'ten')"),
        (
            ("nan_value: 0x7FFF", "nan_value: 0x7FFF\n    nan_value: 1"),
            "f.yaml:15: points[0].nan_value: duplicate key",
        ),
        (
            ("  - name: temp\n", "  - name: temp\n    poll_interval_ms: 1s\n"),
            "f.yaml:21: points[1].poll_interval_ms: expected a whole number (got '1s'); the unit is in the key's name",
        ),
    ],
)
def test_each_kind_of_mistake_names_its_key_and_line(change: tuple[str, str], expected: str) -> None:
    found = issues_of(parse_profile, GAS.replace(*change))
    assert any(line.startswith(expected) for line in found), found


def test_yaml_syntax_errors_name_the_line() -> None:
    found = issues_of(parse_profile, "model: x\npoints:\n  - name: [unclosed\n")
    assert len(found) == 1 and found[0].startswith("f.yaml:4: YAML syntax:")


def test_an_empty_file() -> None:
    assert issues_of(parse_profile, "") == ["f.yaml:1: the file is empty"]


def test_a_missing_key_points_at_its_parent() -> None:
    found = issues_of(parse_profile, GAS.replace("    address: 10\n", ""))
    assert found == ["f.yaml:20: points[1].address: required key is missing"]


def test_a_site_binds_devices_channels_and_rule_overrides() -> None:
    site = load_site("/s/site.yaml", files(**{"site.yaml": SITE, "gas.yaml": GAS}), "/s")
    assert site.gateway_id == "gw-1"
    assert [c.key for c in site.channels] == [
        "gw-1/gas-1/gas", "gw-1/gas-1/temp", "gw-1/gas-1/fault",
        "gw-1/gas-2/gas", "gw-1/gas-2/temp", "gw-1/gas-2/fault",
    ]  # fmt: skip
    gas1, gas2 = site.devices
    assert gas1.unit_id == 3 and gas2.unit_id == 4
    assert [r.levels.thresholds() for r in gas1.rules_for("gas") if isinstance(r, LevelRule)] == [
        [(2, 25), (4, 50)]
    ]
    overridden = gas2.rules_for("gas")
    assert [r.rule_name for r in overridden] == ["high", "rising"]
    assert overridden[0].levels.thresholds() == [(2, 20.0), (4, 40.0)]
    assert site.channels[3].rules == overridden
    assert site.channels[0].location == (30.5, 114.3)  # no device location: the site's


def test_site_mistakes_across_files_are_reported_together() -> None:
    site = SITE.replace("unit_id: 4", "unit_id: 3").replace("          gas:\n", "          gaz:\n")
    site += "  - name: gnss\n    type: serial_line\n    port: /dev/ttyUSB1\n    devices: [{id: g-1, profile: gas}]\n"
    site += "  - name: plc\n    type: tcp\n    host: 10.0.0.2\n    devices: [{id: t-1, profile: tnak}]\n"
    with pytest.raises(ConfigError) as e:
        load_site("/s/site.yaml", files(**{"site.yaml": site, "gas.yaml": GAS.replace("degC", "degc")}), "/s")
    found = [str(i) for i in e.value.issues]
    assert found[0].startswith("/s/gas.yaml:24: points[1].unit: unknown unit 'degc'")
    # the profile is wrong, so its devices cannot be bound: only the site's own problems follow
    assert any(
        f.startswith("/s/site.yaml:24: buses[2].devices[0].profile: no profile 'tnak'") for f in found
    ), found


def test_binding_checks_protocols_unit_ids_and_overridden_points() -> None:
    site = SITE.replace("unit_id: 4", "unit_id: 3").replace("          gas:\n", "          gaz:\n")
    site += "  - name: gnss\n    type: serial_line\n    port: /dev/ttyUSB1\n    devices: [{id: g-1, profile: gas}]\n"
    with pytest.raises(ConfigError) as e:
        load_site("/s/site.yaml", files(**{"site.yaml": site, "gas.yaml": GAS}), "/s")
    assert [str(i) for i in e.value.issues] == [
        "/s/site.yaml:12: buses[0].devices[1].unit_id: unit id 3 is also buses[0].devices[0] on this bus",
        "/s/site.yaml:14: buses[0].devices[1].rules.gaz: profile 'gas' has no point 'gaz' (did you mean 'gas'?)",
        "/s/site.yaml:20: buses[1].devices[0].profile: profile 'gas' speaks modbus: it belongs on a rtu or tcp "
        "bus, not on this serial_line bus",
    ]


def test_site_level_duplicates_and_bad_values() -> None:
    site = SITE.replace("id: gas-2", "id: gas-1").replace(
        "port: /dev/ttyUSB0", "port: /dev/ttyUSB0\n    baud: 9601"
    )
    assert issues_of(parse_site, site) == [
        "f.yaml:8: buses[0].baud: expected one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400 "
        "(got 9601)",
        "f.yaml:11: buses[0].devices[1].id: device id 'gas-1' is used twice (also buses[0].devices[0])",
    ]
    assert issues_of(parse_site, SITE.replace("id: gas-2", "id: gas-1")) == [
        "f.yaml:10: buses[0].devices[1].id: device id 'gas-1' is used twice (also buses[0].devices[0])"
    ]


def test_bus_type_is_named_when_wrong() -> None:
    assert issues_of(parse_site, SITE.replace("type: rtu", "type: rs485")) == [
        "f.yaml:6: buses[0].type: expected one of rtu, tcp, serial_line (got 'rs485')"
    ]


def test_identifiers_are_explained() -> None:
    found = issues_of(parse_site, SITE.replace("id: gas-1", "id: Gas 1"))
    assert found == [
        "f.yaml:9: buses[0].devices[0].id: expected an identifier: lower-case letters, digits, '_' and '-', "
        "starting with a letter or digit, at most 63 (got 'Gas 1')"
    ]


def test_key_paths_round_trip() -> None:
    path = ("buses", 0, "devices", 12, "rules", "gas")
    assert format_key(path) == "buses[0].devices[12].rules.gas"
    assert parse_key(format_key(path)) == path


@pytest.mark.parametrize(
    ("type_", "written", "stored"),
    [("int16", "0x8000", -32768), ("int16", "0x7FFF", 32767), ("int16", "-1", -1), ("uint16", "0xFFFF", 65535),
     ("int32", "0xFFFFFFFF", -1), ("uint32", "0xFFFFFFFF", 0xFFFFFFFF)],
)  # fmt: skip
def test_sentinels_may_be_written_as_register_hex(type_: str, written: str, stored: int) -> None:
    text = GAS.replace("type: uint16\n    scale", f"type: {type_}\n    scale").replace("0x7FFF", written)
    assert parse_profile(text, "f.yaml").points[0].nan_value == stored


@pytest.mark.parametrize(
    ("type_", "written", "reads"),
    [("uint16", "0x10000", "0..65535"), ("uint16", "-1", "0..65535"),
     ("int16", "0x10000", "-32768..32767, or its raw hex 0x0..0xFFFF"),
     ("int16", "-32769", "-32768..32767, or its raw hex 0x0..0xFFFF"),
     ("uint32", "-1", "0..4294967295"), ("int32", "0x100000000", "-2147483648..2147483647, or its raw hex 0x0..0xFFFFFFFF")],
)  # fmt: skip
def test_a_sentinel_the_type_can_never_read(type_: str, written: str, reads: str) -> None:
    text = GAS.replace("type: uint16\n    scale", f"type: {type_}\n    scale").replace("0x7FFF", written)
    value = int(written, 0)
    assert issues_of(parse_profile, text) == [
        f"f.yaml:14: points[0].nan_value: {type_} can never read {value} (it reads {reads}): "
        "this sentinel would never match"
    ]


def test_a_field_mistake_does_not_hide_the_points_other_mistakes() -> None:
    """A wrong `scale` used to stop every check between the point's fields (here: `bit` on a uint16)."""
    bad = GAS.replace("scale: 0.1", "scale: 0,1\n    bit: 2")
    assert issues_of(parse_profile, bad) == [
        "f.yaml:11: points[0].scale: expected a number (got '0,1')",
        "f.yaml:12: points[0].bit: `bit` is only for type bit (this point is uint16)",
    ]


def test_a_point_mistake_does_not_hide_the_profiles_mistakes() -> None:
    """A wrong point used to stop the profile-wide checks: a fault_flag naming no point, overlaps."""
    bad = GAS.replace("unit: degC", "unit: degc").replace("nan_value: 0x7FFF", "fault_flag: fualt")
    assert issues_of(parse_profile, bad) == [
        "f.yaml:14: points[0].fault_flag: 'fualt' is not a bit or bool point of this profile "
        "(did you mean 'fault'?)",
        "f.yaml:24: points[1].unit: unknown unit 'degc' (did you mean 'degC'?); known units are listed in "
        "hw_profiles/README.md#units",
    ]


def test_checks_that_need_a_wrong_field_are_skipped_not_guessed() -> None:
    """With `type` wrong, nothing that depends on the type is reported (its own error says enough)."""
    bad = GAS.replace("type: bit", "type: bitt")
    assert issues_of(parse_profile, bad) == [
        "f.yaml:27: points[2].type: expected one of int16, uint16, int32, uint32, int64, uint64, float32, "
        "float64, string, bit, bool (got 'bitt')",
    ]


def test_a_profile_named_by_a_site_must_say_its_name() -> None:
    with pytest.raises(ConfigError) as e:
        load_site(
            "/s/site.yaml",
            files(**{"site.yaml": SITE, "gas.yaml": GAS.replace("model: gas", "model: GD-100")}),
            "/s",
        )
    assert [str(i) for i in e.value.issues] == [
        "/s/gas.yaml:1: model: 'GD-100' differs from the file's name: site files name this profile 'gas' "
        "(its file stem), so write `model: gas` (or rename the file)"
    ]
    assert parse_profile(GAS, "gas.yaml", name="gas").model == "gas"


def test_a_site_field_mistake_does_not_hide_its_profiles_or_bindings() -> None:
    site = SITE.replace("latitude_deg: 30.5", "latitude_deg: 300").replace("unit_id: 4", "unit_id: 3")
    with pytest.raises(ConfigError) as e:
        load_site("/s/site.yaml", files(**{"site.yaml": site, "gas.yaml": GAS.replace("degC", "degc")}), "/s")
    found = [str(i) for i in e.value.issues]
    assert found == [
        "/s/gas.yaml:24: points[1].unit: unknown unit 'degc' (did you mean 'degC'?); known units are listed "
        "in hw_profiles/README.md#units",
        "/s/site.yaml:2: site.latitude_deg: must be <= 90 (got 300)",
        "/s/site.yaml:12: buses[0].devices[1].unit_id: unit id 3 is also buses[0].devices[0] on this bus",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("longitude_deg: 114.3", "longitude_deg: 214.3"), "site.longitude_deg: must be <= 180 (got 214.3)"),
        (("latitude_deg: 30.5", "latitude_deg: -90.5"), "site.latitude_deg: must be >= -90 (got -90.5)"),
        (("latitude_deg: 30.5", "latitude_deg: .nan"), "site.latitude_deg: expected a number (got nan)"),
        (
            (
                "{id: gas-1, profile: gas, unit_id: 3}",
                "{id: gas-1, profile: gas, unit_id: 3, location: {latitude_deg: 30.5, longitude_deg: 181}}",
            ),
            "buses[0].devices[0].location.longitude_deg: must be <= 180 (got 181)",
        ),
    ],
)
def test_coordinates_out_of_range(change: tuple[str, str], expected: str) -> None:
    found = issues_of(parse_site, SITE.replace(*change))
    assert [f.split(": ", 1)[1] for f in found] == [expected]


LINE = """\
model: T-9
protocol: line
line:
  pattern: "T=(?P<t>[-0-9.]+)"
  delimiter: {delimiter}
points:
  - name: t
    unit: degC
"""


def test_a_single_quoted_delimiter_is_caught() -> None:
    assert parse_profile(LINE.format(delimiter='"\\r\\n"'), "f.yaml").line.delimiter == "\r\n"
    found = issues_of(parse_profile, LINE.format(delimiter="'\\r\\n'"))
    assert found == [
        "f.yaml:5: line.delimiter: contains a backslash sequence written literally: write it in double quotes "
        '("\\r\\n") so YAML turns it into the control characters'
    ]
