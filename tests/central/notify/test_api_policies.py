"""The admin's notification policies through the API: read, replace (422 with every problem), and the
replacement in force at once; on both stores."""

from __future__ import annotations

import asyncio
from pathlib import Path

from central.store.base import Store
from tests.central.builders import event
from tests.central.notify.centrals import central
from tests.central.notify.receivers import WebhookReceiver


def text(url: str, min_level: str) -> str:
    return (
        f'contacts:\n  - {{name: duty-desk, url: "{url}"}}\n'
        f"policies:\n  - name: hazards\n    min_level: {min_level}\n    notify: [duty-desk]\n"
    )


async def test_an_admin_reads_and_replaces_the_policies(
    store: Store, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    async with central(store, tmp_path, text(webhook.url(), "red")) as c:
        r = await c.http.get("/api/v1/notify/policies", headers=c.admin)
        assert r.status_code == 200
        got = r.json()
        assert (got["version"], got["path"]) == (1, str(tmp_path / "notify.yaml"))
        assert got["text"] == text(webhook.url(), "red")
        assert got["policies"]["policies"][0]["min_level"] == 4
        assert (await c.http.get("/api/v1/notify/policies", headers=c.operator)).status_code == 403

        bad = await c.http.put(
            "/api/v1/notify/policies", json={"text": text(webhook.url(), "purple")}, headers=c.admin
        )
        assert bad.status_code == 422
        assert bad.json()["detail"].startswith("notify.yaml:5: policies[0].min_level: expected a level name")

        r = await c.http.put(
            "/api/v1/notify/policies", json={"text": text(webhook.url(), "blue")}, headers=c.admin
        )
        assert r.status_code == 200 and r.json()["version"] == 2
        await c.send(event("gw-1", 1, 1, 0))  # blue: notified under the new set only
        await asyncio.to_thread(webhook.wait_for, 1, 15.0)


async def test_without_policies_the_api_says_how_to_give_them(store: Store, tmp_path: Path) -> None:
    async with central(store, tmp_path, "", no_file=True) as c:
        r = await c.http.get("/api/v1/notify/policies", headers=c.admin)
        assert r.status_code == 404 and "--notify FILE" in r.json()["detail"]
