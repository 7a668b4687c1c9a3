"""``GET /api/v1/stream``: server-sent events of alarm changes and gateway status, as they happen.

Events: ``alarm`` (data: the alarm, as in ``/api/v1/alarms``) and ``gateway`` (data: ``{gateway_id,
status, last_seen_ms}``). A comment line every 15 s keeps proxies from closing an idle stream. A client
that falls a whole queue behind is cut off (the stream ends): it reconnects and reads the current state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter
from fastapi.sse import EventSourceResponse, ServerSentEvent

from central.api.deps import Reader, ScopeDep, ServicesDep
from central.api.responses import errors
from central.api.scoping import sees_gateway

router = APIRouter(prefix="/api/v1", tags=["stream"])


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    summary="Live alarm changes and gateway status (text/event-stream)",
    responses=errors(401, 403),
)
async def stream(services: ServicesDep, _: Reader, scope: ScopeDep) -> AsyncIterator[ServerSentEvent]:
    async with services.hub.subscribe() as sub:
        yield ServerSentEvent(comment="fieldwatch: subscribed")
        while True:
            kind, payload = await sub.queue.get()
            if kind == "cut":
                yield ServerSentEvent(event="cut", raw_data="you fell behind; reconnect and read the state")
                return
            if not sees_gateway(scope, payload.get("gateway_id")):
                continue  # another organization's (the scope is read once, when the stream opens)
            yield ServerSentEvent(event=kind, raw_data=orjson.dumps(payload).decode())
