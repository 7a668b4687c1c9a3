"""Gateways and their health: status (online or silent), last seen, acked seq, the latest heartbeat; and
the devices behind them with the text points (model, firmware) their gateway reported."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from central.api.deps import Reader, ScopeDep, StoreDep
from central.api.responses import errors, json_response, listing
from central.api.schemas import IDENT, DeviceList, GatewayList, GatewayOut
from central.api.scoping import sees_gateway

router = APIRouter(prefix="/api/v1", tags=["gateways"])


@router.get(
    "/gateways", response_model=GatewayList, summary="Gateways and their health", responses=errors(401, 403)
)
async def gateways(store: StoreDep, _: Reader, scope: ScopeDep) -> Response:
    return listing([g for g in await store.query(store.gateways) if sees_gateway(scope, g.id)])


@router.get(
    "/gateways/{gateway_id}",
    response_model=GatewayOut,
    summary="One gateway",
    responses=errors(401, 403, 404),
)
async def gateway(
    gateway_id: Annotated[str, Path(pattern=IDENT)], store: StoreDep, _: Reader, scope: ScopeDep
) -> Response:
    found = await store.query(store.gateway, gateway_id)
    if found is None or not sees_gateway(scope, gateway_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no gateway {gateway_id}")
    return json_response(found)


@router.get(
    "/devices",
    response_model=DeviceList,
    summary="Devices, their profile and the model and firmware their gateway read from them",
    responses=errors(401, 403, 422),
)
async def devices(
    store: StoreDep,
    _: Reader,
    scope: ScopeDep,
    site: Annotated[str | None, Query(pattern=IDENT, description="site id")] = None,
    gateway: Annotated[str | None, Query(pattern=IDENT, description="gateway id")] = None,
) -> Response:
    found = await store.query(store.devices, site, gateway)
    return listing([d for d in found if sees_gateway(scope, d.gateway_id)])
