"""The one store interface, and how its synchronous calls stay off the event loop.

Every store method is a plain synchronous call that runs one transaction (tests call them directly).
The API and the ingest loops call them through ``await store.call(store.method, ...)``, which runs the
method on the store's own thread pool, each worker thread holding its own connection: the event loop
never waits on the database. Requests use ``store.query(...)``, the same with a bound: when more calls
are under way than the threads and ``max_waiting`` more, it refuses at once (``StoreBusyError``: the API
answers 503 with ``Retry-After``) instead of queueing without end. ``healthy()`` pings on a thread and a
connection of its own, so a busy pool does not make ``/healthz`` slow. Two implementations share one test
suite (``tests/central/store/``, each test run on both through the ``store`` fixture of
``tests/central/conftest.py``): ``central.store.sqlite`` (sqlite-utils, WAL, the embedded default) and
``central.store.postgres`` (psycopg 3, COPY, for several central processes on one database).
"""

from __future__ import annotations

import asyncio
import functools
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from typing import Any, ParamSpec, TypeVar

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

P = ParamSpec("P")
T = TypeVar("T")


class NotFoundError(LookupError):
    """The thing asked for does not exist (the API answers 404)."""


class StoreBusyError(Exception):
    """Every database thread is busy and too many calls wait already (the API answers 503)."""


class FeedLostError(Exception):
    """The connection a ``ChangeFeed`` listens on broke (listen again after a pause)."""


class ChangeFeed(ABC):
    """What the other central processes on this database announce (``Store.announce``)."""

    @abstractmethod
    def listen(self) -> AbstractAsyncContextManager[AsyncIterator[str]]:
        """A connection of its own, listening: the payloads announced from now on; ``FeedLostError``
        when the connection breaks (on entry or while iterating)."""


PING_TIMEOUT_S = 2.0
DEFAULT_MAX_WAITING = 64


class Store(ABC):
    kind: str  # "sqlite" | "postgresql"

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"store-{self.kind}")
        self._pinger = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"store-{self.kind}-ping")
        self.threads = threads
        self.max_waiting = DEFAULT_MAX_WAITING
        self.under_way = 0  # calls made through ``query`` and not finished (the event loop's count)
        self.busy_refusals = 0

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the synchronous store method ``fn`` on the store's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def query(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``call`` on behalf of a request: ``StoreBusyError`` at once when the threads are all busy and
        ``max_waiting`` calls wait already."""
        if self.under_way >= self.threads + self.max_waiting:
            self.busy_refusals += 1
            raise StoreBusyError(
                f"all {self.threads} database threads are busy and {self.max_waiting} calls wait"
            )
        self.under_way += 1
        try:
            return await self.call(fn, *args, **kwargs)
        finally:
            self.under_way -= 1

    async def healthy(self, timeout_s: float = PING_TIMEOUT_S) -> bool:
        """Does the database answer a ping within ``timeout_s``, on a connection of its own?"""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout_s):
                await loop.run_in_executor(self._pinger, self.ping)
        except Exception:  # down, refused, or too slow: degraded either way
            return False
        return True

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._pinger.shutdown(wait=True, cancel_futures=True)
        self._close_connections()

    @abstractmethod
    def _close_connections(self) -> None: ...

    # ------------------------------------------------------------ lifecycle

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending schema migrations; the names of those applied."""

    @abstractmethod
    def ping(self) -> None:
        """Raise if the database does not answer."""

    # ------------------------------------------------------------ ingest

    @abstractmethod
    def ingest(self, batch: Batch, now_ms: int, *, max_channels: int | None = None) -> IngestOutcome:
        """Commit a decoded batch idempotently on (gateway, incarnation, seq) (``central.store.batch_sql``).
        ``max_channels``: a gateway's channels at most (``ChannelLimitError`` past it)."""

    # ------------------------------------------------------------ tokens and sites (admin)

    @abstractmethod
    def add_token(self, token: Token) -> None: ...

    @abstractmethod
    def token(self, token_id: str) -> Token | None: ...

    @abstractmethod
    def tokens(self) -> list[Token]: ...

    @abstractmethod
    def revoke_token(self, token_id: str, now_ms: int) -> Token:
        """The revoked token; ``NotFoundError``."""

    @abstractmethod
    def put_site(self, site: SiteMeta, now_ms: int, gateways: tuple[str, ...] | None = None) -> Site:
        """An admin's site: it wins over gateways' metadata; ``gateways`` may report for it."""

    # ------------------------------------------------------------ queries

    @abstractmethod
    def sites(self) -> list[Site]: ...

    @abstractmethod
    def device_locations(self) -> list[DeviceLocation]: ...

    @abstractmethod
    def gateways(self) -> list[Gateway]: ...

    @abstractmethod
    def gateway(self, gateway_id: str) -> Gateway | None: ...

    @abstractmethod
    def channels(
        self, site_id: str | None = None, gateway_id: str | None = None, device: str | None = None
    ) -> list[Channel]: ...

    @abstractmethod
    def devices(self, site_id: str | None = None, gateway_id: str | None = None) -> list[Device]:
        """Devices with their profile and the text points (model, firmware) their gateway last reported."""

    @abstractmethod
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
        """A page of ``channels`` (ordered by key) and how many there are in all; ``within``: only these
        gateways' (an organization's caller), None: all."""

    @abstractmethod
    def latest(
        self,
        site_id: str | None = None,
        gateway_id: str | None = None,
        device: str | None = None,
        keys: tuple[str, ...] = (),
    ) -> list[Latest]: ...

    @abstractmethod
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
        """A page of ``latest`` (ordered by key) and how many there are in all; ``within`` as above."""

    @abstractmethod
    def readings(self, key: str, start_ms: int, end_ms: int, limit: int) -> list[RawReading]:
        """Raw readings of a channel in [start_ms, end_ms), oldest first; ``NotFoundError``."""

    @abstractmethod
    def history(
        self, key: str, start_ms: int, end_ms: int, bucket_ms: int, *, day_zone: str | None = None
    ) -> list[Bucket]:
        """Buckets of ``bucket_ms`` aligned to the epoch, empty ones left out; ``NotFoundError``. Day
        buckets with ``day_zone`` (an IANA name) run from local midnight (``central.localtime``)."""

    # ------------------------------------------------------------ alarms

    @abstractmethod
    def alarms(self, where: AlarmFilter) -> AlarmPage: ...

    @abstractmethod
    def alarm(self, alarm_id: int) -> AlarmDetail:
        """One alarm with its timeline; ``NotFoundError``."""

    @abstractmethod
    def acknowledge(self, alarm_id: int, actor: str, note: str, now_ms: int) -> Alarm:
        """``NotFoundError``; ``central.alarms.TransitionRefusedError``."""

    @abstractmethod
    def close_alarm(
        self, alarm_id: int, actor: str, handling: str, now_ms: int, *, force: bool = False
    ) -> Alarm:
        """``NotFoundError``; ``central.alarms.TransitionRefusedError`` (``StillActiveError`` when the
        condition is still active and not ``force``)."""

    @abstractmethod
    def shelve_alarm(self, alarm_id: int, actor: str, now_ms: int, until_ms: int, reason: str) -> Alarm:
        """Hide it from the active list, no notifications, until ``until_ms`` (see
        ``central.store.handling_sql``)."""

    @abstractmethod
    def unshelve_alarm(self, alarm_id: int, actor: str, now_ms: int) -> Alarm: ...

    @abstractmethod
    def comment_alarm(self, alarm_id: int, actor: str, note: str, now_ms: int) -> Alarm: ...

    @abstractmethod
    def assign_alarm(self, alarm_id: int, actor: str, assignee: str | None, now_ms: int) -> Alarm: ...

    @abstractmethod
    def shift_alarms(self, start_ms: int, end_ms: int) -> list[ShiftAlarm]:
        """The alarms that existed during [start_ms, end_ms), for the shift report (``shift_sql``)."""

    @abstractmethod
    def expire_shelves(self, now_ms: int) -> list[Alarm]:
        """Unshelve the alarms whose shelving ran out; those alarms."""

    @abstractmethod
    def check_silence(
        self, now_ms: int, factor: float, default_interval_s: float, level: int
    ) -> tuple[list[Alarm], list[GatewayChange]]:
        """Mark gateways silent past ``factor`` x their heartbeat interval and raise their alarms."""

    @abstractmethod
    def purge_readings(self, before_ms: int) -> int:
        """Delete raw readings older than ``before_ms`` (latest values stay); how many went."""

    def change_feed(self) -> ChangeFeed | None:
        r"""Where the other central processes' ``announce``\s arrive (``central.relay``); ``None``: this
        store is not shared (the default)."""
        return None

    def announce(self, origin: str, items: list[tuple[str, dict[str, Any]]]) -> None:  # noqa: B027
        """Tell the other central processes on this database about these changes (``central.relay``).
        Only a shared database has others: the default does nothing."""

    @abstractmethod
    def counts(self) -> dict[str, Any]:
        """Gauges for /metrics: alarms by status and level, gateways by status, channels."""
