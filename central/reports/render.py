"""The shift report as CSV rows (one per site) and as a printable HTML page (Jinja2; Chinese by default,
English with ``lang=en``). The labels live here, next to the template that uses them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), undefined=StrictUndefined
)

LABELS = {
    "zh": {
        "title": "交接班报告",
        "period": "时段",
        "site": "站点",
        "opened": "新增预警",
        "still_active": "仍在告警",
        "acknowledged": "已确认",
        "not_acknowledged": "未确认",
        "shelved": "已搁置",
        "faults": "设备故障",
        "longest_wait": "最长未确认等待",
        "closed": "已关闭及处置",
        "silent": "网关失联时段",
        "total": "合计",
        "none": "无",
        "forced": "强制关闭",
        "by": "处置人",
        "alarm": "预警",
        "handling": "处置情况",
        "gateway": "网关",
        "time": "时间",
        "from": "自",
        "to": "至",
    },
    "en": {
        "title": "Shift handover",
        "period": "Period",
        "site": "Site",
        "opened": "Opened",
        "still_active": "Still active",
        "acknowledged": "Acknowledged",
        "not_acknowledged": "Not acknowledged",
        "shelved": "Shelved",
        "faults": "Faults",
        "longest_wait": "Longest unacknowledged wait",
        "closed": "Closed, with handling",
        "silent": "Gateways silent",
        "total": "Total",
        "none": "none",
        "forced": "forced close",
        "by": "by",
        "alarm": "Alarm",
        "handling": "Handling",
        "gateway": "Gateway",
        "from": "from",
        "to": "to",
        "time": "Time",
    },
}

CSV_HEADER = (
    "site_id", "site_name", "opened", "still_active", "acknowledged", "not_acknowledged", "shelved",
    "faults", "longest_unacknowledged_wait_s", "closed", "handling", "silent_periods", "silent_s",
)  # fmt: skip


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """One row per site: the counts, the closed alarms' handling joined by `` | ``, the silences' total."""
    return [
        [
            s["site_id"], s["site_name"], s["opened"], s["still_active"], s["acknowledged"],
            s["not_acknowledged"], s["shelved"], s["faults"], s["longest_unacknowledged_wait_s"],
            len(s["closed"]), " | ".join(c["handling"] or "" for c in s["closed"]), len(s["silent_periods"]),
            sum(p["duration_s"] for p in s["silent_periods"]),
        ]
        for s in report["sites"]
    ]  # fmt: skip


def duration(seconds: int | None, lang: str) -> str:
    """``1 h 05 min`` / ``1小时05分`` (``–`` for none): waits and silences, for people."""
    if seconds is None:
        return "–"
    hours, minutes = divmod(round(seconds / 60), 60)
    if lang == "zh":
        return f"{hours}小时{minutes:02d}分" if hours else f"{minutes}分钟"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def html(report: dict[str, Any], lang: str) -> str:
    return _env.get_template("shift.html").render(
        report=report, t=LABELS[lang], lang=lang, duration=lambda s: duration(s, lang)
    )
