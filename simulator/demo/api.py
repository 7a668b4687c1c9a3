"""The central's query API as the demo uses it: a bearer token, JSON in, and the live event stream.

Only documented endpoints (``/openapi.json``): ``/healthz``, ``/api/v1/sites``, ``/gateways``,
``/alarms`` and ``/alarms/{id}`` (the timeline), ``/channels``, ``/readings`` and ``/stream``
(server-sent events). Readings are asked for up to 2100: the gateways' fast-forwarded clocks run ahead of
the central's wall clock, which is ``/readings``' default end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

MAX_MS = 4_102_444_800_000  # 2100-01-01, the API's bound
PAGE_ROWS = 10_000  # /readings' largest page
ALARM_PAGE = 500  # /alarms' largest page


class CentralApi:
    def __init__(self, base_url: str, token: str, timeout_s: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, path: str, **params: Any) -> Any:
        response = await self._client.get(path, params={k: v for k, v in params.items() if v is not None})
        response.raise_for_status()
        return orjson.loads(response.content)

    async def healthy(self) -> bool:
        try:
            response = await self._client.get("/healthz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def sites(self) -> list[dict[str, Any]]:
        return list((await self.get("/api/v1/sites"))["data"])

    async def gateways(self) -> list[dict[str, Any]]:
        return list((await self.get("/api/v1/gateways"))["data"])

    async def alarms(self, gateway: str | None = None) -> list[dict[str, Any]]:
        """Every alarm (of one gateway), oldest first."""
        out: list[dict[str, Any]] = []
        while True:
            page = await self.get("/api/v1/alarms", gateway=gateway, limit=ALARM_PAGE, offset=len(out))
            out += page["data"]
            if not page["data"] or len(out) >= page["count"]:
                return sorted(out, key=lambda a: a["id"])

    async def alarm(self, alarm_id: int) -> dict[str, Any]:
        """``{"alarm": {...}, "timeline": [...]}``."""
        return dict(await self.get(f"/api/v1/alarms/{alarm_id}"))

    async def channels(self, gateway: str) -> list[dict[str, Any]]:
        return list((await self.get("/api/v1/channels", gateway=gateway))["data"])

    async def reading_seqs(self, channel: str) -> list[int]:
        """The seq of every stored reading of ``channel`` (repeats kept: they are what is counted)."""
        seqs: list[int] = []
        start_ms = 0
        seen_at_start: set[int] = set()
        while True:
            page = await self.get(
                "/api/v1/readings", channel=channel, start_ms=start_ms, end_ms=MAX_MS, limit=PAGE_ROWS
            )
            rows = page["data"]
            fresh = [r for r in rows if not (r["ts_ms"] == start_ms and r["seq"] in seen_at_start)]
            seqs += [int(r["seq"]) for r in fresh]
            if len(rows) < PAGE_ROWS:
                return seqs
            start_ms = int(rows[-1]["ts_ms"])  # the next page starts at the last stamp, without its rows
            seen_at_start = {int(r["seq"]) for r in rows if r["ts_ms"] == start_ms}

    async def stream(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """``(event, data)`` from ``/api/v1/stream`` until it ends (the caller reconnects)."""
        timeout = httpx.Timeout(10.0, read=60.0)  # the central sends a comment every 15 s
        async with self._client.stream("GET", "/api/v1/stream", timeout=timeout) as response:
            response.raise_for_status()
            event, data = "", []
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and event:
                    if event == "cut":
                        return
                    yield event, orjson.loads("\n".join(data)) if data else {}
                    event, data = "", []
