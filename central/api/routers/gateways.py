"""Gateways and their health: status (online or silent), last seen, acked seq, the latest heartbeat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status

from central.api.deps import Reader, StoreDep
from central.api.responses import errors, json_response, listing
from central.api.schemas import IDENT, GatewayList, GatewayOut

router = APIRouter(prefix="/api/v1", tags=["gateways"])


@router.get(
    "/gateways", response_model=GatewayList, summary="Gateways and their health", responses=errors(401, 403)
)
async def gateways(store: StoreDep, _: Reader) -> Response:
    return listing(await store.call(store.gateways))


@router.get(
    "/gateways/{gateway_id}",
    response_model=GatewayOut,
    summary="One gateway",
    responses=errors(401, 403, 404),
)
async def gateway(gateway_id: Annotated[str, Path(pattern=IDENT)], store: StoreDep, _: Reader) -> Response:
    found = await store.call(store.gateway, gateway_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no gateway {gateway_id}")
    return json_response(found)
