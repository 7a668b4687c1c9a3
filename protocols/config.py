"""Load profiles and site files from YAML text, and report every mistake as ``path:line: key: message``.

Sans-I/O: the caller passes text (``parse_profile``, ``parse_site``) or a ``read_text`` function
(``load_site``), so the edge, the simulator and the tests share one loader and one error format.

Errors follow one shape, for example::

    hw_profiles/gas_lel.yaml:42: points[3].word_order: expected one of ABCD, DCBA, BADC, CDAB (got ABDC)

Every problem in a file is reported at once, in line order; a site whose profiles are wrong reports the
profiles' problems under the profiles' own paths.

Over 400 lines because loading, binding and the cross-file checks of a site share one error format
(``path:line: key``) and one map of YAML positions; the binding (``bind_site`` and its checks) is the
part to move out when this file grows again.
"""

from __future__ import annotations

import contextlib
import difflib
import posixpath
import re
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from protocols.errors import ConfigError, ConfigIssue
from protocols.modelbase import (
    FOUND,
    IDENTIFIER_HINT,
    ISSUE_SEPARATOR,
    LATE,
    Unknown,
    check_context,
    is_partial,
    knows,
    split_keyed,
    unwrap,
)
from protocols.profile import AnyProfile, ModbusProfile, NmeaProfile, Profile
from protocols.records import channel_key
from protocols.rules import Rule
from protocols.site import AnyBus, Device, RtuBus, SerialLineBus, SiteFile, TcpBus
from protocols.yamlsource import Lines, Path, parse

T = TypeVar("T")
PROFILE_SUFFIX = ".yaml"


# ---------------------------------------------------------------- turning pydantic errors into issues


def format_key(path: Path) -> str:
    out = ""
    for el in path:
        out += f"[{el}]" if isinstance(el, int) else (f".{el}" if out else str(el))
    return out


_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_key(key: str) -> Path:
    """``"points[3].name"`` -> ``("points", 3, "name")``."""
    return tuple(int(m.group(2)) if m.group(2) else m.group(1) for m in _KEY_PART.finditer(key))


def _field_by_key(model: type[BaseModel], key: Any) -> Any:
    """The annotation of the field a file key names (by alias first), or None."""
    for name, field in model.model_fields.items():
        if key in (field.alias, name):
            return field.annotation
    return None


def _keys_of(model: type[BaseModel]) -> list[str]:
    return sorted(field.alias or name for name, field in model.model_fields.items())


def _step(tp: Any, el: Any) -> tuple[Any, bool]:
    """Follow one ``loc`` element down the type: ``(next type, is it a key in the file?)``."""
    tp = unwrap(tp)
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _field_by_key(tp, el), True
    if origin in (list, tuple):
        return typing.get_args(tp)[0], True
    if origin is dict:
        return typing.get_args(tp)[1], True
    if origin in (typing.Union, types.UnionType):
        member = next((m for m in typing.get_args(tp) if el in _tags(m)), None)
        return member, member is None  # a union tag names the variant, not a key
    return None, True


def _data_path(root: Any, loc: tuple[Any, ...]) -> Path:
    """The key path in the file for a pydantic ``loc``, without union tags."""
    path: list[str | int] = []
    tp = root
    for el in loc:
        tp, is_key = _step(tp, el)
        if is_key:
            path.append(el)
    return tuple(path)


def _model_at(root: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that a pydantic ``loc`` (with union tags) points into, or None."""
    tp = root
    for el in loc:
        tp, _ = _step(tp, el)
        if tp is None:
            return None
    tp = unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _tags(model: Any) -> set[str]:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return set()
    tags: set[str] = set()
    for name in ("type", "protocol"):
        field = model.model_fields.get(name)
        if field is not None and typing.get_origin(field.annotation) is typing.Literal:
            tags.update(str(a) for a in typing.get_args(field.annotation))
    return tags


def _union_tags(root: Any, loc: tuple[Any, ...]) -> str:
    """The tags of the discriminated union at ``loc`` (pydantic names none when the tag is missing)."""
    tp: Any = root
    for el in loc:
        tp, _ = _step(tp, el)
    tp = unwrap(tp)
    members = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else ()
    return ", ".join(tag for m in members for tag in sorted(_tags(m)))


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err: Any, root: Any) -> tuple[str, str | None]:
    """A technician's message for one pydantic error, and a key to append to its path (or None)."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    loc = err["loc"]
    if kind == "missing":
        return "required key is missing", None
    if kind == "extra_forbidden":
        model = _model_at(root, loc[:-1])
        names = _keys_of(model) if model else []
        near = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
        hint = (
            f" (did you mean {near[0]!r}?)"
            if near
            else (f" (valid keys: {', '.join(names)})" if names else "")
        )
        return f"unknown key{hint}", None
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"expected one of {expected} (got {_got(value)})", None
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = str(ctx.get("expected_tags", "")).replace("'", "") or _union_tags(root, loc)
        disc = str(ctx.get("discriminator", "type")).strip("'")
        if kind == "union_tag_not_found":
            return f"required key is missing (one of {tags})", disc
        return f"expected one of {tags} (got {_got(ctx.get('tag'))})", disc
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number (got {_got(value)}){_unit_hint(loc)}", None
    if kind in ("float_type", "float_parsing", "finite_number"):
        return f"expected a number (got {_got(value)}){_unit_hint(loc)}", None
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false (got {_got(value)})", None
    if kind in ("string_type",):
        return f"expected text (got {_got(value)})", None
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of keys (got {_got(value)})", None
    if kind in ("list_type", "tuple_type"):
        return f"expected a list (got {_got(value)})", None
    if kind == "string_pattern_mismatch":
        if "a-z0-9" in str(ctx.get("pattern", "")) and "/" not in str(ctx.get("pattern", "")):
            return f"expected an identifier: {IDENTIFIER_HINT} (got {_got(value)})", None
        return f"does not match the expected form {ctx.get('pattern')} (got {_got(value)})", None
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        limit = f"{limit:g}" if isinstance(limit, float) else limit
        return f"must be {bounds[kind]} {limit} (got {_got(value)})", None
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)", None
    if kind == "too_long":
        return f"allows at most {ctx.get('max_length')} item(s) (got {ctx.get('actual_length')})", None
    return str(err["msg"]).removeprefix("Value error, "), None


def _unit_hint(loc: tuple[Any, ...]) -> str:
    name = str(loc[-1]) if loc else ""
    for suffix, unit in (("_ms", "milliseconds"), ("_s", "seconds"), ("_bytes", "bytes"), ("_m", "metres")):
        if name.endswith(suffix):
            return f"; the unit is in the key's name: write the number of {unit}"
    return ""


def validation_issues(
    exc: ValidationError, data: Any, lines: Lines, path: str, root: Any
) -> list[ConfigIssue]:
    issues = []
    errors = exc.errors(include_url=False)
    for err in errors:
        if err["type"] == "too_short" and any(
            o["loc"][: len(err["loc"])] == err["loc"] and o is not err for o in errors
        ):
            continue  # "too few items" only because its items failed: those errors say more
        base = _data_path(root, err["loc"])
        message, extra_key = _message(err, root)
        if extra_key is not None:
            base = (*base, extra_key)
        for part in message.split(ISSUE_SEPARATOR):
            key, text = split_keyed(part)
            full = base + parse_key(key) if key else base
            issues.append(ConfigIssue(path, lines.line_of(full), format_key(full), text))
    return issues


@dataclass(frozen=True)
class Validated:
    """One file, validated: the model (None when anything is wrong), what of it validated (the model, or a
    ``modelbase.Partial``, or None when the YAML itself is broken), its line map and every issue."""

    model: Any
    partial: Any
    lines: Lines
    issues: list[ConfigIssue]


def validate_file(text: str, path: str, root: Any) -> Validated:
    """Parse YAML ``text`` and validate it as ``root``, collecting every problem (see ``modelbase``)."""
    data, lines, problems = parse(text)
    issues = [ConfigIssue(path, p.line, format_key(p.path), p.message) for p in problems]
    if data is None:
        return Validated(None, None, lines, issues)
    context = check_context()
    try:
        model = TypeAdapter(root).validate_python(data, context=context)
    except ValidationError as e:
        found = issues + validation_issues(e, data, lines, path, root)
        found += _late_issues(context, data, lines, path)
        partial = context[FOUND].get(id(data))
        return Validated(None, partial, lines, list(dict.fromkeys(found)))  # a model check may repeat one
    return Validated(None if issues else model, model, lines, issues)


def validate_text(text: str, path: str, root: Any) -> tuple[Any, Lines, list[ConfigIssue]]:
    """Parse YAML ``text`` and validate it as ``root``: ``(model or None, lines, issues)``."""
    v = validate_file(text, path, root)
    return v.model, v.lines, v.issues


def _late_issues(context: dict[str, Any], data: Any, lines: Lines, path: str) -> list[ConfigIssue]:
    """The problems cross checks found in models whose own fields failed, at their keys in the file."""
    where = dict(_mapping_paths(data, ()))
    issues = []
    for mapping_id, problems in context[LATE]:
        base = where.get(mapping_id)
        if base is None:
            continue
        for problem in problems:
            key, text = split_keyed(problem)
            full = base + parse_key(key) if key else base
            issues.append(ConfigIssue(path, lines.line_of(full), format_key(full), text))
    return issues


def _mapping_paths(data: Any, path: Path) -> Iterator[tuple[int, Path]]:
    if isinstance(data, dict):
        yield id(data), path
        for key, value in data.items():
            yield from _mapping_paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _mapping_paths(value, (*path, i))


def parse_profile(text: str, path: str, *, name: str | None = None) -> AnyProfile:
    """A profile from YAML text; ``ConfigError`` with every issue when it is wrong.

    ``name`` is the name site files know it by (its file stem): its ``model`` must say the same.
    """
    v = validate_file(text, path, Profile)
    issues = v.issues + (_model_names_file(v, path, name) if name is not None else [])
    if issues:
        raise ConfigError(issues)
    return typing.cast(AnyProfile, v.model)


def _model_names_file(v: Validated, path: str, name: str) -> list[ConfigIssue]:
    """The README's rule: ``model`` repeats the file stem, the name site files use."""
    if v.partial is None or not knows(v.partial, "model") or v.partial.model == name:
        return []
    message = (
        f"{v.partial.model!r} differs from the file's name: site files name this profile {name!r} "
        f"(its file stem), so write `model: {name}` (or rename the file)"
    )
    return [ConfigIssue(path, v.lines.line_of(("model",)), "model", message)]


def parse_site(text: str, path: str) -> SiteFile:
    """A site file from YAML text (without its profiles); ``ConfigError`` when it is wrong."""
    model, _, issues = validate_text(text, path, SiteFile)
    if issues:
        raise ConfigError(issues)
    return typing.cast(SiteFile, model)


# ---------------------------------------------------------------- a site bound to its profiles


@dataclass(frozen=True)
class Channel:
    """One measured quantity of the gateway. Its index in ``BoundSite.channels`` is its channel index."""

    key: str
    device_id: str
    point: str
    unit: str
    physical_range: tuple[float, float] | None
    rules: tuple[Rule, ...]
    profile: str
    location: tuple[float, float] | None  # (latitude_deg, longitude_deg) of the device, or of the site


@dataclass(frozen=True)
class BoundDevice:
    bus: AnyBus
    device: Device
    profile_name: str
    profile: AnyProfile

    @property
    def unit_id(self) -> int:
        """The Modbus unit id: the site's, else the profile's default (1 for non-Modbus profiles)."""
        if self.device.unit_id is not None:
            return self.device.unit_id
        return self.profile.modbus.unit_id if isinstance(self.profile, ModbusProfile) else 1

    def poll_interval_ms(self, point: Any) -> int:
        """The point's poll interval: the point's own, else the site's device override, else the profile's."""
        own = getattr(point, "poll_interval_ms", None)
        if own is not None:
            return int(own)
        return self.device.poll_interval_ms or self.profile.poll_interval_ms

    def rules_for(self, point_name: str) -> tuple[Rule, ...]:
        """The profile's rules of a point with the site's overrides applied (same name replaces)."""
        point = next(p for p in self.profile.points if p.name == point_name)
        overrides = {r.rule_name: r for r in self.device.rules.get(point_name, ())}
        merged = [overrides.pop(r.rule_name, r) for r in point.rules]
        merged += overrides.values()
        return tuple(r for r in merged if r.enabled)


@dataclass(frozen=True)
class BoundSite:
    path: str
    site: SiteFile
    devices: tuple[BoundDevice, ...]
    channels: tuple[Channel, ...]

    @property
    def gateway_id(self) -> str:
        return self.site.gateway.id

    def channel_index(self) -> dict[str, int]:
        return {c.key: i for i, c in enumerate(self.channels)}

    def devices_on(self, bus_name: str) -> list[BoundDevice]:
        return [d for d in self.devices if d.bus.name == bus_name]


def profile_candidates(site_path: str, site: SiteFile, name: str, shipped_dir: str) -> list[str]:
    """Where profile ``name`` is looked for, in order: the site's ``profiles_dirs``, then the shipped ones."""
    here = posixpath.dirname(site_path)
    dirs = [d if posixpath.isabs(d) else posixpath.join(here, d) for d in site.profiles_dirs]
    return [posixpath.join(d, name + PROFILE_SUFFIX) for d in (*dirs, shipped_dir)]


def load_site(
    site_path: str,
    read_text: Callable[[str], str | None],
    shipped_profiles_dir: str,
    available_profiles: Sequence[str] = (),
) -> BoundSite:
    """Load a site file and every profile it names; ``ConfigError`` with every issue of every file.

    ``read_text(path)`` returns a file's text, or None when there is no such file; it may raise
    ``ConfigError`` for a file that is not text, which is reported with the rest. ``available_profiles``
    (names) lets a misspelt profile name get a suggestion. A site or profile with wrong fields is still
    checked as far as its valid fields allow, so one run reports every mistake.
    """
    text = read_text(site_path)
    if text is None:
        raise ConfigError([ConfigIssue(site_path, None, "", "no such file")])
    v = validate_file(text, site_path, SiteFile)
    issues = list(v.issues)
    site = v.partial
    if site is None:  # the YAML itself is broken
        raise ConfigError(issues)
    profiles: dict[str, tuple[str, AnyProfile | None]] = {}
    for _, _, dev in _walk_devices(site):
        if not knows(dev, "profile") or dev.profile in profiles:
            continue
        for candidate in profile_candidates(site_path, site, dev.profile, shipped_profiles_dir):
            try:
                ptext = read_text(candidate)
            except ConfigError as e:
                issues += e.issues
                profiles[dev.profile] = (candidate, None)
                break
            if ptext is not None:
                pv = validate_file(ptext, candidate, Profile)
                issues += pv.issues + _model_names_file(pv, candidate, dev.profile)
                profiles[dev.profile] = (candidate, pv.partial)
                break
        else:
            profiles[dev.profile] = ("", None)
    bound, bind_issues = bind_site(
        site_path,
        site,
        v.lines,
        profiles,
        shipped_profiles_dir=shipped_profiles_dir,
        available_profiles=available_profiles,
    )
    issues += bind_issues
    if issues:
        raise ConfigError(issues)
    return bound


def _walk_devices(site: SiteFile) -> Iterator[tuple[int, int, Device]]:
    """Every device of the site (of a partial site: every device of a bus whose devices are known)."""
    for b, bus in enumerate(site.buses if knows(site, "buses") else ()):
        for d, dev in enumerate(bus.devices if knows(bus, "devices") else ()):
            yield b, d, dev


def bind_site(
    site_path: str,
    site: SiteFile,
    lines: Lines,
    profiles: dict[str, tuple[str, AnyProfile | None]],
    *,
    shipped_profiles_dir: str,
    available_profiles: Sequence[str] = (),
) -> tuple[BoundSite, list[ConfigIssue]]:
    """Check a site against its profiles and resolve each device; ``(bound site, issues)``.

    The site and the profiles may be partial (``modelbase.Partial``): each check that needs a field that
    failed is skipped, and the bound site then has no channels.
    """
    issues: list[ConfigIssue] = []

    def issue(path: Path, message: str) -> None:
        issues.append(ConfigIssue(site_path, lines.line_of(path), format_key(path), message))

    devices: list[BoundDevice] = []
    for b, d, dev in _walk_devices(site):
        bus = site.buses[b]
        here: Path = ("buses", b, "devices", d)
        if not knows(dev, "profile"):
            continue
        found_at, profile = profiles.get(dev.profile, ("", None))
        if not found_at:
            dirs = site if knows(site, "profiles_dirs") else _NO_DIRS
            where = ", ".join(profile_candidates(site_path, dirs, dev.profile, shipped_profiles_dir))
            known = sorted({*available_profiles, *_found_names(profiles)})
            near = difflib.get_close_matches(dev.profile, known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            issue((*here, "profile"), f"no profile {dev.profile!r}{hint}; looked for {where}")
            continue
        if profile is None:
            continue  # the profile's own issues are already reported under its path
        _check_device(bus, dev, profile, here, issue)
        devices.append(BoundDevice(bus, dev, dev.profile, profile))
    _guarded(_check_unit_ids, devices, issue, site)
    _guarded(_check_combined, site, devices, issue)
    whole = not is_partial(site) and all(not is_partial(d.profile) for d in devices)
    channels = _channels(site, devices) if whole else ()
    return BoundSite(site_path, site, tuple(devices), channels), issues


class _NoDirs:
    profiles_dirs: tuple[str, ...] = ()


_NO_DIRS: Any = _NoDirs()


def _guarded(check: Callable[..., None], *args: Any) -> None:
    """Run a check; one that needs a field that failed its own validation is skipped."""
    with contextlib.suppress(Unknown):
        check(*args)


def _found_names(profiles: dict[str, tuple[str, AnyProfile | None]]) -> list[str]:
    return [name for name, (found, _) in profiles.items() if found]


def _check_device(
    bus: AnyBus, dev: Device, profile: AnyProfile, here: Path, issue: Callable[[Path, str], None]
) -> None:
    for check in (_check_protocol, _check_origin, _check_overridden_points):
        _guarded(check, bus, dev, profile, here, issue)


def _check_protocol(
    bus: AnyBus, dev: Device, profile: AnyProfile, here: Path, issue: Callable[[Path, str], None]
) -> None:
    wants = "serial_line" if profile.protocol in ("nmea", "line") else "rtu or tcp"
    if isinstance(bus, RtuBus | TcpBus | SerialLineBus) and isinstance(bus, SerialLineBus) == (
        profile.protocol == "modbus"
    ):
        issue(
            (*here, "profile"),
            f"profile {dev.profile!r} speaks {profile.protocol}: it belongs on a "
            f"{wants} bus, not on this {bus.type} bus",
        )
    if dev.unit_id is not None and profile.protocol != "modbus":
        issue((*here, "unit_id"), f"unit_id is for Modbus devices; {dev.profile!r} speaks {profile.protocol}")


def _check_origin(
    bus: AnyBus, dev: Device, profile: AnyProfile, here: Path, issue: Callable[[Path, str], None]
) -> None:
    if isinstance(profile, NmeaProfile) and profile.needs_origin and dev.origin is None:
        issue(
            (*here, "id"),
            f"profile {dev.profile!r} reports displacement: give this device an `origin` "
            "(latitude_deg, longitude_deg, altitude_m of the monument's reference position)",
        )


def _check_overridden_points(
    bus: AnyBus, dev: Device, profile: AnyProfile, here: Path, issue: Callable[[Path, str], None]
) -> None:
    points = profile.points
    if not all(knows(p, "name") for p in points):
        return  # a point whose name is wrong might be the one overridden
    names = [p.name for p in points]
    for point in dev.rules:
        if point not in names:
            near = difflib.get_close_matches(point, names, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else f" (its points: {', '.join(names)})"
            issue((*here, "rules", point), f"profile {dev.profile!r} has no point {point!r}{hint}")


def _check_unit_ids(devices: list[BoundDevice], issue: Callable[[Path, str], None], site: SiteFile) -> None:
    """Two devices on one Modbus bus may not answer to one unit id (the profile's default counts too)."""
    for b, bus in enumerate(site.buses):
        if not isinstance(bus, RtuBus | TcpBus) or not knows(bus, "devices"):
            continue
        seen: dict[int, int] = {}
        for d, dev in enumerate(bus.devices):
            bound = next((x for x in devices if x.device is dev), None)
            if bound is None or not isinstance(bound.profile, ModbusProfile):
                continue
            try:
                unit = bound.unit_id
            except Unknown:
                continue
            if unit in seen:
                key = "unit_id" if dev.unit_id is not None else "id"
                default = (
                    "" if dev.unit_id is not None else " (the profile's default; give this device a unit_id)"
                )
                other = f"buses[{b}].devices[{seen[unit]}]"
                issue(("buses", b, "devices", d, key), f"unit id {unit}{default} is also {other} on this bus")
            seen.setdefault(unit, d)


def _channels(site: SiteFile, devices: list[BoundDevice]) -> tuple[Channel, ...]:
    out = []
    site_loc = (site.site.latitude_deg, site.site.longitude_deg)
    for bd in devices:
        loc = bd.device.location
        where = (loc.latitude_deg, loc.longitude_deg) if loc else site_loc
        for p in bd.profile.points:
            if getattr(p, "type", None) == "string":
                continue  # text points (serial numbers, firmware) are for probe, not channels
            out.append(
                Channel(
                    channel_key(site.gateway.id, bd.device.id, p.name),
                    bd.device.id,
                    p.name,
                    p.unit,
                    p.physical_range,
                    bd.rules_for(p.name),
                    bd.profile_name,
                    where,
                )
            )
    return tuple(out)


def _check_combined(site: SiteFile, devices: list[BoundDevice], issue: Callable[[Path, str], None]) -> None:
    rules: dict[tuple[str, str], set[str]] = {}
    for bd in devices:
        for p in bd.profile.points:
            try:
                rules[(bd.device.id, p.name)] = {r.rule_name for r in bd.rules_for(p.name)}
            except Unknown:
                continue
    complete = all(not is_partial(bd.profile) for bd in devices) and all(
        knows(dev, "id", "profile") for _, _, dev in _walk_devices(site)
    )
    for i, combined in enumerate(site.combined_rules):
        if not knows(combined, "all_of"):
            continue
        for j, cond in enumerate(combined.all_of):
            if not knows(cond, "channel", "rule"):
                continue
            dev, point = cond.channel.split("/")
            known = rules.get((dev, point))
            here: Path = ("combined_rules", i, "all_of", j)
            if known is None and complete:
                issue((*here, "channel"), f"no device/point {cond.channel!r} on this gateway")
            elif known is not None and cond.rule not in known:
                issue(
                    (*here, "rule"),
                    f"{cond.channel} has no rule {cond.rule!r} "
                    f"(its rules: {', '.join(sorted(known)) or 'none'})",
                )
