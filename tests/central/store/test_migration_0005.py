"""Migration 0005 on a database from before it: existing fault alarms become faults, the rest hazards,
and the old alarms read as before (SQLite; PostgreSQL runs the same statements, see the schema parity
test)."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from central.store.sqlite import SqliteStore
from central.store.sqlite_schema import migrations
from tests.central.builders import T0


def test_existing_alarms_get_their_category(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="0005_alarm_handling")
    db.execute(
        "INSERT INTO channels (id, key, gateway_id, device, point, unit, profile, first_seen_ms) "
        "VALUES (1, 'gw-1/_gateway/_silent', 'gw-1', '_gateway', '_silent', '', '', 0), "
        "(2, 'gw-1/dev-1/p0', 'gw-1', 'dev-1', 'p0', 'm', 'x', 0)"
    )
    db.execute(
        "INSERT INTO alarms (id, channel_id, rule, status, level, max_level, opened_ms, updated_ms, message) "
        f"VALUES (1, 1, 'gateway_silent', 'open', 3, 3, {T0}, {T0}, 'no report'), "
        f"(2, 2, 'level', 'open', 2, 2, {T0}, {T0}, 'high')"
    )
    db.conn.commit()
    db.close()
    store = SqliteStore(path, threads=1)
    try:
        assert "0005_alarm_handling" in store.migrate()
        silent, level = store.alarm(1).alarm, store.alarm(2).alarm
        assert (silent.category, level.category) == ("fault", "hazard")
        assert (level.criterion, level.shelved_until_ms, level.forced_close, level.message) == (
            None, None, False, "high",
        )  # fmt: skip
    finally:
        store.close()
