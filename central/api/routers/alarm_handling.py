"""Alarm handling beyond acknowledge and close (ISA-18.2): shelve, unshelve, comment, assign (operator).

Shelving hides an alarm from the active list and holds its notifications for ``duration_s`` (or until
``until_ms``), at most a week; it ends by itself, by ``unshelve``, or when the alarm escalates. Comments
and assignments change no status; all four go on the alarm's timeline with who did them, and in the
audit log. An alarm of another organization's site answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response, status

from central.alarms import TransitionRefusedError
from central.api.alarm_schemas import MAX_SHELVE_S, AlarmOut, AssignIn, CommentIn, ShelveIn
from central.api.deps import Operator, ScopeDep, ServicesDep
from central.api.levels import not_blank
from central.api.responses import errors, json_response
from central.api.routers.alarms import audit_action, check_seen
from central.api.schemas import MAX_ID
from central.auth import Principal
from central.services import Services
from central.store.account_records import Visible
from central.store.base import NotFoundError

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])

AlarmId = Annotated[int, Path(ge=1, le=MAX_ID)]
ACTION_ERRORS = errors(400, 401, 403, 404, 409, 422)


@dataclass(frozen=True, slots=True)
class Action:
    """Who acts on which alarm, from where, and what goes in the audit log."""

    alarm_id: int
    who: Principal
    scope: Visible | None
    request: Request
    kind: str
    detail: dict[str, str]


async def _act(services: Services, action: Action, fn: Callable[..., Any], *args: Any) -> Response:
    await check_seen(services.store, action.alarm_id, action.scope)
    try:
        changed = await services.store.query(fn, action.alarm_id, *args)
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    except TransitionRefusedError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    await services.hub.announce([changed], [])
    await audit_action(
        services, action.kind, changed, action.who, request=action.request, detail=action.detail
    )
    return json_response(changed)


@router.post(
    "/{alarm_id}/shelve",
    response_model=AlarmOut,
    summary="Shelve an alarm for a time, with a reason",
    responses=ACTION_ERRORS,
)
async def shelve(
    *,
    alarm_id: AlarmId,
    body: ShelveIn,
    request: Request,
    services: ServicesDep,
    who: Operator,
    scope: ScopeDep,
) -> Response:
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
    action = Action(
        alarm_id, who, scope, request, "alarm.shelve", {"reason": reason, "until_ms": str(until_ms)}
    )
    return await _act(services, action, store.shelve_alarm, who.name, now_ms, until_ms, reason)


@router.post(
    "/{alarm_id}/unshelve",
    response_model=AlarmOut,
    summary="Unshelve an alarm before its time",
    responses=ACTION_ERRORS,
)
async def unshelve(
    *, alarm_id: AlarmId, request: Request, services: ServicesDep, who: Operator, scope: ScopeDep
) -> Response:
    action = Action(alarm_id, who, scope, request, "alarm.unshelve", {})
    return await _act(services, action, services.store.unshelve_alarm, who.name, services.clock_ms())


@router.post(
    "/{alarm_id}/comment",
    response_model=AlarmOut,
    summary="Comment on an alarm (no status change)",
    responses=ACTION_ERRORS,
)
async def comment(
    *,
    alarm_id: AlarmId,
    body: CommentIn,
    request: Request,
    services: ServicesDep,
    who: Operator,
    scope: ScopeDep,
) -> Response:
    note = not_blank(body.note, "note")
    action = Action(alarm_id, who, scope, request, "alarm.comment", {"note": note})
    return await _act(services, action, services.store.comment_alarm, who.name, note, services.clock_ms())


@router.post(
    "/{alarm_id}/assign",
    response_model=AlarmOut,
    summary="Assign an alarm to a person (or nobody)",
    responses=ACTION_ERRORS,
)
async def assign(
    *,
    alarm_id: AlarmId,
    body: AssignIn,
    request: Request,
    services: ServicesDep,
    who: Operator,
    scope: ScopeDep,
) -> Response:
    assignee = None if body.assignee is None else not_blank(body.assignee, "assignee")
    action = Action(alarm_id, who, scope, request, "alarm.assign", {"assignee": assignee or ""})
    return await _act(services, action, services.store.assign_alarm, who.name, assignee, services.clock_ms())
