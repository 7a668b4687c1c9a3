"""The central's small components: settings, tokens, the change hub, the silence watcher, retention."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from central.auth import Authenticator, AuthError, Role, new_token
from central.changes import ChangeHub
from central.retention import Retention
from central.settings import SettingsError, load_settings
from central.silence import SilenceWatcher
from central.store.base import Store
from central.store.records import GatewayChange
from tests.central.builders import T0, readings_batch

# ---------------------------------------------------------------- settings


def test_settings_from_environment_and_overrides() -> None:
    s = load_settings(
        {"FIELDWATCH_PORT": "9000", "FIELDWATCH_MQTT": "mqtt://broker:1884", "FIELDWATCH_X": "1"}
    )
    assert (s.port, s.mqtt, s.database) == (9000, "mqtt://broker:1884", "sqlite:///fieldwatch-central.db")
    assert load_settings({"FIELDWATCH_PORT": "9000"}, port=9100).port == 9100


def test_settings_errors_name_the_variable_or_option() -> None:
    with pytest.raises(SettingsError) as e:
        load_settings(
            {"FIELDWATCH_PORT": "eighty", "FIELDWATCH_SILENCE_FACTOR": "0.5"}, database="mysql://x/y"
        )
    lines = str(e.value).splitlines()
    assert lines[0].startswith("--database: expected sqlite:///path or postgresql://host/database")
    assert any(line.startswith("FIELDWATCH_PORT: Input should be a valid integer") for line in lines)
    assert any(line.startswith("FIELDWATCH_SILENCE_FACTOR: Input should be greater than 1") for line in lines)
    with pytest.raises(SettingsError, match="FIELDWATCH_MQTT: expected mqtt://host"):
        load_settings({"FIELDWATCH_MQTT": "tcp://x"})


# ---------------------------------------------------------------- tokens


def test_new_tokens_need_a_gateway_exactly_for_the_gateway_role() -> None:
    plain, row = new_token(Role.GATEWAY, "", "gw-1", T0)
    assert plain.startswith(f"fwt_{row.id}_") and plain.split("_", 2)[2] not in row.secret_hash
    assert row.name == f"gateway-{row.id}"
    with pytest.raises(ValueError, match="gateway"):
        new_token(Role.GATEWAY, "", None, T0)
    with pytest.raises(ValueError, match="gateway"):
        new_token(Role.VIEWER, "", "gw-1", T0)


async def test_authenticator_checks_the_secret_and_caches_rows(sqlite_store: Store) -> None:
    plain, row = new_token(Role.OPERATOR, "alice", None, T0)
    sqlite_store.add_token(row)
    auth = Authenticator(sqlite_store, cache_s=60)
    who = await auth.principal(plain)
    assert (who.name, who.role, who.may_ingest("gw-1")) == ("alice", Role.OPERATOR, False)
    await auth.principal(plain)
    assert auth.statistics()["lookups"] == 1  # the second check came from the cache
    with pytest.raises(AuthError, match="unknown or revoked"):
        await auth.principal(plain[:-4] + "AAAA")
    sqlite_store.revoke_token(row.id, T0)
    auth.forget(row.id)
    with pytest.raises(AuthError, match="unknown or revoked"):
        await auth.principal(plain)


# ---------------------------------------------------------------- the change hub


async def test_hub_delivers_to_every_subscriber_and_cuts_a_slow_one() -> None:
    hub = ChangeHub(queue_size=2)
    change = GatewayChange("gw-1", "silent", T0)
    async with hub.subscribe() as fast, hub.subscribe() as slow:
        hub.publish([], [change])
        assert await fast.queue.get() == (
            "gateway",
            {"gateway_id": "gw-1", "status": "silent", "last_seen_ms": T0},
        )
        hub.publish([], [change, change])
        assert fast.queue.qsize() == 2 and not fast.cut
        assert slow.cut and slow.queue.qsize() == 2
        items = [slow.queue.get_nowait() for _ in range(2)]
        assert items[-1] == ("cut", {})
    assert hub.statistics()["subscribers"] == 0
    assert hub.statistics()["subscribers_cut"] == 1


# ---------------------------------------------------------------- watchers


async def test_silence_watcher_publishes_what_it_raises(sqlite_store: Store, tmp_path: Path) -> None:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/x.db", silence_factor=2.0)
    sqlite_store.ingest(readings_batch("gw-1", [1]), T0)
    hub = ChangeHub(10)
    watcher = SilenceWatcher(sqlite_store, hub, settings, clock_ms=lambda: T0)
    async with hub.subscribe() as sub:
        assert await watcher.check(T0 + 120_000) == ([], [])
        _, changes = await watcher.check(T0 + 120_001)
        assert [c.status for c in changes] == ["silent"]
        assert [k for k, _ in (sub.queue.get_nowait(), sub.queue.get_nowait())] == ["alarm", "gateway"]
    assert watcher.statistics() == {"checks": 2, "gateways_silenced": 1, "shelves_expired": 0, "failures": 0}


async def test_silence_watcher_runs_on_its_interval(sqlite_store: Store, tmp_path: Path) -> None:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/x.db", silence_check_interval_s=0.01)
    sqlite_store.ingest(readings_batch("gw-1", [1]), T0)
    hub = ChangeHub(10)
    watcher = SilenceWatcher(sqlite_store, hub, settings, clock_ms=lambda: T0 + 10**7)
    async with hub.subscribe() as sub, asyncio.TaskGroup() as tg:
        task = tg.create_task(watcher.run())
        async with asyncio.timeout(10):
            kinds = [(await sub.queue.get())[0], (await sub.queue.get())[0]]
        task.cancel()
    assert kinds == ["alarm", "gateway"]
    assert sqlite_store.gateway("gw-1").status == "silent"  # type: ignore[union-attr]


async def test_retention_deletes_old_readings(sqlite_store: Store) -> None:
    sqlite_store.ingest(readings_batch("gw-1", range(1, 11)), T0)
    retention = Retention(sqlite_store, retention_days=1.0, interval_s=3600, clock_ms=lambda: T0)
    assert await retention.purge(T0 + 86_400_000 + 5500) == 5  # seqs 1-5 are older than a day then
    assert retention.statistics()["readings_deleted"] == 5
