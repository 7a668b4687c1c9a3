"""A small county for the account tests: the bureau, three enterprises each with one site and gateway
(readings, an open alarm), a duty officer, one user per enterprise, and an app on a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from central.accounts.users import new_user
from central.app import create_app
from central.auth import Role
from central.settings import load_settings
from central.store.account_records import Org
from central.store.accounts import AccountStore
from central.store.base import Store
from protocols.wire import ChannelMeta, SiteMeta
from tests.central.builders import T0, event, key, readings_batch
from tests.central.client import TestClient, add_token, bearer

PASSWORD = "correct horse battery"
ENTERPRISES = ("mine-north", "tanks-east", "forest-west")
GATEWAYS = {"mine-north": "gw-mine", "tanks-east": "gw-tanks", "forest-west": "gw-forest"}
SITES = {"mine-north": "site-mine", "tanks-east": "site-tanks", "forest-west": "site-forest"}
ORIGIN = "http://testserver"


@dataclass
class Clock:
    now_ms: int = T0 + 3_600_000

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)


@dataclass
class World:
    client: TestClient
    store: Store
    accounts: AccountStore
    clock: Clock
    admin: dict[str, str]  # the county's admin token (made before the migration's orgs existed)
    extra: dict[str, Any] = field(default_factory=dict)

    def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        r = self.client.post("/api/v1/session", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def headers_of(self, username: str) -> dict[str, str]:
        return bearer(self.login(username)["token"])


def populate(store: Store) -> None:
    """Three sites, one gateway each, readings on two channels (one located) and a red alarm each."""
    for org, gateway in GATEWAYS.items():
        site = SiteMeta(SITES[org], f"Site of {org}", "other", 30.0, 110.0)
        located = ChannelMeta(key(gateway, "dev-1", "p0"), "m", "p", latitude_deg=30.1, longitude_deg=110.1)
        store.ingest(readings_batch(gateway, range(1, 5), site=site, channels=[located]), T0)
        batch = readings_batch(gateway, [], batch_id=2, events=[event(gateway, 5, 4, 0)])
        store.ingest(batch, T0)


def make_accounts(accounts: AccountStore, store: Store) -> None:
    for org in ENTERPRISES:
        accounts.add_org(Org(org, org.replace("-", " ").title(), "county", 0))
        accounts.assign_site(SITES[org], org)
        accounts.add_user(new_user(f"{org}.op", org, "operator", display_name=f"Op {org}", password=PASSWORD,
                                   now_ms=0))  # fmt: skip
    accounts.add_user(new_user("duty", "county", "operator", display_name="Duty Officer", password=PASSWORD,
                               now_ms=0))  # fmt: skip
    accounts.add_user(new_user("boss", "county", "admin", display_name="Bureau Admin", password=PASSWORD,
                               now_ms=0))  # fmt: skip
    accounts.add_user(new_user("mine.admin", "mine-north", "admin", display_name="Mine Admin",
                               password=PASSWORD, now_ms=0))  # fmt: skip


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[World]:
    populate(store)
    accounts = AccountStore(store)
    make_accounts(accounts, store)
    admin = bearer(add_token(store, Role.ADMIN, name="root"))
    clock = Clock()
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db", token_cache_s=0)
    app = create_app(settings, store=store, clock_ms=clock)
    with TestClient(app) as client:
        yield World(client, store, accounts, clock, admin)
