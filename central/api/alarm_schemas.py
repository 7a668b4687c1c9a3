"""The API's JSON shapes of alarms: the list, one alarm with its timeline, and the operators' actions
(see ``central.api.schemas`` for how these models relate to the responses)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from central.api.schemas import MAX_MS, LevelInt, Model, Text, example


class ForecastOut(Model):
    failure_ts_ms: int = Field(description="forecast time of failure (inverse-velocity method)")
    r2: float
    points: int


ALARM_EXAMPLE = {
    "id": 17, "channel": "gw-slope-01/gnss-03/north_mm", "rule": "velocity", "site_id": "slope-north",
    "gateway_id": "gw-slope-01", "status": "open", "level": 3, "max_level": 3, "opened_ms": 1764370000000,
    "updated_ms": 1764370060000, "message": "displacement velocity 12.5 mm/h reached orange", "value": 12.5,
    "forecast": {"failure_ts_ms": 1764400000000, "r2": 0.93, "points": 40}, "acknowledged_ms": None,
    "acknowledged_by": None, "cleared_ms": None, "closed_ms": None, "closed_by": None, "handling": None,
    "category": "hazard", "rule_kind": "slope", "criterion": "velocity", "unit": "mm/h", "threshold": 10.0,
    "direction": "rising", "shelved_until_ms": None, "shelved_by": None, "shelve_reason": None,
    "assignee": "Li Wei", "forced_close": False,
}  # fmt: skip


class AlarmOut(Model):
    model_config = example(ALARM_EXAMPLE)

    id: int
    channel: str
    rule: str = Field(description="the edge rule, or gateway_silent for a silent gateway")
    site_id: str | None
    gateway_id: str
    status: Literal["open", "acknowledged", "cleared", "closed"]
    level: LevelInt
    max_level: LevelInt
    opened_ms: int
    updated_ms: int
    message: str
    value: float | None
    forecast: ForecastOut | None
    acknowledged_ms: int | None
    acknowledged_by: str | None
    cleared_ms: int | None
    closed_ms: int | None
    closed_by: str | None
    handling: str | None = Field(description="how the alarm was handled, recorded when closing")
    category: Literal["hazard", "fault"] = Field(
        description="hazard: a measured condition at the site; fault: the monitoring equipment failing"
    )
    rule_kind: str | None = Field(description="the rule's type (level, rate, slope, fault, comm, ...)")
    criterion: str | None = Field(
        description="what fired last: level, rate, velocity, tangent_angle, inverse_velocity_forecast, ..."
    )
    unit: str | None = Field(description="the unit of value and threshold")
    threshold: float | None = Field(description="the threshold crossed")
    direction: Literal["rising", "falling"] | None
    shelved_until_ms: int | None = Field(description="shelved (hidden, no notifications) until then")
    shelved_by: str | None
    shelve_reason: str | None
    assignee: str | None = Field(description="the person it is assigned to")
    forced_close: bool = Field(description="closed while its condition was still active")


class AlarmList(Model):
    data: list[AlarmOut]
    count: int = Field(description="alarms matching the filter (all pages)")
    limit: int
    offset: int


class TimelineEntryOut(Model):
    model_config = example(
        {"ts_ms": 1764370120000, "recorded_ms": 1764370120000, "kind": "acknowledged", "level": 3,
         "actor": "Li Wei (duty officer)", "note": "called the pit foreman; crew withdrawn from bench 4",
         "value": None, "event_seq": None, "forecast": None}
    )  # fmt: skip

    ts_ms: int
    recorded_ms: int
    kind: Literal[
        "raised", "escalated", "deescalated", "cleared", "reraised", "updated", "late", "acknowledged",
        "closed", "forced_close", "shelved", "unshelved", "commented", "assigned", "notified",
        "notify_failed",
    ]  # fmt: skip
    level: int | None
    actor: str = Field(
        description="'gateway <id>', 'central', a person's 'display name (username)', or a token's name"
    )
    note: str
    value: float | None
    event_seq: int | None
    forecast: ForecastOut | None
    criterion: str | None = None
    unit: str | None = None
    threshold: float | None = None
    direction: Literal["rising", "falling"] | None = None


class AlarmDetailOut(Model):
    alarm: AlarmOut
    timeline: list[TimelineEntryOut]


class AcknowledgeIn(Model):
    model_config = example({"note": "called the pit foreman; crew withdrawn from bench 4"})

    note: Text = Field(default="", description="what the officer saw or did")


class CloseIn(Model):
    model_config = example({"handling": "slope drained and re-surveyed; movement stopped after 6 h"})

    handling: Text = Field(min_length=1, description="how the alarm was handled: the loop's feedback")
    force: bool = Field(
        default=False, description="close although the condition is still active (409 without it)"
    )


MAX_SHELVE_S = 7 * 86400


class ShelveIn(Model):
    model_config = example({"duration_s": 3600, "reason": "blasting on bench 4 until 15:00"})

    duration_s: int | None = Field(default=None, ge=1, le=MAX_SHELVE_S, description="shelve for this long")
    until_ms: int | None = Field(default=None, ge=0, le=MAX_MS, description="or until then")
    reason: Text = Field(min_length=1, description="why: shown on the timeline")


class CommentIn(Model):
    model_config = example({"note": "foreman on site, no cracks seen at the crest"})

    note: Text = Field(min_length=1)


class AssignIn(Model):
    model_config = example({"assignee": "Li Wei"})

    assignee: Text | None = Field(
        max_length=200, description="a person's name (a user after accounts); null: nobody"
    )
