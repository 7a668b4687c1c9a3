"""Fixtures for the console's browser tests: the demo's county on a real central, a browser, a page.

``county``: a SQLite store holding the county (``county.py``) up to now, served by uvicorn in a thread,
with an operator's and the tower gateway's tokens. ``browser``: headless chromium for the module.
``visit``: a fresh browser context whose every request to another host is aborted and recorded, and
whose page errors are recorded; the test fails at teardown if there were any.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI

from central.app import create_app
from central.auth import Role
from central.settings import load_settings
from central.store.sqlite import SqliteStore
from protocols.wire import Batch, encode_batch
from tests.central.client import add_token, bearer
from tests.central.console.browser import VIEWPORT, browser_session, require_browser
from tests.central.console.county import TOWER, load_county
from tests.central.console.served import ThreadedCentral

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

OPERATOR = "李伟(值班员)"
READY_TIMEOUT_MS = 15_000


@dataclass
class County:
    url: str
    store: SqliteStore
    server: ThreadedCentral
    operator: str  # tokens
    tower: str
    end_ms: int

    def send(self, batch: Batch) -> None:
        """POST a gateway's batch, as the tower's gateway would (over HTTP: the live stream announces it)."""
        r = httpx.post(f"{self.url}/api/v1/ingest", content=encode_batch(batch), headers=bearer(self.tower))
        assert r.status_code == 200, r.text


@pytest.fixture
def county(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[County]:
    """Parametrise indirectly with ``{"settings": {...}, "app": callable(app)}`` to change the central."""
    given = getattr(request, "param", {})
    store = SqliteStore(tmp_path / "central.db", threads=2)
    store.migrate()
    end_ms = time.time_ns() // 1_000_000
    load_county(store, end_ms)
    operator = add_token(store, Role.OPERATOR, name=OPERATOR)
    tower = add_token(store, Role.GATEWAY, TOWER.gateway)
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db", **given.get("settings", {}))

    def make_app() -> FastAPI:
        app = create_app(settings, store=store)
        given.get("app", lambda _: None)(app)
        return app

    server = ThreadedCentral(make_app)
    url = server.start()
    try:
        yield County(url, store, server, operator, tower, end_ms)
    finally:
        server.stop()
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_browser()
    with browser_session() as b:
        yield b


@dataclass
class Visit:
    page: Page
    url: str
    outside: list[str] = field(default_factory=list)  # requests to any other host (aborted)
    errors: list[str] = field(default_factory=list)  # uncaught page errors

    def sign_in(self, token: str) -> None:
        self.page.goto(self.url + "/")
        self.page.click("[data-login=token]")  # the page offers a user name and password first
        self.page.fill("input[name=token]", token)
        self.page.click("button[type=submit]")
        self.ready()

    def sign_in_as(self, username: str, password: str) -> None:
        self.page.goto(self.url + "/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.ready()

    def ready(self) -> None:
        self.page.wait_for_selector("html[data-ready=true]", timeout=READY_TIMEOUT_MS)


@pytest.fixture
def visit(browser: Browser, county: County) -> Iterator[Visit]:
    # The browser's own zone is UTC: the page must show the command center's (Asia/Shanghai) anyway.
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="UTC")
    page = context.new_page()
    v = Visit(page, county.url)
    origin = county.url + "/"

    def abort(route: Any) -> None:
        v.outside.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(origin), abort)
    page.on("pageerror", lambda e: v.errors.append(str(e)))
    try:
        yield v
    finally:
        context.close()
    assert v.outside == [], f"requests left 127.0.0.1: {v.outside}"
    assert v.errors == [], f"errors on the page: {v.errors}"
