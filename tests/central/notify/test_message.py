"""The texts people receive: Chinese by default, English per contact, the SMS form, and overrides."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import orjson
import pytest

from central.notify import texts
from central.notify.message import AlarmFacts, check_template, fit_sms, render
from central.notify.plan import Job, JobKind
from central.notify.policy import Contact, TemplateSet

T_MS = 1_718_000_000_000  # 2024-06-10 06:13:20 UTC, 14:13:20 in Beijing
CONSOLE_I18N = Path(__file__).resolve().parents[3] / "central" / "console" / "static" / "i18n"
SLOPE = AlarmFacts(
    alarm_id=42,
    level=4,
    channel="gw-slope/gnss-03/north_mm",
    rule="north_velocity",
    message="velocity 12.3 mm/h reached red (threshold 10)",
    event_ms=T_MS,
    site_id="slope-east",
    site_name="东帮边坡",
    rule_kind="slope",
    criterion="velocity",
    value=12.34,
    unit="mm/h",
    threshold=10.0,
    direction="rising",
    forecast_failure_ms=T_MS + 6 * 3600 * 1000,
)
DESK = Contact(name="desk", url="json://127.0.0.1/hook")
DESK_EN = Contact(name="desk", url="json://127.0.0.1/hook", language="en")
BASE_URL = "http://center.example:8080/"


def job(kind: JobKind = JobKind.RAISE, n: int = 4, waited_s: float = 0) -> Job:
    return Job(42, T_MS, "hazards", "desk", kind, n, T_MS + round(waited_s * 1000), T_MS)


def test_a_red_slope_warning_in_chinese() -> None:
    m = render(job(), SLOPE, DESK, base_url=BASE_URL)
    assert m.id == f"42:{T_MS}:hazards:desk:raise:4"
    assert m.title == "【红色预警】东帮边坡"
    assert m.body == (
        "东帮边坡 红色预警\n"
        "监测点:gnss-03 · north_mm\n"
        "位移速率 12.34 mm/h,高于阈值 10 mm/h\n"
        "预测破坏时间:2024-06-10 20:13:20 (UTC+08:00)\n"
        "时间:2024-06-10 14:13:20 (UTC+08:00)\n"
        "查看与确认:http://center.example:8080/#/alarms/42"
    )
    assert m.severity == "failure"
    assert m.fields == {
        "notification_id": m.id,
        "alarm_id": "42",
        "level": "4",
        "kind": "raise",
        "link": "http://center.example:8080/#/alarms/42",
    }


def test_a_reminder_in_english_says_how_long_nobody_acknowledged() -> None:
    m = render(job(JobKind.REMINDER, 2, waited_s=1200), SLOPE, DESK_EN, base_url="http://center")
    assert m.title == "[Red warning, reminder] 东帮边坡"
    assert m.body == (
        "东帮边坡: Red warning (reminder)\n"
        "Not acknowledged for 20 min (reminder 2)\n"
        "Where: gnss-03 · north_mm\n"
        "displacement rate 12.34 mm/h, above the threshold 10 mm/h\n"
        "Forecast time of failure: 2024-06-10 20:13:20 (UTC+08:00)\n"
        "Time: 2024-06-10 14:13:20 (UTC+08:00)\n"
        "View and acknowledge: http://center/#/alarms/42"
    )


def test_an_escalation_step_and_a_clear() -> None:
    step = render(job(JobKind.STEP, 1, waited_s=7500), SLOPE, DESK, base_url=BASE_URL)
    assert step.title == "【红色预警·未确认升级】东帮边坡"
    assert step.body.splitlines()[1] == "已 2 小时 5 分无人确认"
    clear = render(job(JobKind.CLEAR, 0), SLOPE, DESK, base_url=BASE_URL)
    assert clear.title == "【红色预警·已解除】东帮边坡"
    assert "阈值" not in clear.body and "预测" not in clear.body  # what fired is not news any more
    assert clear.severity == "success"


def test_without_structured_fields_the_english_message_is_shown() -> None:
    gas = AlarmFacts(
        alarm_id=9, level=3, channel="gw-tank/lel-2/lel", rule="lel_high", event_ms=T_MS,
        message="lel 31 %LEL reached orange (threshold 25)", site_id="tank-farm",
    )  # fmt: skip
    m = render(job(n=3), gas, DESK, base_url=BASE_URL)
    assert m.title == "【橙色预警】tank-farm"
    assert m.body.splitlines()[1:3] == ["监测点:lel-2 · lel", "lel 31 %LEL reached orange (threshold 25)"]
    assert m.severity == "warning"


@pytest.mark.parametrize(
    ("facts", "lang", "line"),
    [
        ({"criterion": None, "rule_kind": "level", "unit": "%LEL", "value": 52.0, "threshold": 50.0,
          "direction": "above"}, "zh", "测值 52 %LEL,高于阈值 50 %LEL"),
        ({"criterion": "tangent_angle", "unit": "deg", "value": 86.2, "threshold": 85.0}, "zh",
         "切线角 86.2°,高于阈值 85°"),
        ({"criterion": None, "rule_kind": "level", "unit": "m", "value": 0.42, "threshold": 0.5,
          "direction": "below"}, "en", "value 0.42 m, below the threshold 0.5 m"),
        ({"criterion": "pressure_drop", "unit": "kPa", "value": 12345.6, "threshold": 10000.0}, "en",
         "pressure_drop 12346 kPa, above the threshold 10000 kPa"),
    ],
)  # fmt: skip
def test_what_was_measured_against_which_threshold(facts: dict[str, object], lang: str, line: str) -> None:
    contact = DESK if lang == "zh" else DESK_EN
    m = render(job(), dataclasses.replace(SLOPE, forecast_failure_ms=None, **facts), contact, base_url="x")  # type: ignore[arg-type]
    assert m.body.splitlines()[2] == line


def test_local_time_follows_the_sites_zone_with_its_date_and_offset() -> None:
    m = render(job(), dataclasses.replace(SLOPE, time_zone="Europe/Berlin"), DESK, base_url="x")
    assert "时间:2024-06-10 08:13:20 (UTC+02:00)" in m.body.splitlines()


def test_the_level_words_are_the_consoles() -> None:
    for lang in ("zh", "en"):
        console = orjson.loads((CONSOLE_I18N / f"{lang}.json").read_bytes())
        assert {lvl: console[f"level.{lvl}"] for lvl in range(5)} == texts.LEVEL_WORDS[lang]


def test_the_sms_form_is_one_segment() -> None:
    m = render(job(), SLOPE, DESK, base_url=BASE_URL, short=True)
    assert m.title == ""
    assert m.body == "【红色预警】东帮边坡 位移速率12.34mm/h(阈值10) 06-10 14:13 #42"
    assert len(m.body) <= 70
    english = dataclasses.replace(SLOPE, site_name="East wall")
    m = render(job(JobKind.REMINDER, 3), english, DESK_EN, base_url=BASE_URL, short=True)
    assert m.body == "[Red warning, reminder] East wall displacement rate 12.34mm/h (>10) 06-10 14:13 #42"
    long_site = dataclasses.replace(SLOPE, site_name="某某县某某镇某某村露天矿东帮边坡北区第三监测断面")
    for kind, n in ((JobKind.RAISE, 4), (JobKind.STEP, 2), (JobKind.REMINDER, 6), (JobKind.CLEAR, 0)):
        assert len(render(job(kind, n), long_site, DESK, base_url=BASE_URL, short=True).body) <= 70


def test_fit_sms_cuts_to_one_segment_of_the_texts_encoding() -> None:
    assert fit_sms("一二三\n四") == "一二三 四"
    assert fit_sms("红" * 71) == "红" * 69 + "…"
    assert fit_sms("a" * 160) == "a" * 160
    assert fit_sms("a" * 161) == "a" * 157 + "..."
    assert fit_sms("[" * 80) == "[" * 80  # the GSM extension's characters take two septets
    assert fit_sms("[" * 81) == "[" * 78 + "..."
    assert len(fit_sms("a" * 100 + "中")) == 70  # a character GSM 7-bit lacks: UCS-2, 70


def test_a_contact_may_replace_parts_of_the_message() -> None:
    own = TemplateSet(title="{{ level_words }}", sms="{{ site }}: {{ level }} #{{ alarm_id }}")
    m = render(job(), SLOPE, DESK, base_url=BASE_URL, templates=own)
    assert m.title == "红色预警"
    assert m.body.startswith("东帮边坡 红色预警\n")  # the default body: the set gives none
    assert render(job(), SLOPE, DESK, base_url=BASE_URL, templates=own, short=True).body == "东帮边坡: 4 #42"


def test_a_template_that_fails_at_send_time_falls_back_to_the_default(
    caplog: pytest.LogCaptureFixture,
) -> None:
    own = TemplateSet(title="{{ 1 / (level - 4) }}")  # passes the check, fails on a red alarm
    assert check_template(own.title or "") == []
    with caplog.at_level(logging.WARNING, logger="central.notify.message"):
        m = render(job(), SLOPE, DESK, base_url=BASE_URL, templates=own)
    assert m.title == "【红色预警】东帮边坡"
    assert "template title failed for alarm 42" in caplog.text


def test_templates_cannot_reach_python() -> None:
    own = TemplateSet(title="{{ site.__class__.__mro__ }}")
    m = render(job(), SLOPE, DESK, base_url=BASE_URL, templates=own)  # the sandbox refuses: the default
    assert m.title == "【红色预警】东帮边坡"


def test_check_template() -> None:
    assert check_template("{{ site }} {{ level_words }}") == []
    assert check_template("{{ sight }}") == ["unknown name 'sight' (did you mean 'site'?)"]
    assert check_template("a\n{% for %}") == [
        "Jinja2 syntax: Expected an expression, got 'end of statement block' (template line 2)"
    ]
    for lang in ("zh", "en"):
        for part in (texts.TITLE, texts.BODY, texts.SMS):
            assert check_template(part[lang]) == []
