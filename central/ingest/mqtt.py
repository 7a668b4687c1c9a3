"""MQTT ingest: a shared subscription on ``<prefix>/+/batch``, acknowledgements on ``<prefix>/<gw>/ack``.

Several central processes subscribe as one group (``$share/<group>/<prefix>/+/batch``), so the broker
hands each batch to one of them; QoS 1 and a persistent session (fixed client id, clean_session False)
keep batches queued while a process restarts. A few workers take messages off the client's bounded queue
and ingest them concurrently; each publishes its ack (QoS 1) only after the commit. Delivery to the
central is at least once and the edge deletes rows only on our ack, so a batch lost anywhere on the way
is simply sent again; the ingest is idempotent.

A batch whose topic names another gateway than the batch itself is refused (ack with ``error`` on the
topic's ack topic). The connection loop reconnects with capped, jittered exponential backoff and never
ends on a broker error; a database error while ingesting leaves that batch unacknowledged (the edge
resends it) and the loop goes on.

This is the only central module that imports aiomqtt.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from urllib.parse import urlsplit

import aiomqtt

from central.ingest.service import GatewayMismatchError, Ingestor, peek
from protocols.backoff import Backoff
from protocols.wire import Ack, encode_ack

logger = logging.getLogger(__name__)

RECONNECT = Backoff(first_s=0.5, max_s=30.0, jitter=0.5)


class MqttIngest:
    def __init__(
        self,
        url: str,
        ingestor: Ingestor,
        *,
        prefix: str,
        group: str,
        client_id: str,
        queue_size: int,
        workers: int = 4,
    ) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1883
        self.ingestor = ingestor
        self.prefix = prefix.rstrip("/")
        self.group = group
        self.client_id = client_id
        self.queue_size = queue_size
        self.workers = workers
        self.connected = asyncio.Event()
        self.counters: Counter[str] = Counter()

    @property
    def subscription(self) -> str:
        return f"$share/{self.group}/{self.prefix}/+/batch"

    async def run(self) -> None:
        """Connect, subscribe and ingest, forever; reconnect after any broker error."""
        failures = 0
        rng = random.Random()
        while True:
            try:
                await self._session()
            except* aiomqtt.MqttError as group:
                self.connected.clear()
                self.counters["disconnects"] += 1
                failures += 1
                delay_s = RECONNECT.delay_s(failures, rng)
                log = logger.warning if failures == 1 else logger.debug
                log("MQTT %s:%d: %s; retrying in %.1f s", self.host, self.port, group.exceptions[0], delay_s)
                await asyncio.sleep(delay_s)
            else:
                failures = 0

    async def _session(self) -> None:
        async with aiomqtt.Client(
            self.host,
            self.port,
            identifier=self.client_id,
            clean_session=False,
            max_queued_incoming_messages=self.queue_size,
        ) as client:
            await client.subscribe(self.subscription, qos=1)
            self.connected.set()
            self.counters["connects"] += 1
            logger.info("MQTT ingest subscribed to %s as %s", self.subscription, self.client_id)
            async with asyncio.TaskGroup() as tg:
                for i in range(self.workers):
                    tg.create_task(self._worker(client), name=f"mqtt-ingest-{i}")

    async def _worker(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            await self._handle(client, str(message.topic), bytes(message.payload))

    def topic_gateway(self, topic: str) -> str | None:
        head, sep, rest = topic.partition(self.prefix + "/")
        gateway, _, tail = rest.partition("/")
        return gateway if (not head and sep and gateway and tail == "batch") else None

    async def _handle(self, client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        self.counters["messages"] += 1
        gateway = self.topic_gateway(topic)
        if gateway is None:
            self.counters["bad_topics"] += 1
            return
        try:
            ack = await self.ingestor.ingest(
                payload, allowed_gateway=lambda g: g == gateway, transport="mqtt"
            )
        except GatewayMismatchError as e:
            _, batch_id = peek(payload, self.ingestor.max_batch_bytes)
            reason = f"batch of gateway {e.args[0]!r} on the topic of gateway {gateway!r}"
            ack = Ack(gateway, batch_id, 0, (), reason)
        except Exception:  # the database is down or broken: no ack, the edge sends the batch again
            self.counters["ingest_failures"] += 1
            logger.exception("ingesting a batch of %s failed; it stays unacknowledged", gateway)
            return
        await client.publish(f"{self.prefix}/{gateway}/ack", encode_ack(ack), qos=1)
        self.counters["acks_published"] += 1

    def statistics(self) -> dict[str, int | bool]:
        return {**self.counters, "connected": self.connected.is_set()}
