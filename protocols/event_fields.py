"""What fired, as structured fields of an event: for clients that write their own text in their own
language (the console, notifications); the English ``message`` stays for logs.

All optional, on the wire and in the outbox (an older edge sends none; an older central ignores them):

- ``rule_kind``: the rule's type (``level``, ``rate``, ``flatline``, ``fault``, ``anomaly``, ``slope``,
  ``combined``) or the equipment check (``comm``, ``exception``, ``outbox_corrupt``);
- ``criterion``: which test fired, a snake_case id: ``level``, ``rate``, ``velocity``, ``tangent_angle``,
  ``inverse_velocity_forecast``, ``flatline``, ``no_value``, ``anomaly_score``, ``all_conditions``,
  ``offline``, ``exceptions``;
- ``unit``: of ``value`` and ``threshold`` (``mm/h``, ``%LEL``, ``deg``);
- ``threshold``: the threshold crossed (absent when none applies);
- ``direction``: ``rising`` or ``falling``, the way the value crossed it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from protocols.records import Event

TEXT_FIELDS = ("rule_kind", "criterion", "unit")
DIRECTIONS = ("rising", "falling")
MAX_TEXT = 64


def detail(event: Event) -> dict[str, Any]:
    """The event's structured fields that are set (``{}`` for an event without them)."""
    out: dict[str, Any] = {k: getattr(event, k) for k in TEXT_FIELDS if getattr(event, k) is not None}
    if event.threshold is not None and math.isfinite(event.threshold):
        out["threshold"] = event.threshold
    if event.direction is not None:
        out["direction"] = event.direction
    return out


def problems(obj: dict[str, Any]) -> list[str]:
    """What is wrong with the structured fields of a decoded event object (keys it does not know pass)."""
    out = []
    for key in TEXT_FIELDS:
        value = obj.get(key)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT):
            out.append(f"{key}: expected a string of 1..{MAX_TEXT} characters")
    threshold = obj.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold)
    ):
        out.append("threshold: expected a finite number")
    direction = obj.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        out.append(f"direction: expected one of {', '.join(DIRECTIONS)} (got {direction!r})")
    return out


def with_detail(event: Event, obj: dict[str, Any]) -> Event:
    """``event`` with the structured fields of ``obj`` (checked with ``problems`` first)."""
    threshold = obj.get("threshold")
    return dataclasses.replace(
        event, rule_kind=obj.get("rule_kind"), criterion=obj.get("criterion"), unit=obj.get("unit"),
        threshold=None if threshold is None else float(threshold), direction=obj.get("direction"),
    )  # fmt: skip
