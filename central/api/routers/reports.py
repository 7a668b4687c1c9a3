"""Reports: the shift handover (``central.reports.shift``) as JSON, CSV (``format=csv`` or ``Accept:
text/csv``) or a printable page (``format=html``; Chinese by default, ``lang=en``). An organization's
caller gets its own sites only."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from central import localtime
from central.api.csv_export import csv_documented, csv_response, wants_csv
from central.api.deps import Reader, ScopeDep, ServicesDep
from central.api.responses import errors, json_response
from central.api.schemas import MAX_MS
from central.api.scoping import sees_gateway
from central.reports import render
from central.reports.shift import shift_report

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

SHIFT_MS = 12 * 3_600_000
MAX_SPAN_MS = 31 * 86_400_000


@router.get(
    "/shift",
    summary="The shift handover: per site, alarms opened, still active, acknowledged, closed with their "
    "handling, not acknowledged, shelved, the longest wait, silent gateways and faults",
    responses={**errors(400, 401, 403, 422), **csv_documented("text/html")},
)
async def shift(
    *,
    request: Request,
    services: ServicesDep,
    _: Reader,
    scope: ScopeDep,
    start: Annotated[
        int | None, Query(ge=0, le=MAX_MS, description="epoch ms; default: 12 h before end")
    ] = None,
    end: Annotated[int | None, Query(ge=0, le=MAX_MS, description="epoch ms; default: now")] = None,
    tz: Annotated[
        str | None, Query(max_length=64, description="IANA zone of the texts; default: the command center's")
    ] = None,
    format_: Annotated[Literal["json", "csv", "html"] | None, Query(alias="format")] = None,
    lang: Literal["zh", "en"] = "zh",
) -> Response:
    end_ms = end if end is not None else services.clock_ms()
    start_ms = start if start is not None else max(0, end_ms - SHIFT_MS)
    if not start_ms < end_ms <= start_ms + MAX_SPAN_MS:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "start must be before end, at most 31 days before")
    zone_name = tz or services.settings.time_zone
    try:
        localtime.zone(zone_name)
    except localtime.UnknownZoneError as e:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(e)) from None
    store = services.store
    day = await store.query(store.shift_alarms, start_ms, end_ms)
    seen = [a for a in day if sees_gateway(scope, a.gateway_id)]  # an organization's caller: its own sites
    report = shift_report(seen, start_ms, end_ms, zone_name)
    if wants_csv(request, format_):
        return csv_response(f"shift-{start_ms}.csv", render.CSV_HEADER, render.csv_rows(report))
    if format_ == "html":
        return HTMLResponse(render.html(report, lang))
    return json_response(report)
