"""Everything one central process runs, built once by the app's lifespan and handed to the routers.

No module-level globals: the lifespan yields ``{"services": Services(...)}`` (typed by
``LifespanState``) and the routers reach it through ``central.api.deps``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from central.auth import Authenticator
from central.changes import ChangeHub
from central.ingest.mqtt import MqttIngest
from central.ingest.service import Ingestor
from central.notify.worker import NotifyWorker
from central.relay import ChangeRelay
from central.retention import Retention
from central.settings import Settings
from central.silence import SilenceWatcher
from central.store.base import Store


@dataclass(slots=True)
class Services:
    settings: Settings
    store: Store
    hub: ChangeHub
    ingestor: Ingestor
    auth: Authenticator
    silence: SilenceWatcher
    retention: Retention | None
    mqtt: MqttIngest | None
    relay: ChangeRelay | None
    notifier: NotifyWorker | None
    clock_ms: Callable[[], int]


class LifespanState(TypedDict):
    services: Services
