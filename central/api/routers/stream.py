"""``GET /api/v1/stream``: server-sent events of alarm changes and gateway status, as they happen.

Events: ``alarm`` (data: the alarm, as in ``/api/v1/alarms``) and ``gateway`` (data: ``{gateway_id,
status, last_seen_ms}``). A comment line every 15 s keeps proxies from closing an idle stream. A client
that falls a whole queue behind is cut off (the stream ends): it reconnects and reads the current state.

An organization's caller gets only its gateways' changes. What it sees is read when the stream opens,
and again (at most once a second) when a change names a gateway it does not know: a gateway that joins
one of its sites later is seen from its first change on.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter
from fastapi.sse import EventSourceResponse, ServerSentEvent

from central.api.deps import Reader, ScopeDep, ServicesDep
from central.api.responses import errors
from central.api.scoping import sees_gateway

router = APIRouter(prefix="/api/v1", tags=["stream"])
RESCOPE_S = 1.0


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    summary="Live alarm changes and gateway status (text/event-stream)",
    responses=errors(401, 403),
)
async def stream(services: ServicesDep, who: Reader, scope: ScopeDep) -> AsyncIterator[ServerSentEvent]:
    read_at = time.monotonic()
    async with services.hub.subscribe() as sub:
        yield ServerSentEvent(comment="fieldwatch: subscribed")
        while True:
            kind, payload = await sub.queue.get()
            if kind == "cut":
                yield ServerSentEvent(event="cut", raw_data="you fell behind; reconnect and read the state")
                return
            gateway = payload.get("gateway_id")
            if scope is not None and who.orgs is not None and gateway not in scope.gateways:
                if time.monotonic() - read_at >= RESCOPE_S:
                    scope = await services.store.query(services.auth.accounts.visible, who.orgs)
                    read_at = time.monotonic()
                if not sees_gateway(scope, gateway):
                    continue  # another organization's
            yield ServerSentEvent(event=kind, raw_data=orjson.dumps(payload).decode())
