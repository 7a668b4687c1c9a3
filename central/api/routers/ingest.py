"""``POST /api/v1/ingest``: a gateway's batch in, the acknowledgement out, after commit.

The body is the wire-v1 batch (``protocols.wire``), raw or gzip: gzip is recognised by its magic bytes,
with or without ``Content-Encoding: gzip`` (FastAPI does not inflate request bodies itself; the wire
decoder does, with a limit on the inflated size). Answers: 200 with the ack; 422 with an ack whose
``error`` says why the batch is refused for good (malformed, or a gap between its declared seq ranges
and its rows, or a batch that would pass the gateway's channel limit); 401/403 for the token; 408 when
the body does not arrive in time; 413 when the body is over ``max_body_bytes``; 503 when the database
fails or is too busy (nothing was committed: the edge keeps the rows and sends them again).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status

from central.api.deps import PrincipalDep, ServicesDep
from central.api.responses import JSON, errors
from central.api.schemas import AckOut, ErrorOut
from central.auth import Role
from central.ingest.service import GatewayMismatchError
from central.store.base import StoreBusyError
from protocols.wire import GZIP_MAGIC, Ack, encode_ack

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["ingest"])

BATCH_EXAMPLE = {
    "v": 1, "gateway": "gw-slope-01", "batch_id": 17, "sent_ms": 1764370000000, "seq_ranges": [[1001, 1003]],
    "keys": ["gw-slope-01/gnss-03/north_mm"],
    "readings": {"seq": [1001, 1003], "channel": [0, 0], "ts_ms": [1764369990000, 1764370000000],
                 "value": [12.4, 12.9], "quality": [0, 0]},
    "events": [{"seq": 1002, "channel": "gw-slope-01/gnss-03/north_mm", "ts_ms": 1764369995000,
                "rule": "velocity", "level": 3, "previous_level": 2, "value": 12.5,
                "message": "displacement velocity 12.5 mm/h reached orange",
                "forecast": {"failure_ts_ms": 1764400000000, "r2": 0.93, "points": 40}}],
    "site": {"id": "slope-north", "name": "North pit slope", "type": "mine_slope", "latitude_deg": 30.512,
             "longitude_deg": 110.321},
    "channels": [{"key": "gw-slope-01/gnss-03/north_mm", "unit": "mm", "profile": "gnss_nmea_rtk",
                  "latitude_deg": 30.513, "longitude_deg": 110.322, "physical_range": None}],
    "heartbeat": {"version": "0.1.0", "heartbeat_interval_s": 60, "clock_synchronised": True,
                  "outbox": {"rows": 0, "bytes": 0, "oldest_unacked_ms": None, "events": 0}},
}  # fmt: skip

BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A wire-v1 batch (protocols/wire.py): readings as columns, events, metadata, heartbeat.",
    "required": ["v", "gateway", "batch_id", "sent_ms", "seq_ranges", "keys"],
    "properties": {
        "v": {"type": "integer", "enum": [1]},
        "gateway": {"type": "string"},
        "batch_id": {"type": "integer"},
        "sent_ms": {"type": "integer"},
        "seq_ranges": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        "keys": {"type": "array", "items": {"type": "string"}},
        "readings": {"type": "object"},
        "events": {"type": "array", "items": {"type": "object"}},
        "site": {"type": ["object", "null"]},
        "channels": {"type": "array", "items": {"type": "object"}},
        "heartbeat": {"type": ["object", "null"]},
    },
}

REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": BATCH_SCHEMA, "example": BATCH_EXAMPLE},
            "application/gzip": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def refused(reason: str) -> Response:
    return Response(encode_ack(Ack("", 0, 0, (), reason)), status_code=422, media_type=JSON)


@router.post(
    "/ingest",
    response_model=AckOut,
    summary="Ingest one batch from a gateway",
    responses={
        **errors(401, 403, 408, 413),
        503: {
            "model": ErrorOut,
            "description": "the database failed or is busy; nothing was stored: send it again",
        },
        422: {"model": AckOut, "description": "the batch is refused for good; `error` says why"},
    },
    openapi_extra=REQUEST_BODY,
)
async def ingest(request: Request, services: ServicesDep, principal: PrincipalDep) -> Response:
    if principal.role not in (Role.GATEWAY, Role.ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "ingest needs a gateway (or admin) token")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        return refused(f"Content-Encoding {encoding!r} is not supported: send gzip or nothing")
    body = await request.body()
    if encoding == "gzip" and not body.startswith(GZIP_MAGIC):
        return refused("Content-Encoding is gzip but the body is not gzip")
    try:
        ack = await services.ingestor.ingest(body, allowed_gateway=principal.may_ingest, transport="http")
    except GatewayMismatchError as e:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this token may not ingest for gateway {e.args[0]!r}"
        ) from None
    except StoreBusyError:
        raise  # 503 with Retry-After (central.api.limits), without a traceback
    except Exception:  # the database failed: nothing was committed, the edge keeps the rows and resends
        logger.exception("ingest failed")
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the batch could not be stored now; send it again later"
        ) from None
    return Response(encode_ack(ack), status_code=422 if ack.refused else 200, media_type=JSON)
