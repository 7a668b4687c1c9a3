"""An app on either store with a clock the test moves, for the alarm-handling tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from central.app import create_app
from central.auth import Role
from central.settings import load_settings
from central.store.base import Store
from tests.central.builders import T0
from tests.central.client import TestClient, add_token, bearer


@dataclass
class Desk:
    client: TestClient
    store: Store
    operator: dict[str, str]
    viewer: dict[str, str]
    now: list[int] = field(default_factory=lambda: [T0 + 3_600_000])
    admin: dict[str, str] = field(default_factory=dict)

    def get(self, path: str) -> Any:
        r = self.client.get(path, headers=self.viewer)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: object = None) -> tuple[int, dict[str, object]]:
        r = self.client.post(path, json=body, headers=self.operator)
        return r.status_code, r.json()


@pytest.fixture
def desk(store: Store, tmp_path: Path) -> Iterator[Desk]:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db", max_body_bytes=1 << 20)
    now = [T0 + 3_600_000]
    app = create_app(settings, store=store, clock_ms=lambda: now[0])
    with TestClient(app) as client:
        yield Desk(
            client, store, bearer(add_token(store, Role.OPERATOR, name="alice")),
            bearer(add_token(store, Role.VIEWER, name="vic")), now,
            bearer(add_token(store, Role.ADMIN, name="root")),
        )  # fmt: skip
