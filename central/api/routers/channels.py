"""Channels, their latest values, and a channel's history in time buckets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from central import localtime
from central.api import exports
from central.api.csv_export import csv_documented, csv_pages_response, csv_response, wants_csv
from central.api.deps import Reader, ScopeDep, ServicesDep, StoreDep
from central.api.responses import errors, json_response
from central.api.schemas import IDENT, KEY, MAX_MS, ChannelList, History, LatestList, ReadingList
from central.api.scoping import gateway_of, not_found_unless, sees_gateway, within
from central.store.base import NotFoundError, Store

router = APIRouter(prefix="/api/v1", tags=["channels"])

BUCKET_MS = {"1m": 60_000, "10m": 600_000, "1h": 3_600_000, "1d": 86_400_000}
DEFAULT_SPAN_MS = {"1m": 6 * 3_600_000, "10m": 2 * 86_400_000, "1h": 30 * 86_400_000, "1d": 365 * 86_400_000}
MAX_BUCKETS = 20_000
PAGE_ROWS, MAX_PAGE_ROWS = 1000, 10_000

SiteQ = Annotated[str | None, Query(alias="site", pattern=IDENT, description="site id")]
GatewayQ = Annotated[str | None, Query(alias="gateway", pattern=IDENT, description="gateway id")]
DeviceQ = Annotated[
    str | None, Query(alias="device", pattern=IDENT, description="device id (within gateways)")
]
LimitQ = Annotated[int, Query(ge=1, le=MAX_PAGE_ROWS, description="rows per page")]
OffsetQ = Annotated[int, Query(ge=0, le=1 << 40, description="rows to skip (ordered by channel key)")]


def page(rows: Sequence[object], count: int, limit: int, offset: int) -> Response:
    return json_response({"data": rows, "count": count, "limit": limit, "offset": offset})


@router.get(
    "/channels", response_model=ChannelList, summary="Registered channels", responses=errors(401, 403, 422)
)
async def channels(
    store: StoreDep,
    _: Reader,
    scope: ScopeDep,
    site: SiteQ = None,
    gateway: GatewayQ = None,
    device: DeviceQ = None,
    *,
    limit: LimitQ = PAGE_ROWS,
    offset: OffsetQ = 0,
) -> Response:
    rows, count = await store.query(
        store.channel_page, site, gateway, device, limit, offset, within=within(scope)
    )
    return page(rows, count, limit, offset)


@router.get(
    "/latest",
    response_model=LatestList,
    summary="Latest value of each channel, filtered by site, gateway, device or channel keys",
    responses=errors(401, 403, 422),
)
async def latest(
    *,
    store: StoreDep,
    _: Reader,
    scope: ScopeDep,
    site: SiteQ = None,
    gateway: GatewayQ = None,
    device: DeviceQ = None,
    channel: Annotated[list[str] | None, Query(max_length=1000, description="channel keys (repeat)")] = None,
    limit: LimitQ = PAGE_ROWS,
    offset: OffsetQ = 0,
) -> Response:
    keys = tuple(channel or ())
    if any(not _is_key(k) for k in keys):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "channel: expected gateway/device/point keys"
        )
    rows, count = await store.query(
        store.latest_page, site, gateway, device, keys, limit=limit, offset=offset, within=within(scope)
    )
    return page(rows, count, limit, offset)


async def _known_channel(store: Store, key: str) -> None:
    """404 before a CSV starts streaming (its status line is sent with the first bytes)."""
    try:
        await store.query(store.readings, key, 0, 1, 1)
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None


def _is_key(key: str) -> bool:
    return re.fullmatch(KEY, key) is not None


@router.get(
    "/readings",
    response_model=ReadingList,
    summary="One channel's raw readings with their quality flags, oldest first",
    responses={**errors(401, 403, 404, 422), **csv_documented()},
)
async def readings(
    *,
    services: ServicesDep,
    _: Reader,
    request: Request,
    scope: ScopeDep,
    channel: Annotated[str, Query(pattern=KEY, description="the channel key gateway/device/point")],
    start_ms: Annotated[int, Query(ge=0, le=MAX_MS)] = 0,
    end_ms: Annotated[int | None, Query(ge=0, le=MAX_MS, description="default: now")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    format_: Annotated[
        Literal["json", "csv"] | None,
        Query(alias="format", description="csv (or Accept: text/csv): the whole window, streamed"),
    ] = None,
) -> Response:
    not_found_unless(sees_gateway(scope, gateway_of(channel)), f"channel {channel}")
    end = end_ms if end_ms is not None else services.clock_ms()
    store = services.store
    if wants_csv(request, format_):
        await _known_channel(store, channel)
        tz = localtime.zone(services.settings.time_zone)
        pages = exports.reading_pages(store, channel, start_ms, end, tz)
        return csv_pages_response("readings.csv", exports.READING_HEADER, pages)
    try:
        data = await store.query(store.readings, channel, start_ms, end, limit)
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    return json_response({"channel": channel, "data": data, "count": len(data)})


@router.get(
    "/history",
    response_model=History,
    summary="One channel's history in time buckets (min, max, mean, last, count)",
    description="Buckets are aligned to UTC (a 1d bucket is a UTC day) unless `tz` names a time zone: "
    "then 1d buckets run from local midnight to local midnight. Buckets without readings are "
    "left out. Defaults: the window ends now and spans 6 h (1m), 2 d (10m), 30 d (1h) or 1 y (1d).",
    responses={**errors(400, 401, 403, 404, 422), **csv_documented()},
)
async def history(
    *,
    services: ServicesDep,
    _: Reader,
    scope: ScopeDep,
    channel: Annotated[str, Query(pattern=KEY, description="the channel key gateway/device/point")],
    bucket: Literal["1m", "10m", "1h", "1d"] = "1h",
    start_ms: Annotated[int | None, Query(ge=0, le=MAX_MS)] = None,
    end_ms: Annotated[int | None, Query(ge=0, le=MAX_MS)] = None,
    tz: Annotated[
        str | None, Query(max_length=64, description="IANA time zone for 1d buckets, e.g. Asia/Shanghai")
    ] = None,
    request: Request,
    format_: Annotated[
        Literal["json", "csv"] | None, Query(alias="format", description="csv: a spreadsheet")
    ] = None,
) -> Response:
    if tz is not None:
        try:
            localtime.zone(tz)
        except localtime.UnknownZoneError as e:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(e)) from None
    not_found_unless(sees_gateway(scope, gateway_of(channel)), f"channel {channel}")
    end = end_ms if end_ms is not None else services.clock_ms()
    start = start_ms if start_ms is not None else max(0, end - DEFAULT_SPAN_MS[bucket])
    width = BUCKET_MS[bucket]
    if start >= end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "start_ms must be before end_ms")
    if (end - start) // width > MAX_BUCKETS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"more than {MAX_BUCKETS} buckets: use a wider bucket"
        )
    store = services.store
    try:
        data = await store.query(store.history, channel, start, end, width, day_zone=tz)
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    if wants_csv(request, format_):
        zone = localtime.zone(tz or services.settings.time_zone)
        rows = [exports.bucket_row(channel, b, zone) for b in data]
        return csv_response("history.csv", exports.HISTORY_HEADER, rows)
    return json_response(
        {"channel": channel, "bucket": bucket, "start_ms": start, "end_ms": end, "data": data}
    )
