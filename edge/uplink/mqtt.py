"""The MQTT uplink: batches out on ``<prefix>/<gateway>/batch``, the central's acks in on ``.../ack``.

QoS 1 both ways and a persistent session (a fixed client id ``fieldwatch-edge-<gateway>``,
``clean_session=False``): the broker keeps our subscription and queues the acks that come while the
gateway is away. The broker's PUBACK only says the broker has the batch; rows are deleted on the
central's ack, which carries the batch id and the committed ranges. An ack for no batch in flight (queued
while we were down, or late after a timeout) goes to ``on_stray_ack``: its rows are committed, so the
forwarder deletes them all the same.

``run()`` owns the connection: connect, subscribe, read acks; on any broker error reconnect with capped,
jittered backoff, forever. ``send()`` publishes and waits for the ack up to ``ack_timeout_s``; every
failure is a ``TransientError`` (the batch stays in the outbox and is sent again; the central's ingest is
idempotent). A refused login is an ``AuthError``. This is the only edge module that imports aiomqtt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import ssl
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from edge.uplink.base import AuthError, NotDeliveredError, Outgoing, TransientError
from protocols.backoff import Backoff
from protocols.errors import WireError
from protocols.site import MqttUplink as MqttUplinkSettings
from protocols.wire import Ack, decode_ack

log = logging.getLogger(__name__)

RECONNECT = Backoff(first_s=0.5, max_s=30.0, jitter=0.5)
CONNECT_WAIT_S = 5.0  # a send while (re)connecting waits this long for the connection before failing
NOT_AUTHORIZED = (4, 5, 134, 135)  # CONNACK codes: bad credentials, not authorised (3.1.1 and 5)


class MqttUplink:
    name = "mqtt"

    def __init__(
        self,
        settings: MqttUplinkSettings,
        gateway: str,
        environ: Mapping[str, str] | None = None,
        *,
        client_id: str | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        parts = urlsplit(settings.url)
        self.tls = parts.scheme == "mqtts"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (8883 if self.tls else 1883)
        self.settings = settings
        self.gateway = gateway
        prefix = settings.topic_prefix.rstrip("/")
        self.batch_topic = f"{prefix}/{gateway}/batch"
        self.ack_topic = f"{prefix}/{gateway}/ack"
        self.client_id = client_id or f"fieldwatch-edge-{gateway}"
        self.password = environ.get(settings.password_env) if settings.password_env else None
        self.on_stray_ack: Callable[[Ack], None] | None = None
        self.counters: Counter[str] = Counter()
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._waiting: dict[int, asyncio.Future[Ack]] = {}
        self._auth_error = ""
        self._rng = random.Random()

    # ------------------------------------------------------------------ the connection

    async def run(self) -> None:
        """Stay connected and read acks, until cancelled."""
        failures = 0
        while True:
            try:
                await self._session()
                failures = 0
            except aiomqtt.MqttError as e:
                self._lost(e)
                failures += 1
                delay_s = RECONNECT.delay_s(failures, self._rng)
                (log.warning if failures == 1 else log.debug)(
                    "MQTT %s:%d: %s; reconnecting in %.1f s", self.host, self.port, e, delay_s
                )
                await asyncio.sleep(delay_s)

    async def _session(self) -> None:
        async with aiomqtt.Client(
            self.host,
            self.port,
            identifier=self.client_id,
            clean_session=False,
            username=self.settings.username,
            password=self.password,
            keepalive=self.settings.keepalive_s,
            tls_context=ssl.create_default_context() if self.tls else None,
            timeout=self.settings.ack_timeout_s,
        ) as client:
            await client.subscribe(self.ack_topic, qos=1)
            self._client = client
            self._connected.set()
            self._auth_error = ""
            self.counters["connects"] += 1
            log.info("MQTT %s:%d connected as %s", self.host, self.port, self.client_id)
            try:
                async for message in client.messages:
                    payload = message.payload
                    self._on_ack(bytes(payload) if isinstance(payload, bytes | bytearray) else b"")
            finally:
                self._client = None
                self._connected.clear()

    def _lost(self, e: aiomqtt.MqttError) -> None:
        self.counters["disconnects"] += 1
        self._client = None
        self._connected.clear()
        if isinstance(e, MqttConnectError) and _code(e) in NOT_AUTHORIZED:
            self._auth_error = f"the broker refused the login of {self.client_id}: {e}"
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(TransientError(f"MQTT connection lost: {e}"))

    def _on_ack(self, payload: bytes) -> None:
        try:
            ack = decode_ack(payload)
        except WireError as e:
            self.counters["bad_acks"] += 1
            log.warning("MQTT %s: an ack that is not one: %s", self.ack_topic, e)
            return
        self.counters["acks"] += 1
        future = self._waiting.get(ack.batch_id)
        if future is not None and not future.done():
            future.set_result(ack)
        elif self.on_stray_ack is not None:
            self.counters["stray_acks"] += 1
            self.on_stray_ack(ack)

    # ------------------------------------------------------------------ sending

    async def send(self, batch: Outgoing) -> Ack:
        if self._client is None and not self._auth_error:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(CONNECT_WAIT_S, self.settings.ack_timeout_s)):
                    await self._connected.wait()
        client = self._client
        if client is None:
            if self._auth_error:
                raise AuthError(self._auth_error)
            raise NotDeliveredError(f"not connected to the broker {self.host}:{self.port}")
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._waiting[batch.batch_id] = future
        timeout_s = self.settings.ack_timeout_s
        try:
            await client.publish(self.batch_topic, batch.payload, qos=1, timeout=timeout_s)
            self.counters["published"] += 1
            async with asyncio.timeout(timeout_s):
                return await future
        except aiomqtt.MqttError as e:
            raise TransientError(f"MQTT publish failed: {e}") from e
        except TimeoutError as e:
            self.counters["ack_timeouts"] += 1
            raise TransientError(f"no ack from the central within {timeout_s} s") from e
        finally:
            self._waiting.pop(batch.batch_id, None)

    def statistics(self) -> dict[str, Any]:
        return {**self.counters, "connected": self._client is not None}

    async def aclose(self) -> None:
        """The connection closes when ``run()`` is cancelled."""


def _code(e: aiomqtt.MqttCodeError) -> int:
    rc = e.rc
    if isinstance(rc, int):
        return rc
    return int(rc.value) if rc is not None else -1
