"""``create_app(settings)``: the FastAPI aggregator, its lifespan, and its routers.

The lifespan opens the store (or takes the one given, for tests), applies migrations, builds the
services, and runs the background work in one TaskGroup of named tasks: the MQTT ingest (when
``settings.mqtt`` is set), the silence watcher, retention (when ``settings.retention_days`` is set),
when the store has a change feed (a database shared by several processes), the change relay that brings
the other central processes' changes to this one's streams, and the notification worker
(``central.notify.worker``; ``--notify FILE`` is loaded before serving). On shutdown it cancels them and
closes the store it opened. Nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from central import console
from central.accounts.sessions import SessionPolicy
from central.api import limits, problems
from central.api.routers import (
    alarm_handling,
    alarms,
    audit,
    channels,
    gateways,
    health,
    ingest,
    notify,
    orgs,
    reports,
    session,
    sites,
    stream,
    tokens,
    users,
)
from central.auth import Authenticator
from central.changes import ChangeHub
from central.ingest.mqtt import MqttIngest
from central.ingest.service import Ingestor
from central.notify.retry import RetryPolicy
from central.notify.worker import NotifyWorker
from central.relay import ChangeRelay
from central.retention import Retention
from central.services import LifespanState, Services
from central.settings import Settings
from central.silence import SilenceWatcher
from central.store import Store, open_store
from central.store.sql_store import SqlStore

logger = logging.getLogger(__name__)

DESCRIPTION = """\
The FieldWatch command-center API: gateways send batches in (`/api/v1/ingest`, or MQTT); duty officers
read the map, latest values, history, gateways and alarms, and acknowledge and close alarms with notes.

Every endpoint but `/healthz` needs `Authorization: Bearer fwt_...` (make tokens with
`fieldwatch-central token create`). Roles: `gateway` ingests for its own gateway id; `viewer` reads;
`operator` also acknowledges and closes; `admin` also manages tokens and sites. Times are UTC epoch
milliseconds; levels are 0 clear, 1 blue, 2 yellow, 3 orange, 4 red. See docs/api.md for a duty
officer's round, step by step.
"""

TAGS = [
    {"name": "ingest", "description": "Batches from gateways (wire v1), acknowledged after commit."},
    {"name": "sites", "description": "Sites, worst hazard and faults apart, and the GeoJSON map layer."},
    {"name": "gateways", "description": "Gateways and their health (heartbeats, silence)."},
    {"name": "channels", "description": "Channels, latest values, and history in time buckets (CSV too)."},
    {"name": "alarms", "description": "Alarms, timelines, acknowledge, close, shelve, comment, assign."},
    {"name": "reports", "description": "The shift handover: JSON, CSV, or a printable page."},
    {"name": "stream", "description": "Server-sent events of alarm changes and gateway status."},
    {"name": "tokens", "description": "Bearer tokens (admin)."},
    {"name": "session", "description": "Logging in and out with a username and password."},
    {"name": "accounts", "description": "Organizations, users, lockouts and the audit log."},
    {"name": "notify", "description": "Notification policies: who is told of which alarms (admin)."},
    {"name": "health", "description": "Liveness and Prometheus metrics."},
]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def build_services(settings: Settings, store: Store, clock_ms: Callable[[], int]) -> Services:
    hub = ChangeHub(settings.stream_queue_size)
    relay = None
    feed = store.change_feed()
    if feed is not None:  # other central processes may share the database
        hub.relay = lambda items: store.call(store.announce, hub.origin, items)
        relay = ChangeRelay(feed, hub, store)
    store.max_waiting = settings.db_max_waiting
    ingestor = Ingestor(
        store,
        hub,
        clock_ms,
        settings.max_batch_bytes,
        max_channels_per_gateway=settings.max_channels_per_gateway,
    )
    mqtt = None
    if settings.mqtt is not None:
        mqtt = MqttIngest(
            settings.mqtt, ingestor, prefix=settings.mqtt_topic_prefix, group=settings.mqtt_share_group,
            client_id=settings.mqtt_identifier, queue_size=settings.mqtt_queue_size,
            workers=settings.db_threads,
        )  # fmt: skip
    retention = None
    if settings.retention_days is not None:
        retention = Retention(store, settings.retention_days, settings.retention_check_interval_s, clock_ms)
    notifier = None
    if isinstance(store, SqlStore):
        notifier = NotifyWorker(
            store, hub, clock_ms, base_url=settings.console_url, time_zone=settings.time_zone,
            lease_s=settings.notify_lease_s,
            retry=RetryPolicy(
                max_attempts=settings.notify_max_attempts, initial_delay_s=settings.notify_retry_initial_s,
                max_delay_s=max(settings.notify_retry_initial_s, RetryPolicy().max_delay_s),
            ),
        )  # fmt: skip
    return Services(
        settings=settings, store=store, hub=hub, ingestor=ingestor,
        auth=Authenticator(
            store, settings.token_cache_s, clock_ms=clock_ms,
            session_policy=SessionPolicy(settings.session_idle_s, settings.session_absolute_s),
        ),
        silence=SilenceWatcher(store, hub, settings, clock_ms), retention=retention, mqtt=mqtt, relay=relay,
        notifier=notifier, clock_ms=clock_ms,
    )  # fmt: skip


async def _until_listening(relay: ChangeRelay, timeout_s: float = 10.0) -> None:
    """Serve only once other processes' changes reach this one (or say why not, and serve anyway)."""
    try:
        async with asyncio.timeout(timeout_s):
            await relay.listening.wait()
    except TimeoutError:
        logger.warning(
            "the change relay is not listening after %g s; live streams miss other processes", timeout_s
        )


def create_app(
    settings: Settings, *, store: Store | None = None, clock_ms: Callable[[], int] = wall_clock_ms
) -> FastAPI:
    """The app. ``store``: use this one (the caller closes it) instead of opening ``settings.database``."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[LifespanState]:
        own = store is None
        st = store if store is not None else open_store(settings.database, settings.db_threads)
        try:
            applied = await st.call(st.migrate)
            if applied:
                logger.info("%s store: applied migrations %s", st.kind, ", ".join(applied))
            services = build_services(settings, st, clock_ms)
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(services.silence.run(), name="silence-watcher")]
                if services.mqtt is not None:
                    tasks.append(tg.create_task(services.mqtt.run(), name="mqtt-ingest"))
                if services.retention is not None:
                    tasks.append(tg.create_task(services.retention.run(), name="retention"))
                if services.relay is not None:
                    tasks.append(tg.create_task(services.relay.run(), name="change-relay"))
                    await _until_listening(services.relay)
                if services.notifier is not None:
                    await services.notifier.start(settings.notify_file)
                    tasks.append(tg.create_task(services.notifier.run(), name="notify-worker"))
                try:
                    yield {"services": services}
                finally:
                    for task in tasks:
                        task.cancel()
        finally:
            if own:
                st.close()

    app = FastAPI(
        title="FieldWatch central",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # served by the console, from vendored files (no CDN)
        redoc_url=None,
    )
    resources = (ingest, sites, gateways, channels, alarms, alarm_handling, reports, stream, tokens, health)
    for module in (*resources, session, users, orgs, audit, notify):
        app.include_router(module.router)
    console.mount(app, settings)  # the page at /, its assets, and /docs
    limits.install(app, settings.body_timeout_s, settings.max_body_bytes)
    problems.install(app)
    return app
