"""What the two SQL stores share: thread-local connections, and the methods.

The SQL that both SQLite and PostgreSQL understand is written once (``central.store.batch_sql``,
``central.store.alarm_sql``, ``central.store.queries``) with ``?`` placeholders; a ``Db`` handle
(``central.store.handle``) runs it on one connection (the PostgreSQL handle turns ``?`` into ``%s``).
What differs lives in the subclasses: connecting, migrations, transactions (SQLite: one writer at a time
behind a lock and ``BEGIN IMMEDIATE``; PostgreSQL: ordinary transactions, the gateway row lock serialising
one gateway's batches), and the bulk insert of readings (``executemany`` vs binary ``COPY``).
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from central.notify.in_force import PoliciesInForce
from central.notify.store import NotifyMethods
from central.store import alarm_sql, batch_sql, handling_sql, queries, shift_sql, site_faults
from central.store.base import Store
from central.store.handle import Db
from central.store.records import (
    Alarm,
    AlarmDetail,
    AlarmFilter,
    AlarmPage,
    Bucket,
    Channel,
    Device,
    DeviceLocation,
    Gateway,
    GatewayChange,
    IngestOutcome,
    Latest,
    RawReading,
    Site,
    Token,
)
from central.store.shift_sql import ShiftAlarm
from protocols.wire import Batch, SiteMeta


class SqlStore(NotifyMethods, Store):
    def __init__(self, threads: int) -> None:
        super().__init__(threads)
        self.outbox = PoliciesInForce()
        self._local = threading.local()
        self._handles: list[Db] = []
        self._handles_lock = threading.Lock()
        self.channel_ids: dict[str, int] = {}  # key -> id: ids never change, so the cache never goes stale

    @abstractmethod
    def _open(self) -> Db:
        """A new connection handle for the calling thread."""

    @abstractmethod
    def _write(self) -> AbstractContextManager[Db]:
        """One write transaction on this thread's connection: commit on exit, roll back on error."""

    def _db(self) -> Db:
        handle: Db | None = getattr(self._local, "db", None)
        if handle is None:
            handle = self._open()
            handle.outbox = self.outbox
            self._local.db = handle
            with self._handles_lock:
                self._handles.append(handle)
        return handle

    def _all_handles(self) -> Iterator[Db]:
        with self._handles_lock:
            handles, self._handles = self._handles, []
        yield from handles

    # ------------------------------------------------------------ ingest

    def ingest(self, batch: Batch, now_ms: int, *, max_channels: int | None = None) -> IngestOutcome:
        added: dict[str, int] = {}
        with self._write() as db:
            outcome = batch_sql.ingest(db, batch, now_ms, self.channel_ids, added, max_channels=max_channels)
        self.channel_ids.update(added)  # only once the new ids are committed
        return outcome

    # ------------------------------------------------------------ tokens and sites

    def add_token(self, token: Token) -> None:
        with self._write() as db:
            queries.add_token(db, token)

    def token(self, token_id: str) -> Token | None:
        return queries.token(self._db(), token_id)

    def tokens(self) -> list[Token]:
        return queries.tokens(self._db())

    def revoke_token(self, token_id: str, now_ms: int) -> Token:
        with self._write() as db:
            return queries.revoke_token(db, token_id, now_ms)

    def put_site(self, site: SiteMeta, now_ms: int, gateways: tuple[str, ...] | None = None) -> Site:
        with self._write() as db:
            queries.put_site(db, site, now_ms, gateways)
        return next(s for s in self.sites() if s.id == site.id)

    # ------------------------------------------------------------ queries

    def ping(self) -> None:
        self._db().all("SELECT 1")

    def sites(self) -> list[Site]:
        return site_faults.sites(self._db())

    def device_locations(self) -> list[DeviceLocation]:
        return site_faults.device_locations(self._db())

    def gateways(self) -> list[Gateway]:
        return queries.gateways(self._db())

    def gateway(self, gateway_id: str) -> Gateway | None:
        found = queries.gateways(self._db(), gateway_id)
        return found[0] if found else None

    def channels(
        self, site_id: str | None = None, gateway_id: str | None = None, device: str | None = None
    ) -> list[Channel]:
        return queries.channels(self._db(), site_id, gateway_id, device)

    def devices(self, site_id: str | None = None, gateway_id: str | None = None) -> list[Device]:
        return queries.devices(self._db(), site_id, gateway_id)

    def channel_page(
        self,
        site_id: str | None,
        gateway_id: str | None,
        device: str | None,
        limit: int,
        offset: int,
        *,
        within: tuple[str, ...] | None = None,
    ) -> tuple[list[Channel], int]:
        db = self._db()
        return (
            queries.channels(db, site_id, gateway_id, device, (limit, offset), within=within),
            queries.count_channels(db, site_id, gateway_id, device, within=within),
        )

    def latest_page(
        self,
        site_id: str | None,
        gateway_id: str | None,
        device: str | None,
        keys: tuple[str, ...],
        *,
        limit: int,
        offset: int,
        within: tuple[str, ...] | None = None,
    ) -> tuple[list[Latest], int]:
        db = self._db()
        return (
            queries.latest(db, site_id, gateway_id, device, keys, page=(limit, offset), within=within),
            queries.count_latest(db, site_id, gateway_id, device, keys, within=within),
        )

    def latest(
        self,
        site_id: str | None = None,
        gateway_id: str | None = None,
        device: str | None = None,
        keys: tuple[str, ...] = (),
    ) -> list[Latest]:
        return queries.latest(self._db(), site_id, gateway_id, device, keys)

    def readings(self, key: str, start_ms: int, end_ms: int, limit: int) -> list[RawReading]:
        return queries.readings(self._db(), key, start_ms, end_ms, limit)

    def history(
        self, key: str, start_ms: int, end_ms: int, bucket_ms: int, *, day_zone: str | None = None
    ) -> list[Bucket]:
        return queries.history(self._db(), key, start_ms, end_ms, bucket_ms, day_zone=day_zone)

    def counts(self) -> dict[str, Any]:
        return queries.counts(self._db())

    def purge_readings(self, before_ms: int) -> int:
        removed = 0
        for (channel_id,) in self._db().all("SELECT id FROM channels ORDER BY id"):
            with self._write() as db:  # one short transaction per channel: writers are not held up
                removed += db.run(
                    "DELETE FROM readings WHERE channel_id = ? AND ts_ms < ?", (channel_id, before_ms)
                )
        return removed

    # ------------------------------------------------------------ alarms

    def alarms(self, where: AlarmFilter) -> AlarmPage:
        return alarm_sql.alarms(self._db(), where)

    def alarm(self, alarm_id: int) -> AlarmDetail:
        return alarm_sql.alarm_detail(self._db(), alarm_id)

    def acknowledge(self, alarm_id: int, actor: str, note: str, now_ms: int) -> Alarm:
        with self._write() as db:
            alarm_sql.acknowledge(db, alarm_id, actor, note, now_ms)
        return self.alarm(alarm_id).alarm

    def close_alarm(
        self, alarm_id: int, actor: str, handling: str, now_ms: int, *, force: bool = False
    ) -> Alarm:
        with self._write() as db:
            alarm_sql.close(db, alarm_id, actor, handling, now_ms, force=force)
        return self.alarm(alarm_id).alarm

    def shelve_alarm(self, alarm_id: int, actor: str, now_ms: int, until_ms: int, reason: str) -> Alarm:
        with self._write() as db:
            handling_sql.shelve(db, alarm_id, actor, now_ms, until_ms=until_ms, reason=reason)
        return self.alarm(alarm_id).alarm

    def unshelve_alarm(self, alarm_id: int, actor: str, now_ms: int) -> Alarm:
        with self._write() as db:
            handling_sql.unshelve(db, alarm_id, actor, now_ms)
        return self.alarm(alarm_id).alarm

    def comment_alarm(self, alarm_id: int, actor: str, note: str, now_ms: int) -> Alarm:
        with self._write() as db:
            handling_sql.comment(db, alarm_id, actor, note, now_ms)
        return self.alarm(alarm_id).alarm

    def assign_alarm(self, alarm_id: int, actor: str, assignee: str | None, now_ms: int) -> Alarm:
        with self._write() as db:
            handling_sql.assign(db, alarm_id, actor, assignee, now_ms)
        return self.alarm(alarm_id).alarm

    def shift_alarms(self, start_ms: int, end_ms: int) -> list[ShiftAlarm]:
        return shift_sql.shift_alarms(self._db(), start_ms, end_ms)

    def expire_shelves(self, now_ms: int) -> list[Alarm]:
        with self._write() as db:
            ids = handling_sql.expire_shelves(db, now_ms)
        return alarm_sql.alarms_by_id(self._db(), ids)

    def check_silence(
        self, now_ms: int, factor: float, default_interval_s: float, level: int
    ) -> tuple[list[Alarm], list[GatewayChange]]:
        alarms: list[Alarm] = []
        changes: list[GatewayChange] = []
        for gateway_id, last_seen_ms, interval_s in queries.silent_gateways(
            self._db(), now_ms, factor, default_interval_s
        ):
            added: dict[str, int] = {}
            with self._write() as db:
                alarm_id = alarm_sql.raise_silence(
                    db, gateway_id, last_seen_ms=last_seen_ms, interval_s=interval_s, now_ms=now_ms,
                    level=level, cache=self.channel_ids, added=added,
                )  # fmt: skip
            self.channel_ids.update(added)
            if alarm_id is None:
                continue  # it reported meanwhile, or another central process got there first
            changes.append(GatewayChange(gateway_id, "silent", last_seen_ms))
            alarms.append(self.alarm(alarm_id).alarm)
        return alarms, changes
