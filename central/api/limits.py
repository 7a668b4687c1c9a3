"""What one request may cost: a size and a time limit for its body; quiet answers when the client or the
pool gives up.

- ``BodyLimit``: a body over ``max_body_bytes`` gets 413 as JSON (``{"detail": ...}``, like every error):
  at once when its Content-Length says so, else when the bytes read pass the limit (Starlette's own limit
  answers in plain text, which the API document does not promise);

- ``BodyDeadline``: ASGI middleware that gives every request ``body_timeout_s`` to deliver its whole body;
  a body that trickles in past that ends in 408 (``BodyTimeoutError``), so an upload left half-sent does
  not hold a connection and a worker forever;
- a client that goes away mid-body (Starlette's ``ClientDisconnect``) is one info line, not an ERROR
  traceback: nothing can be answered to it;
- ``StoreBusyError`` (every database thread busy, too many calls waiting) is 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central.api.responses import json_response
from central.store.base import StoreBusyError

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 1


class BodyTimeoutError(Exception):
    """The request's body did not arrive within the time limit."""


class BodyTooLargeError(HTTPException):
    """Raised from ``receive``: an HTTPException, so FastAPI's body parsing passes it on as it is."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(413, f"the request body is over the limit of {max_body_bytes} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            detail = BodyTooLargeError(self.max_body_bytes).detail
            await json_response({"detail": detail}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLargeError(self.max_body_bytes)
            return message

        await self.app(scope, receive_within_limit, send)


class BodyDeadline:
    def __init__(self, app: ASGIApp, body_timeout_s: float) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        done = False

        async def receive_in_time() -> Message:
            nonlocal done
            if done:  # the body is in: what comes now is the disconnect, which may take as long as it takes
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeoutError(
                    f"the request body did not arrive within {self.body_timeout_s:g} s"
                ) from None
            done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, receive_in_time, send)


def install(app: FastAPI, body_timeout_s: float, max_body_bytes: int) -> None:
    app.add_middleware(BodyDeadline, body_timeout_s=body_timeout_s)
    app.add_middleware(BodyLimit, max_body_bytes=max_body_bytes)
    app.add_exception_handler(BodyTimeoutError, _body_timeout)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(StoreBusyError, _store_busy)


async def _body_timeout(request: Request, exc: Any) -> Response:
    logger.info("%s %s: %s", request.method, request.url.path, exc)
    return json_response({"detail": str(exc)}, status_code=408)


async def _client_gone(request: Request, exc: Any) -> Response:
    client = request.client.host if request.client else "?"
    logger.info(
        "%s %s: the client (%s) went away before its request was in", request.method, request.url.path, client
    )
    return Response(status_code=400)  # nobody is there to read it


async def _store_busy(request: Request, exc: Any) -> Response:
    logger.debug("%s %s: %s", request.method, request.url.path, exc)
    response = json_response({"detail": f"the central is busy: {exc}; try again shortly"}, status_code=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
