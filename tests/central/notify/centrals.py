"""A central with notifications for tests: the app on a store, served by uvicorn in the test's loop, with a
policy file; and helpers to send it events and read the alarm's timeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from central.app import create_app
from central.auth import Role
from central.settings import load_settings
from central.store.base import Store
from protocols.records import Event
from protocols.wire import encode_batch
from tests.central.builders import events_batch
from tests.central.client import add_token, bearer
from tests.support.serving import serving

NOTIFY_KINDS = ("notified", "notify_failed")
FAST = {"notify_retry_initial_s": 0.2, "notify_lease_s": 4.0}  # retries and leases in test time


@dataclass
class Central:
    http: httpx.AsyncClient
    gateway: dict[str, str]
    operator: dict[str, str]
    admin: dict[str, str]
    batches: int = 0

    async def send(self, *events: Event) -> None:
        self.batches += 1
        body = encode_batch(events_batch("gw-1", list(events), batch_id=self.batches))
        r = await self.http.post("/api/v1/ingest", content=body, headers=self.gateway)
        assert r.status_code == 200, r.text

    async def acknowledge(self, alarm_id: int) -> None:
        r = await self.http.post(f"/api/v1/alarms/{alarm_id}/acknowledge", json={}, headers=self.operator)
        assert r.status_code == 200, r.text

    async def timeline(self, alarm_id: int) -> list[dict[str, Any]]:
        r = await self.http.get(f"/api/v1/alarms/{alarm_id}", headers=self.operator)
        assert r.status_code == 200, r.text
        return list(r.json()["timeline"])

    async def notes(self, alarm_id: int, n: int, timeout_s: float = 15.0) -> list[dict[str, Any]]:
        """The alarm's ``notified`` and ``notify_failed`` entries, once there are ``n`` (bounded)."""
        async with asyncio.timeout(timeout_s):
            while True:
                found = [t for t in await self.timeline(alarm_id) if t["kind"] in NOTIFY_KINDS]
                if len(found) >= n:
                    return found
                await asyncio.sleep(0.05)


@asynccontextmanager
async def central(
    store: Store, tmp_path: Path, policies: str, *, no_file: bool = False, **settings: Any
) -> AsyncIterator[Central]:
    """The central on ``store`` with ``policies`` as its ``--notify`` file (``no_file``: none), serving on a
    free port."""
    path = tmp_path / "notify.yaml"
    path.write_text(policies)
    notify_file = None if no_file else str(path)
    chosen = load_settings(
        env={}, notify_file=notify_file, base_url="http://console.test", **{**FAST, **settings}
    )
    tokens = {role: bearer(add_token(store, role, "gw-1" if role is Role.GATEWAY else None, name="t"))
              for role in (Role.GATEWAY, Role.OPERATOR, Role.ADMIN)}  # fmt: skip
    async with (
        serving(create_app(chosen, store=store)) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        yield Central(http, tokens[Role.GATEWAY], tokens[Role.OPERATOR], tokens[Role.ADMIN])
