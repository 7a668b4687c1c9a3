"""The words and default templates of notification messages, in Chinese (the default) and English.

Level names are the console's (``central/console/static/i18n/zh.json``: ``level.4`` is 红色预警), so the
message and the screen say the same thing. Templates are Jinja2 over the names ``message.CONTEXT_NAMES``
lists; a contact may replace any of the three (``templates:`` in the policy file).
"""

from __future__ import annotations

from typing import Final

LEVEL_WORDS: Final = {
    "zh": {0: "正常", 1: "蓝色预警", 2: "黄色预警", 3: "橙色预警", 4: "红色预警"},
    "en": {0: "Normal", 1: "Blue warning", 2: "Yellow warning", 3: "Orange warning", 4: "Red warning"},
}

# the criterion that fired (issue 15's structured fields), else the rule's kind; unknown ones show as sent
CRITERION_WORDS: Final = {
    "zh": {
        "value": "测值", "level": "测值", "rate": "变化速率", "velocity": "位移速率",
        "tangent_angle": "切线角", "inverse_velocity": "反速度法预测", "slope": "边坡位移",
        "flatline": "数据僵直", "fault": "传感器故障", "anomaly": "异常检测", "comm": "通信中断",
        "gateway_silent": "网关失联",
    },
    "en": {
        "value": "value", "level": "value", "rate": "rate of change", "velocity": "displacement rate",
        "tangent_angle": "tangent angle", "inverse_velocity": "inverse-velocity forecast",
        "slope": "slope displacement", "flatline": "flatlined data", "fault": "sensor fault",
        "anomaly": "anomaly", "comm": "communication lost", "gateway_silent": "gateway silent",
    },
}  # fmt: skip

DIRECTION_WORDS: Final = {
    "zh": {"above": "高于", "rising": "高于", "below": "低于", "falling": "低于"},
    "en": {"above": "above", "rising": "above", "below": "below", "falling": "below"},
}

# kind_words: what this message is, beside the level (a raise needs none)
KIND_WORDS: Final = {
    "zh": {"raise": "", "step": "未确认升级", "reminder": "提醒", "clear": "已解除", "close": "已关闭"},
    "en": {"raise": "", "step": "not acknowledged", "reminder": "reminder", "clear": "cleared",
           "close": "closed"},
}  # fmt: skip

MEASURED: Final = {
    "zh": "{what} {value}{unit},{direction}阈值 {threshold}{unit}",
    "en": "{what} {value}{unit}, {direction} the threshold {threshold}{unit}",
}
MEASURED_SHORT: Final = {
    "zh": "{what}{value}{unit}(阈值{threshold})",
    "en": "{what} {value}{unit} (>{threshold})",
}

DURATION: Final = {"zh": ("{m} 分钟", "{h} 小时 {m} 分"), "en": ("{m} min", "{h} h {m} min")}

TITLE: Final = {
    "zh": "【{{ level_words }}{% if kind_words %}·{{ kind_words }}{% endif %}】{{ site }}",
    "en": "[{{ level_words }}{% if kind_words %}, {{ kind_words }}{% endif %}] {{ site }}",
}

BODY: Final = {
    "zh": """\
{{ site }} {{ level_words }}{% if kind_words %}({{ kind_words }}){% endif %}
{% if kind in ("step", "reminder") %}已 {{ waited }}无人确认
{%- if kind == "reminder" %}(第 {{ n }} 次提醒){% endif %}
{% endif %}
监测点:{{ where }}
{% if kind not in ("clear", "close") %}{{ measured }}
{% if forecast %}预测破坏时间:{{ forecast }}{% endif %}
{% endif %}
时间:{{ time }}
查看与确认:{{ link }}
""",
    "en": """\
{{ site }}: {{ level_words }}{% if kind_words %} ({{ kind_words }}){% endif %}
{% if kind in ("step", "reminder") %}Not acknowledged for {{ waited }}
{%- if kind == "reminder" %} (reminder {{ n }}){% endif %}
{% endif %}
Where: {{ where }}
{% if kind not in ("clear", "close") %}{{ measured }}
{% if forecast %}Forecast time of failure: {{ forecast }}{% endif %}
{% endif %}
Time: {{ time }}
View and acknowledge: {{ link }}
""",
}  # fmt: skip

SMS: Final = {
    "zh": "【{{ level_words }}{% if kind_words %}·{{ kind_words }}{% endif %}】"
    "{{ site }} {{ measured_short }} {{ time_short }} #{{ alarm_id }}",
    "en": "[{{ level_words }}{% if kind_words %}, {{ kind_words }}{% endif %}] "
    "{{ site }} {{ measured_short }} {{ time_short }} #{{ alarm_id }}",
}
