"""Alarms: the list (filtered, sorted, paged), one alarm with its timeline, acknowledge and close.

Acknowledging and closing need an operator (or admin); the person ("display name (username)") or the
token's name is recorded as who did it, and the action is audited. An alarm of another organization's
site answers 404. A 409 means the alarm's status does not allow the action (already acknowledged,
already closed, still active and not forced, or changed by someone else meanwhile): read it again.
Shelving, comments and assignment are in ``central.api.routers.alarm_handling``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from central import localtime
from central.accounts.audit import audit
from central.alarms import TransitionRefusedError
from central.api import exports
from central.api.alarm_schemas import AcknowledgeIn, AlarmDetailOut, AlarmList, AlarmOut, CloseIn
from central.api.csv_export import csv_documented, csv_pages_response, wants_csv
from central.api.deps import Operator, Reader, ScopeDep, ServicesDep, StoreDep
from central.api.levels import LEVEL_PATTERN, level_number, not_blank
from central.api.responses import errors, json_response
from central.api.routers.session import client_of
from central.api.schemas import IDENT, MAX_ID, MAX_MS
from central.api.scoping import not_found_unless, sees_gateway, within
from central.auth import Principal
from central.services import Services
from central.store.account_records import Visible
from central.store.base import NotFoundError, Store
from central.store.records import Alarm, AlarmFilter

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])

AlarmId = Annotated[int, Path(ge=1, le=MAX_ID)]
StatusName = Literal["open", "acknowledged", "cleared", "closed"]


@router.get(
    "",
    response_model=AlarmList,
    summary="Alarms, newest first (or sorted)",
    responses={**errors(401, 403, 422), **csv_documented()},
)
async def alarms(
    *,
    store: StoreDep,
    _: Reader,
    scope: ScopeDep,
    status_: Annotated[
        list[StatusName] | None, Query(alias="status", description="repeat for several")
    ] = None,
    min_level: Annotated[
        str, Query(pattern=LEVEL_PATTERN, description="0-4 or blue, yellow, orange, red")
    ] = "0",
    category: Annotated[Literal["hazard", "fault"] | None, Query()] = None,
    shelved: Annotated[bool, Query(description="true: only the shelved alarms (hidden otherwise)")] = False,
    sort: Annotated[
        Literal["id", "level", "opened", "updated"],
        Query(description="id, opened, updated: newest first; level: highest first, then oldest"),
    ] = "id",
    site: Annotated[str | None, Query(pattern=IDENT)] = None,
    gateway: Annotated[str | None, Query(pattern=IDENT)] = None,
    since_ms: Annotated[int | None, Query(ge=0, le=MAX_MS, description="opened at or after")] = None,
    until_ms: Annotated[int | None, Query(ge=0, le=MAX_MS, description="opened before")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    services: ServicesDep,
    request: Request,
    format_: Annotated[
        Literal["json", "csv"] | None,
        Query(alias="format", description="csv (or Accept: text/csv): every matching alarm, streamed"),
    ] = None,
) -> Response:
    where = AlarmFilter(
        statuses=tuple(dict.fromkeys(status_ or ())), min_level=level_number(min_level), site_id=site,
        gateway_id=gateway, since_ms=since_ms, until_ms=until_ms, within=within(scope), limit=limit,
        offset=offset, category=category, shelved=shelved, now_ms=services.clock_ms(), sort=sort,
    )  # fmt: skip
    if wants_csv(request, format_):
        tz = localtime.zone(services.settings.time_zone)
        return csv_pages_response("alarms.csv", exports.ALARM_HEADER, exports.alarm_pages(store, where, tz))
    page = await store.query(store.alarms, where)
    return json_response({"data": page.data, "count": page.count, "limit": limit, "offset": offset})


@router.get(
    "/{alarm_id}",
    response_model=AlarmDetailOut,
    summary="One alarm and its timeline",
    responses=errors(401, 403, 404),
)
async def alarm(alarm_id: AlarmId, store: StoreDep, _: Reader, scope: ScopeDep) -> Response:
    try:
        found = await store.query(store.alarm, alarm_id)
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    not_found_unless(sees_gateway(scope, found.alarm.gateway_id), f"alarm {alarm_id}")
    return json_response(found)


async def check_seen(store: Store, alarm_id: int, scope: Visible | None) -> None:
    """404 for an alarm the caller's organization does not see (before acting on it)."""
    if scope is None:
        return
    try:
        found = await store.query(store.alarm, alarm_id)
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    not_found_unless(sees_gateway(scope, found.alarm.gateway_id), f"alarm {alarm_id}")


async def audit_action(
    services: Services, kind: str, changed: Alarm, who: Principal, *, request: Request, detail: dict[str, str]
) -> None:
    """In the log of the alarm's site's organization: its admins see who handled their alarms."""
    site_org = None
    if changed.site_id is not None:
        site_org = await services.store.query(services.auth.accounts.site_org, changed.site_id)
    await audit(services, kind, str(changed.id), who=who, org_id=site_org or who.org_id,
                client=client_of(request), detail={"channel": changed.channel, **detail})  # fmt: skip


@router.post(
    "/{alarm_id}/acknowledge",
    response_model=AlarmOut,
    summary="Acknowledge an alarm, with a note (operator)",
    responses=errors(401, 403, 404, 409, 422),
)
async def acknowledge(
    *,
    alarm_id: AlarmId,
    body: AcknowledgeIn,
    request: Request,
    services: ServicesDep,
    who: Operator,
    scope: ScopeDep,
) -> Response:
    store = services.store
    await check_seen(store, alarm_id, scope)
    try:
        changed = await store.query(store.acknowledge, alarm_id, who.name, body.note, services.clock_ms())
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    except TransitionRefusedError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    await services.hub.announce([changed], [])
    await audit_action(
        services, "alarm.acknowledge", changed, who, request=request, detail={"note": body.note}
    )
    return json_response(changed)


@router.post(
    "/{alarm_id}/close",
    response_model=AlarmOut,
    summary="Close an alarm, recording how it was handled (operator); 409 while active unless forced",
    responses=errors(400, 401, 403, 404, 409, 422),
)
async def close(
    *,
    alarm_id: AlarmId,
    body: CloseIn,
    request: Request,
    services: ServicesDep,
    who: Operator,
    scope: ScopeDep,
) -> Response:
    store = services.store
    handling = not_blank(body.handling, "handling")
    await check_seen(store, alarm_id, scope)
    try:
        changed = await store.query(
            store.close_alarm, alarm_id, who.name, handling, services.clock_ms(), force=body.force
        )
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    except TransitionRefusedError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    await services.hub.announce([changed], [])
    await audit_action(services, "alarm.close", changed, who, request=request, detail={"handling": handling})
    return json_response(changed)
