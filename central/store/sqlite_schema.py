"""The SQLite schema, as a sqlite-utils migrations registry (applied in order, each recorded once).

Readings are a ``WITHOUT ROWID`` table clustered on (channel, time, seq): one B-tree serves both the
insert and a channel's history scan, with no second index to keep up. Idempotency needs no unique index
on readings: the per-gateway ``seq_ranges`` ledger decides which rows are new (``central.store.ledger``).
``latest`` holds each channel's newest reading so the latest-values query never scans readings;
``rollup_hour`` (migration 0002) holds per channel and hour the aggregates that 1 h and 1 d histories read.
Migration 0003 adds the gateways' outbox incarnations (``central.store.incarnations``): the ledger and the
readings' key gain the row's ``epoch`` (0 for everything before it), so the readings table is rebuilt
once (in key order, so the copy is a sequential append; it needs as much free disk as the table takes).
It also records who may change a site (``owner_gateway``, ``managed`` by an admin, ``site_gateways``).
Migration 0006 adds the notification outbox ``notify_jobs``, ``alarms.notify_round_ms`` and the policy text.
The partial unique index on alarms keeps one active (not closed) alarm per (channel, rule).
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from central.alarm_category import backfill_sql
from central.store import accounts_schema
from protocols.sqlscript import statements

migrations = Migrations("fieldwatch-central")

INITIAL = """
CREATE TABLE sites (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
    latitude_deg REAL, longitude_deg REAL, updated_ms INTEGER NOT NULL
);
CREATE TABLE gateways (
    id TEXT PRIMARY KEY, site_id TEXT REFERENCES sites (id), status TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, acked_through INTEGER NOT NULL DEFAULT 0,
    version TEXT, heartbeat_interval_s REAL, last_heartbeat_ms INTEGER, heartbeat TEXT
);
CREATE TABLE seq_ranges (
    gateway_id TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, first_seq)
) WITHOUT ROWID;
CREATE TABLE channels (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, gateway_id TEXT NOT NULL, device TEXT NOT NULL,
    point TEXT NOT NULL, unit TEXT NOT NULL, profile TEXT NOT NULL, latitude_deg REAL, longitude_deg REAL,
    range_min REAL, range_max REAL, first_seen_ms INTEGER NOT NULL
);
CREATE INDEX channels_gateway_device ON channels (gateway_id, device);
CREATE TABLE readings (
    channel_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, seq INTEGER NOT NULL, value REAL,
    quality INTEGER NOT NULL, PRIMARY KEY (channel_id, ts_ms, seq)
) WITHOUT ROWID;
CREATE TABLE latest (
    channel_id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, seq INTEGER NOT NULL, value REAL,
    quality INTEGER NOT NULL
);
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL REFERENCES channels (id), rule TEXT NOT NULL,
    status TEXT NOT NULL, level INTEGER NOT NULL, max_level INTEGER NOT NULL, opened_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL, message TEXT NOT NULL, value REAL, forecast TEXT, last_event_seq INTEGER,
    acknowledged_ms INTEGER, acknowledged_by TEXT, acknowledge_note TEXT, cleared_ms INTEGER,
    closed_ms INTEGER, closed_by TEXT, handling TEXT
);
CREATE UNIQUE INDEX alarms_one_active ON alarms (channel_id, rule) WHERE status <> 'closed';
CREATE INDEX alarms_series ON alarms (channel_id, rule, id);
CREATE INDEX alarms_status_level ON alarms (status, level);
CREATE INDEX alarms_opened ON alarms (opened_ms);
CREATE TABLE alarm_timeline (
    id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL REFERENCES alarms (id), ts_ms INTEGER NOT NULL,
    recorded_ms INTEGER NOT NULL, kind TEXT NOT NULL, level INTEGER, actor TEXT NOT NULL,
    note TEXT NOT NULL, value REAL, event_seq INTEGER, forecast TEXT
);
CREATE INDEX alarm_timeline_alarm ON alarm_timeline (alarm_id, ts_ms);
CREATE TABLE tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, gateway_id TEXT,
    secret_hash TEXT NOT NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER
);
"""

ROLLUP_HOUR = """
CREATE TABLE rollup_hour (
    channel_id INTEGER NOT NULL, hour_ms INTEGER NOT NULL, n INTEGER NOT NULL, total REAL NOT NULL,
    lo REAL NOT NULL, hi REAL NOT NULL, last_ts INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    last_value REAL NOT NULL, PRIMARY KEY (channel_id, hour_ms)
) WITHOUT ROWID;
INSERT INTO rollup_hour
SELECT channel_id, ts_ms / 3600000 * 3600000 AS hour, count(value), sum(value), min(value), max(value),
       max(ts_ms), 0, 0
FROM readings WHERE value IS NOT NULL GROUP BY channel_id, hour;
UPDATE rollup_hour SET (last_seq, last_value) = (
    SELECT r.seq, r.value FROM readings r WHERE r.channel_id = rollup_hour.channel_id
    AND r.ts_ms = rollup_hour.last_ts AND r.value IS NOT NULL ORDER BY r.seq DESC LIMIT 1
);
"""


INCARNATIONS = """
CREATE TABLE incarnations (
    gateway_id TEXT NOT NULL, id TEXT NOT NULL, epoch INTEGER NOT NULL, parent TEXT,
    first_seq INTEGER NOT NULL, end_seq INTEGER, fork_epoch INTEGER, high_water INTEGER NOT NULL DEFAULT 0,
    first_seen_ms INTEGER NOT NULL, PRIMARY KEY (gateway_id, id)
) WITHOUT ROWID;
CREATE INDEX incarnations_parent ON incarnations (gateway_id, parent);
INSERT INTO incarnations (gateway_id, id, epoch, parent, first_seq, high_water, first_seen_ms)
    SELECT id, '', 0, NULL, 1, acked_through, first_seen_ms FROM gateways;
ALTER TABLE gateways ADD COLUMN incarnation TEXT;
UPDATE gateways SET incarnation = '';
ALTER TABLE gateways ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE gateways ADD COLUMN outbox_changes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE gateways ADD COLUMN outbox_changed_ms INTEGER;
ALTER TABLE gateways ADD COLUMN outbox_lost_seqs INTEGER NOT NULL DEFAULT 0;
CREATE TABLE seq_ranges_0003 (
    gateway_id TEXT NOT NULL, epoch INTEGER NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, epoch, first_seq)
) WITHOUT ROWID;
INSERT INTO seq_ranges_0003 SELECT gateway_id, 0, first_seq, last_seq FROM seq_ranges;
DROP TABLE seq_ranges;
ALTER TABLE seq_ranges_0003 RENAME TO seq_ranges;
CREATE TABLE readings_0003 (
    channel_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, seq INTEGER NOT NULL, epoch INTEGER NOT NULL,
    value REAL, quality INTEGER NOT NULL, PRIMARY KEY (channel_id, ts_ms, seq, epoch)
) WITHOUT ROWID;
INSERT INTO readings_0003 (channel_id, ts_ms, seq, epoch, value, quality)
    SELECT channel_id, ts_ms, seq, 0, value, quality FROM readings ORDER BY channel_id, ts_ms, seq;
DROP TABLE readings;
ALTER TABLE readings_0003 RENAME TO readings;
ALTER TABLE sites ADD COLUMN owner_gateway TEXT;
ALTER TABLE sites ADD COLUMN managed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE site_gateways (
    site_id TEXT NOT NULL, gateway_id TEXT NOT NULL, PRIMARY KEY (site_id, gateway_id)
) WITHOUT ROWID
"""


@migrations(name="0001_initial")
def initial(db: Database) -> None:
    for statement in statements(INITIAL):
        db.execute(statement)


@migrations(name="0002_rollup_hour")
def rollup_hour(db: Database) -> None:
    """Hourly rollups for long histories (``central.store.rollup``), backfilled from the raw readings."""
    for statement in statements(ROLLUP_HOUR):
        db.execute(statement)


@migrations(name="0003_incarnations_and_site_owners")
def incarnations_and_site_owners(db: Database) -> None:
    """Outbox incarnations and epochs (everything so far: the legacy incarnation, epoch 0); site owners."""
    for statement in statements(INCARNATIONS):
        db.execute(statement)


@migrations(name="0004_accounts")
def accounts(db: Database) -> None:
    """Organizations, users, sessions, login failures and the audit log (``central.store.accounts_schema``);
    sites and tokens gain their organization (the top one, ``county``, for everything so far)."""
    for statement in statements(accounts_schema.SQLITE):
        db.execute(statement)


ALARM_HANDLING = """
ALTER TABLE alarms ADD COLUMN category TEXT NOT NULL DEFAULT 'hazard';
ALTER TABLE alarms ADD COLUMN rule_kind TEXT;
ALTER TABLE alarms ADD COLUMN criterion TEXT;
ALTER TABLE alarms ADD COLUMN unit TEXT;
ALTER TABLE alarms ADD COLUMN threshold REAL;
ALTER TABLE alarms ADD COLUMN direction TEXT;
ALTER TABLE alarms ADD COLUMN shelved_until_ms INTEGER;
ALTER TABLE alarms ADD COLUMN shelved_by TEXT;
ALTER TABLE alarms ADD COLUMN shelve_reason TEXT;
ALTER TABLE alarms ADD COLUMN assignee TEXT;
ALTER TABLE alarms ADD COLUMN forced_close INTEGER NOT NULL DEFAULT 0;
CREATE INDEX alarms_category_status ON alarms (category, status);
ALTER TABLE alarm_timeline ADD COLUMN criterion TEXT;
ALTER TABLE alarm_timeline ADD COLUMN unit TEXT;
ALTER TABLE alarm_timeline ADD COLUMN threshold REAL;
ALTER TABLE alarm_timeline ADD COLUMN direction TEXT;
CREATE INDEX alarm_timeline_recorded ON alarm_timeline (alarm_id, recorded_ms);
ALTER TABLE sites ADD COLUMN contact_person TEXT;
ALTER TABLE sites ADD COLUMN contact_phone TEXT;
ALTER TABLE sites ADD COLUMN time_zone TEXT
"""


@migrations(name="0005_alarm_handling")
def alarm_handling(db: Database) -> None:
    """Hazard or fault per alarm (existing fault rules backfilled), what fired, shelving, assignment,
    forced close; the sites' contact and time zone."""
    for statement in statements(ALARM_HANDLING):
        db.execute(statement)
    db.execute(backfill_sql())


NOTIFICATIONS = """
CREATE TABLE notify_jobs (
    id TEXT PRIMARY KEY, alarm_id INTEGER NOT NULL REFERENCES alarms (id), policy TEXT NOT NULL,
    contact TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL, ref_ms INTEGER NOT NULL,
    since_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    last_error TEXT, claimed_by TEXT, claimed_until_ms INTEGER, sent_ms INTEGER
);
CREATE INDEX notify_jobs_due ON notify_jobs (state, due_ms);
CREATE INDEX notify_jobs_alarm ON notify_jobs (alarm_id, state);
ALTER TABLE alarms ADD COLUMN notify_round_ms INTEGER;
CREATE TABLE notify_policies (
    id INTEGER PRIMARY KEY CHECK (id = 1), path TEXT NOT NULL, text TEXT NOT NULL,
    version INTEGER NOT NULL, updated_ms INTEGER NOT NULL
)
"""


@migrations(name="0006_notifications")
def notifications(db: Database) -> None:
    """The notification outbox (``central.notify.outbox``), each alarm's round, and the policy text."""
    for statement in statements(NOTIFICATIONS):
        db.execute(statement)
