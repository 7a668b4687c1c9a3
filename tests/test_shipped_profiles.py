"""The shipped profiles, the example site files and the profile reference (``hw_profiles/README.md``).

Docs and data are one product here, as in sqlite-utils: every shipped profile loads and is listed in the
README's index, the example sites load with their profiles, and the README's worked example, site example
and pasted ``check`` output are re-run, so the reference cannot drift from what the loader does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from edge import cli
from edge.acquisition.modbus_plan import compile_device
from edge.siteconfig import load_profile, load_site
from protocols.config import parse_profile
from protocols.profile import ModbusProfile, Workarounds
from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parents[1]
PROFILES_DIR = ROOT / "hw_profiles"
README = PROFILES_DIR / "README.md"
EXAMPLES_DIR = ROOT / "deploy" / "examples"
DOCS_PROFILES_DIR = ROOT / "docs" / "profiles"

PROFILES = sorted(PROFILES_DIR.glob("*.yaml"))
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
PROFILE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def readme_index() -> set[str]:
    """Profile names in the first column of the README's "Profile index" table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Profile index", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.MULTILINE))


def test_enough_profiles_are_shipped() -> None:
    assert len(PROFILES) >= 12


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_shipped_profile_loads_and_is_named_by_its_file(path: Path) -> None:
    profile = load_profile(path)  # raises ConfigError with every issue
    assert profile.points
    assert PROFILE_NAME.match(path.stem), "profile files are lower_snake_case"
    assert profile.model == path.stem, "`model` repeats the file stem, which site files use as the name"


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_shipped_profile_is_documented_in_its_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "a profile starts with a header comment: device class, datasheet, units"
    raw = yaml.safe_load(text)
    assert "poll_interval_ms" in raw, "choose the poll interval from the field's sampling practice"


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_workarounds_say_why(path: Path) -> None:
    profile = load_profile(path)
    if not isinstance(profile, ModbusProfile) or profile.modbus.workarounds == Workarounds():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("workarounds:"))
    context = lines[max(0, at - 4) : at + 3]
    assert any("#" in line for line in context), "a workaround needs a comment saying what happened"


def test_readme_index_lists_exactly_the_shipped_profiles() -> None:
    shipped = {p.stem for p in PROFILES}
    indexed = readme_index()
    assert shipped - indexed == set(), "add these profiles to the README's index"
    assert indexed - shipped == set(), "the README's index lists profiles that are not shipped"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_site_loads_with_its_profiles(path: Path) -> None:
    site = load_site(path)
    assert site.devices
    assert site.channels
    assert len(site.devices) == sum(len(bus.devices) for bus in site.site.buses)


def test_every_shipped_modbus_profile_compiles_into_read_plans(tmp_path: Path) -> None:
    """The acquisition's compiler accepts every map (sentinels that fit their type, fault flags, bits)."""
    modbus = [p.stem for p in PROFILES if isinstance(load_profile(p), ModbusProfile)]
    devices = [
        {"id": name.replace("_", "-"), "profile": name, "unit_id": i + 1} for i, name in enumerate(modbus)
    ]
    site_text = yaml.safe_dump(
        {
            "gateway": {"id": "gw-all"},
            "site": {"id": "all", "name": "all", "type": "other", "latitude_deg": 0, "longitude_deg": 0},
            "uplink": {"type": "http", "url": "http://127.0.0.1/"},
            "buses": [{"name": "all", "type": "tcp", "host": "127.0.0.1", "devices": devices}],
        }
    )
    (tmp_path / "site.yaml").write_text(site_text, encoding="utf-8")
    site = load_site(tmp_path / "site.yaml")
    index = site.channel_index()
    for device in site.devices:
        requests = compile_device(device, index, site.gateway_id)
        served = {name for r in requests for name in (*r.point_names, *(t.name for t in r.text_points))}
        assert served == set(device.profile.point_names()), device.profile_name


def test_examples_cover_the_three_site_types() -> None:
    types = {load_site(p).site.site.type for p in EXAMPLES}
    assert {"mine_slope", "tank_farm", "forest_tower"} <= types


@dataclass(frozen=True)
class YamlExample:
    """A YAML block of the README, the file name its ``<!-- check: PATH -->`` marker gives it, and the
    output ``check`` must print for it (the ``$ fieldwatch-edge check`` block that follows; none: ok)."""

    line: int
    path: str
    text: str
    output: list[str] | None


FENCE = re.compile(r"^```([a-z]*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
MARKER = re.compile(r"<!-- check: (\S+)[^>]*-->\s*$")


def readme_yaml_examples() -> list[YamlExample]:
    text = README.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    out = []
    for i, fence in enumerate(fences):
        if fence.group(1) != "yaml":
            continue
        line = text.count("\n", 0, fence.start()) + 1
        marker = MARKER.search(text, 0, fence.start())
        between = text[marker.end() : fence.start()] if marker else "?"
        assert marker is not None and between.strip() == "", (
            f"README.md:{line}: a YAML example needs a `<!-- check: PATH -->` line right before it"
        )
        following = fences[i + 1].group(2).splitlines() if i + 1 < len(fences) else []
        command = f"$ fieldwatch-edge check --profile {marker.group(1)}"
        output = following[1:] if following and following[0] == command else None
        out.append(YamlExample(line, marker.group(1), fence.group(2), output))
    return out


def readme_example(path: str) -> YamlExample:
    return next(e for e in readme_yaml_examples() if e.path == path and e.output is None)


README_EXAMPLES = readme_yaml_examples()


@pytest.mark.parametrize("example", README_EXAMPLES, ids=lambda e: f"line{e.line}")
def test_every_readme_yaml_example_is_what_check_says(
    example: YamlExample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each example is written where its marker says and run through `check`: ok, or the output shown."""
    (tmp_path / "profiles").mkdir()
    for docs_profile in DOCS_PROFILES_DIR.glob("*.yaml"):  # what site examples' `profiles_dirs` find
        (tmp_path / "profiles" / docs_profile.name).write_text(docs_profile.read_text(encoding="utf-8"))
    target = tmp_path / example.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(example.text, encoding="utf-8")
    is_profile = "protocol" in yaml.safe_load(example.text)
    monkeypatch.chdir(tmp_path)
    result = run_cli(["check", *(["--profile"] if is_profile else []), example.path])
    if example.output is None:
        assert result.status == 0, result.stderr
        assert result.stdout.startswith(f"{example.path}: ok")
    else:
        assert result.status == cli.EXIT_BAD_INPUT
        assert result.stderr.splitlines() == example.output


def test_the_readme_has_its_examples() -> None:
    paths = {e.path for e in README_EXAMPLES}
    assert {"hw_profiles/gas_toxic_nh3.yaml", "hw_profiles/gas_level_monitor.yaml", "site.yaml"} <= paths
    assert any(e.output for e in README_EXAMPLES), "the broken draft and its check output"


def test_readme_worked_example_says_what_its_walk_through_says() -> None:
    profile = parse_profile(readme_example("hw_profiles/gas_toxic_nh3.yaml").text, "README.md#worked-example")
    assert isinstance(profile, ModbusProfile)
    by_name = {p.name: p for p in profile.points}
    assert by_name["nh3"].address == 0  # the walk-through explains 40001 -> 0
    assert by_name["relay_1"].kind == "coil"
    assert by_name["sensor_temperature"].nan_value == -32768  # 0x8000 as an int16 reads it


def test_readme_overrides_replace_switch_off_and_add(tmp_path: Path) -> None:
    site_file = tmp_path / "site.yaml"
    site_file.write_text(readme_example("overrides.yaml").text, encoding="utf-8")
    site = load_site(site_file)
    h2s = next(d for d in site.devices if d.device.id == "h2s-c01")
    rules = {r.rule_name: r for r in h2s.rules_for("h2s")}
    assert set(rules) == {"alarm", "rate"}, "the README says: replace, switch off, add"
    assert rules["alarm"].levels.yellow == 7  # type: ignore[union-attr]


def test_the_new_device_example_is_the_draft_with_the_two_fixes() -> None:
    """hw_profiles/README.md's draft plus `max_registers_per_read: 32` and the level's ABCD is the profile in
    docs/profiles/ (which docs/acquisition.md and the probe tests use)."""
    draft = parse_profile(readme_example("hw_profiles/gas_level_monitor.yaml").text, "draft.yaml")
    final = load_profile(DOCS_PROFILES_DIR / "gas_level_monitor.yaml")
    assert isinstance(draft, ModbusProfile) and isinstance(final, ModbusProfile)
    assert final.modbus.max_registers_per_read == 32 and draft.modbus.max_registers_per_read == 125
    fixed_level = next(p for p in draft.points if p.name == "level").model_copy(update={"word_order": "ABCD"})
    fixed = [fixed_level if p.name == "level" else p for p in draft.points]
    assert list(final.points) == fixed
