"""Alarm handling beyond acknowledge and close (ISA-18.2): shelve, unshelve, comment, assign (operator).

Shelving hides an alarm from the active list and holds its notifications for ``duration_s`` (or until
``until_ms``), at most a week; it ends by itself, by ``unshelve``, or when the alarm escalates. Comments
and assignments change no status; all four go on the alarm's timeline with who did them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status

from central.alarms import TransitionRefusedError
from central.api.alarm_schemas import MAX_SHELVE_S, AlarmOut, AssignIn, CommentIn, ShelveIn
from central.api.deps import Operator, ServicesDep
from central.api.levels import not_blank
from central.api.responses import errors, json_response
from central.api.schemas import MAX_ID
from central.services import Services
from central.store.base import NotFoundError

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])

AlarmId = Annotated[int, Path(ge=1, le=MAX_ID)]
ACTION_ERRORS = errors(400, 401, 403, 404, 409, 422)


async def _act(services: Services, fn: Callable[..., Any], *args: Any) -> Response:
    try:
        changed = await services.store.query(fn, *args)
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    except TransitionRefusedError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    await services.hub.announce([changed], [])
    return json_response(changed)


@router.post(
    "/{alarm_id}/shelve",
    response_model=AlarmOut,
    summary="Shelve an alarm for a time, with a reason",
    responses=ACTION_ERRORS,
)
async def shelve(alarm_id: AlarmId, body: ShelveIn, services: ServicesDep, who: Operator) -> Response:
    now_ms = services.clock_ms()
    if (body.duration_s is None) == (body.until_ms is None):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "give duration_s or until_ms (one of them)")
    until_ms = now_ms + body.duration_s * 1000 if body.duration_s is not None else int(body.until_ms or 0)
    if until_ms <= now_ms:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "until_ms is not in the future")
    if until_ms - now_ms > MAX_SHELVE_S * 1000:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"shelve for {MAX_SHELVE_S} s at most")
    reason = not_blank(body.reason, "reason")
    store = services.store
    return await _act(services, store.shelve_alarm, alarm_id, who.name, now_ms, until_ms, reason)


@router.post(
    "/{alarm_id}/unshelve",
    response_model=AlarmOut,
    summary="Unshelve an alarm before its time",
    responses=ACTION_ERRORS,
)
async def unshelve(alarm_id: AlarmId, services: ServicesDep, who: Operator) -> Response:
    return await _act(services, services.store.unshelve_alarm, alarm_id, who.name, services.clock_ms())


@router.post(
    "/{alarm_id}/comment",
    response_model=AlarmOut,
    summary="Comment on an alarm (no status change)",
    responses=ACTION_ERRORS,
)
async def comment(alarm_id: AlarmId, body: CommentIn, services: ServicesDep, who: Operator) -> Response:
    note = not_blank(body.note, "note")
    return await _act(services, services.store.comment_alarm, alarm_id, who.name, note, services.clock_ms())


@router.post(
    "/{alarm_id}/assign",
    response_model=AlarmOut,
    summary="Assign an alarm to a person (or nobody)",
    responses=ACTION_ERRORS,
)
async def assign(alarm_id: AlarmId, body: AssignIn, services: ServicesDep, who: Operator) -> Response:
    assignee = None if body.assignee is None else not_blank(body.assignee, "assignee")
    store = services.store
    return await _act(services, store.assign_alarm, alarm_id, who.name, assignee, services.clock_ms())
