"""Finding, loading and checking scenarios, and generating their gateways' site files.

``load(name_or_path)`` reads a scenario (``simulator/scenarios/NAME.yaml`` or any path), validates it
(``simulator.spec``) and binds its site to the shipped profiles with placeholder endpoints, so every
mistake (a misspelt profile, a model for a point the profile lacks, a fault on a bus that does not exist)
is reported at once as ``path:line: key: message`` before anything starts.

``site_document(scenario, endpoints, ...)`` is the site file a gateway runs with: the scenario's site with
each bus's real endpoint (a wire's master pty, a serial line's pty, a TCP server's port), the uplink and
the outbox filled in. ``write_site`` writes it as readable YAML under a header that says where it came from.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from protocols.config import BoundSite, format_key, load_site, parse_key, validate_text
from protocols.errors import ConfigError, ConfigIssue
from protocols.yamlsource import Lines
from simulator.models import DeviceModel
from simulator.nominal import device_specs
from simulator.spec import CrcNoise, DeadSlave, GarbledLine, Scenario

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
DEFAULT_UPLINK_TIMEOUT_S = 5.0
COMBINED_CHANNEL = "_site/_combined"  # the device/point of every combined rule's alarm


def shipped_profiles_dir() -> str:
    return str(Path(str(importlib.resources.files("hw_profiles"))).resolve())


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))


def find(name_or_path: str) -> Path:
    """A scenario's file: a shipped name (``mine_slope``) or a path; ConfigError when there is none."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.exists():
        return candidate
    shipped = SCENARIOS_DIR / f"{name_or_path}.yaml"
    if shipped.exists():
        return shipped
    known = ", ".join(scenario_names())
    raise ConfigError([ConfigIssue(name_or_path, None, "", f"no such scenario (shipped: {known})")])


@dataclass
class Endpoints:
    """Where each bus of a running scenario is: serial ports (pty links) and TCP servers."""

    serial: dict[str, str] = field(default_factory=dict)
    tcp: dict[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def placeholders(cls, site: Mapping[str, Any]) -> Endpoints:
        out = cls()
        for bus in site.get("buses", ()):
            if not isinstance(bus, dict):
                continue
            name = str(bus.get("name"))
            if bus.get("type") == "tcp":
                out.tcp[name] = ("127.0.0.1", 502)
            else:
                out.serial[name] = f"/dev/sim/{name}"
        return out


def site_document(
    scenario: Scenario,
    endpoints: Endpoints,
    *,
    uplink_url: str = "http://127.0.0.1:8080/",
    token_env: str = "FIELDWATCH_TOKEN",  # noqa: S107 - the name of a variable, not a secret
    outbox_path: str = "outbox.db",
    profiles_base: Path | None = None,
) -> dict[str, Any]:
    """The scenario's site with endpoints, uplink and outbox (see the module docstring).

    ``profiles_base`` (the scenario's folder) makes relative ``profiles_dirs`` absolute, for a site file
    written elsewhere.
    """
    doc = dict(scenario.site)
    if profiles_base is not None and doc.get("profiles_dirs"):
        doc["profiles_dirs"] = [str((profiles_base / d).resolve()) for d in doc["profiles_dirs"]]
    buses = []
    for given in doc.get("buses", ()):
        name = given.get("name")
        where: dict[str, Any] = {}
        if given.get("type") == "tcp" and name in endpoints.tcp:
            where["host"], where["port"] = endpoints.tcp[name]
        elif name in endpoints.serial:
            where["port"] = endpoints.serial[name]
        head = {k: given[k] for k in ("name", "type") if k in given}
        rest = {k: v for k, v in given.items() if k not in head and k not in where}
        buses.append({**head, **where, **rest})
    doc["buses"] = buses
    doc["uplink"] = {"type": "http", "url": uplink_url, "token_env": token_env,
                     "timeout_s": DEFAULT_UPLINK_TIMEOUT_S}  # fmt: skip
    doc["outbox"] = {**dict(doc.get("outbox") or {}), "path": outbox_path}
    return doc


def bind_document(doc: Mapping[str, Any], path: str) -> BoundSite:
    """Validate a site document against the shipped profiles; ConfigError names ``path``'s keys."""
    text = yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True)
    shipped = shipped_profiles_dir()

    def read_text(p: str) -> str | None:
        if p == path:
            return text
        try:
            return Path(p).read_text(encoding="utf-8")
        except OSError:
            return None

    names = [p.stem for p in Path(shipped).glob("*.yaml")]
    return load_site(path, read_text, shipped, names)


def write_site(doc: Mapping[str, Any], path: Path, scenario: Scenario, *, seed: int, speed: float) -> None:
    header = (
        f"# Generated by fieldwatch-sim from the scenario {scenario.name!r} (seed {seed}, speed {speed:g}).\n"
        f"# {scenario.title}\n"
        "# The buses point at the simulator's devices; edit the scenario, not this file.\n"
    )
    body = yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, width=110)
    path.write_text(header + body, encoding="utf-8")


@dataclass(frozen=True)
class Loaded:
    path: str
    scenario: Scenario
    bound: BoundSite  # with placeholder endpoints: profiles, unit ids and rules resolved


def load(name_or_path: str) -> Loaded:
    """Read, validate and bind a scenario; ConfigError lists every problem (see the module docstring)."""
    path = find(name_or_path)
    model, lines, issues = validate_text(path.read_text(encoding="utf-8"), str(path), Scenario)
    if model is None:
        raise ConfigError(issues)
    scenario: Scenario = model
    try:
        bound = bind_document(site_document(scenario, Endpoints.placeholders(scenario.site)), str(path))
    except ConfigError as e:
        raise ConfigError([_under_site(i, str(path), lines) for i in e.issues]) from None
    problems = check_references(scenario, bound, str(path), lines)
    if problems:
        raise ConfigError(problems)
    return Loaded(str(path), scenario, bound)


def _under_site(issue: ConfigIssue, path: str, lines: Lines) -> ConfigIssue:
    """A site-file issue, re-aimed at the scenario's ``site`` section (profile issues keep their file)."""
    if issue.path != path:
        return issue
    key = ("site", *parse_key(issue.key))
    return ConfigIssue(issue.path, lines.line_of(key), format_key(key), issue.message)


def check_references(scenario: Scenario, bound: BoundSite, path: str, lines: Lines) -> list[ConfigIssue]:
    """Devices, points, buses and unit ids the scenario names must exist in its site."""
    issues: list[ConfigIssue] = []

    def issue(key: tuple[str | int, ...], message: str) -> None:
        issues.append(ConfigIssue(path, lines.line_of(key), format_key(key), message))

    devices = {d.device.id: d for d in bound.devices}
    for dev_id, spec in scenario.devices.items():
        bd = devices.get(dev_id)
        if bd is None:
            issue(("devices", dev_id), f"the site has no device {dev_id!r}")
            continue
        names = set(bd.profile.point_names())
        for point in spec.points:
            if point not in names:
                issue(
                    ("devices", dev_id, "points", point), f"profile {bd.profile_name} has no point {point!r}"
                )
    for dev_id, bd in devices.items():
        given = scenario.devices.get(dev_id)
        points = given.points if given is not None else {}
        modelled = {k: v for k, v in points.items() if k in bd.profile.point_names()}
        try:
            DeviceModel(device_specs(bd.profile_name, bd.profile, modelled), seed=0, device_id=dev_id)
        except ValueError as e:
            issue(("devices", dev_id), str(e))
    buses = {b.name: b for b in bound.site.buses}
    for i, entry in enumerate(scenario.timeline):
        if isinstance(entry, DeadSlave | CrcNoise):
            bus = buses.get(entry.bus)
            if bus is None or bus.type == "serial_line":
                issue(("timeline", i, "bus"), f"no Modbus bus {entry.bus!r} in the site")
            elif isinstance(entry, DeadSlave) and all(
                d.unit_id != entry.unit_id for d in bound.devices_on(entry.bus)
            ):
                issue(("timeline", i, "unit_id"), f"no device with unit id {entry.unit_id} on {entry.bus}")
            elif isinstance(entry, CrcNoise) and bus.type != "rtu":
                issue(("timeline", i, "bus"), f"{entry.bus} is not an RS-485 bus: CRC noise needs a wire")
        if isinstance(entry, GarbledLine) and (
            entry.device not in devices or devices[entry.device].bus.type != "serial_line"
        ):
            issue(("timeline", i, "device"), f"no serial line device {entry.device!r} in the site")
    channels = {f"{c.device_id}/{c.point}": c for c in bound.channels}
    combined = {r.name for r in bound.site.combined_rules}
    for i, exp in enumerate(scenario.expect):
        found = channels.get(exp.channel)
        if exp.channel == COMBINED_CHANNEL:
            if exp.rule not in combined:
                issue(("expect", i, "rule"), f"the site has no combined rule {exp.rule!r}")
        elif found is None:
            issue(("expect", i, "channel"), f"no device/point {exp.channel!r} in the site")
        elif exp.rule not in {r.rule_name for r in found.rules}:
            issue(("expect", i, "rule"), f"{exp.channel} has no rule {exp.rule!r}")
    for i, dev_id in enumerate(scenario.quiet):
        if dev_id not in devices:
            issue(("quiet", i), f"the site has no device {dev_id!r}")
    return issues


def device_models(loaded: Loaded, seed: int) -> dict[str, DeviceModel]:
    """Every device's model: the scenario's point models over the profile's nominal values."""
    out = {}
    for bd in loaded.bound.devices:
        spec = loaded.scenario.devices.get(bd.device.id)
        specs = device_specs(bd.profile_name, bd.profile, dict(spec.points) if spec else {})
        out[bd.device.id] = DeviceModel(
            specs, seed=seed, device_id=bd.device.id, starts_at_s=loaded.scenario.starts_at
        )
    return out
