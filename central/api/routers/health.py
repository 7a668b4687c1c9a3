"""``/healthz`` (no token: for load balancers and systemd) and ``/metrics`` (Prometheus; a reader token)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from central.api.deps import Reader, ServicesDep
from central.api.responses import errors, json_response
from central.api.schemas import Health
from central.metrics import render

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=Health,
    summary="Is this process serving? (no token needed)",
    responses={503: {"model": Health, "description": "the database does not answer within 2 s"}},
)
async def healthz(services: ServicesDep) -> Response:
    store = services.store
    mqtt = "disabled"
    if services.mqtt is not None:
        mqtt = "connected" if services.mqtt.connected.is_set() else "disconnected"
    if not await store.healthy():  # its own thread and connection: fast while the pool is busy
        return json_response({"status": "degraded", "store": store.kind, "mqtt": mqtt}, status_code=503)
    return json_response({"status": "ok", "store": store.kind, "mqtt": mqtt})


@router.get(
    "/metrics",
    summary="Counters and gauges in the Prometheus text format",
    response_class=Response,
    responses={
        200: {"content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}},
        **errors(401, 403),
    },
)
async def metrics(services: ServicesDep, who: Reader) -> Response:
    if who.orgs is not None:  # counts over the whole county: not an enterprise's to read
        raise HTTPException(status.HTTP_403_FORBIDDEN, "metrics are for the top organization's callers")
    store = services.store
    counts = await store.query(store.counts)
    return Response(render(services, counts), media_type="text/plain; version=0.0.4")
