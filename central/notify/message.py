"""The text of one notification: a job and the alarm's facts, through Jinja2 templates, in the contact's
language.

``render(job, facts, contact, base_url=..., short=...)`` gives a ``Message`` (title, body, the job's id). The
templates run in Jinja2's sandbox with autoescaping off (this is text, not HTML) and undefined names as
errors; ``check_template`` finds a template's mistakes when the policy file is loaded, so sending never
meets one (if it does, the default text is sent and a warning logged). The short form (``short=True``, for
SMS gateways) aims at one SMS segment: 70 characters of Chinese (UCS-2), 160 of plain Latin (GSM 7-bit);
it is cut to that, never split.
"""

from __future__ import annotations

import difflib
import functools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from central.notify import texts
from central.notify.plan import Job, JobKind
from central.notify.policy import Contact, TemplateSet

log = logging.getLogger(__name__)

Severity = Literal["info", "success", "warning", "failure"]
Part = Literal["title", "body", "sms"]
CONTEXT_NAMES = frozenset({
    "alarm_id", "link", "kind", "kind_words", "n", "waited", "level", "level_words", "site", "site_id",
    "where", "channel", "rule", "category", "measured", "measured_short", "value", "unit", "threshold",
    "criterion", "direction", "message", "time", "time_short", "forecast", "language",
})  # fmt: skip
SMS_UCS2_CHARS = 70
SMS_GSM_CHARS = 160
# GSM 03.38 as far as plain text needs it: the basic set (one septet each) and its extension (two each)
_GSM_BASIC = frozenset(
    "@$_!\"#%&'()*+,-./:;<=>? \n\r0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€")


@dataclass(frozen=True, slots=True)
class AlarmFacts:
    """What a message says about its alarm. The structured fields (``criterion`` .. ``direction``) come from
    the event when it carries them (issue 15); without them the English ``message`` is shown."""

    alarm_id: int
    level: int
    channel: str  # gateway/device/point
    rule: str
    message: str
    event_ms: int  # when it happened (UTC epoch ms)
    site_id: str | None = None
    site_name: str | None = None
    category: str = "hazard"
    rule_kind: str | None = None
    criterion: str | None = None
    value: float | None = None
    unit: str | None = None
    threshold: float | None = None
    direction: str | None = None  # above | below | rising | falling
    forecast_failure_ms: int | None = None  # slopes: the inverse-velocity forecast time of failure
    time_zone: str = "Asia/Shanghai"  # the site's, else the command center's


@dataclass(frozen=True, slots=True)
class Message:
    id: str  # the job's stable id: receivers drop a repeat by it
    title: str
    body: str
    severity: Severity
    fields: dict[str, str] = field(default_factory=dict)  # for machine receivers (a JSON webhook's body)


def render(
    job: Job,
    facts: AlarmFacts,
    contact: Contact,
    *,
    base_url: str,
    templates: TemplateSet | None = None,
    short: bool = False,
) -> Message:
    """The message of ``job`` to ``contact``; ``templates`` replace the default parts they give."""
    lang = contact.language
    context = _context(job, facts, lang, base_url)
    level = job.n if job.kind is JobKind.RAISE else facts.level
    if short:
        title, body = "", fit_sms(_part("sms", lang, templates, context))
    else:
        title, body = _part("title", lang, templates, context), _part("body", lang, templates, context)
    fields = {"notification_id": job.id, "alarm_id": str(facts.alarm_id), "level": str(level),
              "kind": job.kind.value, "link": context["link"]}  # fmt: skip
    return Message(job.id, title, body, _severity(job.kind, level), fields)


def check_template(source: str) -> list[str]:
    """What is wrong with a template: its syntax (with the template's line) or names it does not know."""
    env = _environment()
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as e:
        return [f"Jinja2 syntax: {e.message} (template line {e.lineno})"]
    problems = []
    for name in sorted(meta.find_undeclared_variables(tree) - CONTEXT_NAMES):
        near = difflib.get_close_matches(name, sorted(CONTEXT_NAMES), n=1)
        hint = f"did you mean {near[0]!r}?" if near else f"known: {', '.join(sorted(CONTEXT_NAMES))}"
        problems.append(f"unknown name {name!r} ({hint})")
    return problems


def fit_sms(text: str) -> str:
    """``text`` on one line, cut to one SMS segment (with an ellipsis when cut)."""
    text = " ".join(text.split())
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        if _septets(text) <= SMS_GSM_CHARS:
            return text
        while _septets(text) > SMS_GSM_CHARS - 3:
            text = text[:-1]
        return text + "..."  # the ellipsis character is not GSM: three dots keep the text in one
    return text if len(text) <= SMS_UCS2_CHARS else text[: SMS_UCS2_CHARS - 1] + "…"


def _septets(text: str) -> int:
    return len(text) + sum(ch in _GSM_EXTENDED for ch in text)


def _part(part: Part, lang: str, templates: TemplateSet | None, context: dict[str, Any]) -> str:
    default = getattr(texts, part.upper())[lang]
    own = getattr(templates, part) if templates is not None else None
    if own:
        try:
            return _tidy(_compiled(own).render(context))
        except Exception:  # a template that passed check_template may still fail on odd data
            log.warning("template %s failed for alarm %s; sending the default", part, context["alarm_id"])
    return _tidy(_compiled(default).render(context))


def _tidy(text: str) -> str:
    """Blank lines that left-out sections leave behind go; the text ends without a newline."""
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


@functools.cache
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _environment().from_string(source)


def _context(job: Job, facts: AlarmFacts, lang: str, base_url: str) -> dict[str, Any]:
    level = job.n if job.kind is JobKind.RAISE else facts.level
    zone = ZoneInfo(facts.time_zone)
    what = facts.criterion or facts.rule_kind or ""
    measured, measured_short = _measured(facts, lang)
    return {
        "alarm_id": facts.alarm_id,
        "link": f"{base_url.rstrip('/')}/#/alarms/{facts.alarm_id}",
        "kind": job.kind.value,
        "kind_words": texts.KIND_WORDS[lang][job.kind.value],
        "n": job.n,
        "waited": _duration(job.waited_s, lang),
        "level": level,
        "level_words": texts.LEVEL_WORDS[lang][level],
        "site": facts.site_name or facts.site_id or "—",
        "site_id": facts.site_id or "",
        "where": _where(facts.channel, lang),
        "channel": facts.channel,
        "rule": facts.rule,
        "category": facts.category,
        "measured": measured,
        "measured_short": measured_short,
        "value": _number(facts.value) if facts.value is not None else "",
        "unit": _unit(facts.unit, lang),
        "threshold": _number(facts.threshold) if facts.threshold is not None else "",
        "criterion": texts.CRITERION_WORDS[lang].get(what, what),
        "direction": facts.direction or "",
        "message": facts.message,
        "time": _local(facts.event_ms, zone),
        "time_short": _at(facts.event_ms, zone).strftime("%m-%d %H:%M"),
        "forecast": _local(facts.forecast_failure_ms, zone) if facts.forecast_failure_ms is not None else "",
        "language": lang,
    }


def _measured(facts: AlarmFacts, lang: str) -> tuple[str, str]:
    """The sentence and the short phrase saying what was measured against which threshold."""
    if facts.value is None or facts.threshold is None:
        return facts.message, facts.message
    what = facts.criterion or facts.rule_kind or "value"
    words = {
        "what": texts.CRITERION_WORDS[lang].get(what, what),
        "value": _number(facts.value),
        "unit": _spaced_unit(facts.unit, lang),
        "threshold": _number(facts.threshold),
        "direction": texts.DIRECTION_WORDS[lang].get(facts.direction or "above", facts.direction or ""),
    }
    short = texts.MEASURED_SHORT[lang].format(**{**words, "unit": _unit(facts.unit, lang)})
    return texts.MEASURED[lang].format(**words), short


_UNIT_WORDS = {"degC": "℃", "deg": "°"}
_UNIT_WORDS_ZH = {**_UNIT_WORDS, "count": "次", "digit": "字"}


def _unit(unit: str | None, lang: str) -> str:
    if not unit:
        return ""
    return (_UNIT_WORDS_ZH if lang == "zh" else _UNIT_WORDS).get(unit, unit)


def _spaced_unit(unit: str | None, lang: str) -> str:
    shown = _unit(unit, lang)
    return shown if not shown or shown in ("%", "°", "℃") else f" {shown}"


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def _where(channel: str, lang: str) -> str:
    """A channel key as the console shows it (``names.js``): ``gnss-03 · north_mm``."""
    parts = channel.split("/")
    if len(parts) != 3:
        return channel
    gateway, device, point = parts
    if device == "_gateway":
        return f"网关 {gateway}" if lang == "zh" else f"gateway {gateway}"
    if device == "_site":
        return "站点联合规则" if lang == "zh" else "site rule"
    if point == "_device":
        return f"设备 {device}" if lang == "zh" else f"device {device}"
    return f"{device} · {point}"


def _duration(seconds: float, lang: str) -> str:
    minutes = max(0, round(seconds / 60))
    fmt_m, fmt_hm = texts.DURATION[lang]
    if minutes < 120:
        return fmt_m.format(m=minutes)
    return fmt_hm.format(h=minutes // 60, m=minutes % 60)


def _at(ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)


def _local(ms: int, zone: ZoneInfo) -> str:
    """``2024-06-10 14:23:05 (UTC+08:00)``: the date, the local time and its offset."""
    t = _at(ms, zone)
    offset = t.strftime("%z")
    return f"{t:%Y-%m-%d %H:%M:%S} (UTC{offset[:3]}:{offset[3:]})"


def _severity(kind: JobKind, level: int) -> Severity:
    if kind in (JobKind.CLEAR, JobKind.CLOSE):
        return "success"
    return "failure" if level >= 4 else "warning" if level == 3 else "info"
