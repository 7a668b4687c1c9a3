"""MQTT ingest against Mosquitto: batches in on the shared subscription, acks out after commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import pytest

from central.app import create_app
from central.settings import load_settings
from central.store.base import Store
from protocols.wire import Ack, decode_ack, encode_batch
from tests.central.builders import event, readings_batch
from tests.services import unique_name
from tests.support.serving import serving, wait_healthy

WAIT_S = 15.0


@asynccontextmanager
async def broker_client(mqtt_url: str, ack_topic: str) -> AsyncIterator[aiomqtt.Client]:
    parts = urlsplit(mqtt_url)
    async with aiomqtt.Client(
        parts.hostname or "127.0.0.1", parts.port or 1883, identifier=unique_name("edge")
    ) as c:
        await c.subscribe(ack_topic, qos=1)
        yield c


async def next_ack(client: aiomqtt.Client) -> tuple[str, Ack]:
    async with asyncio.timeout(WAIT_S):
        message = await anext(aiter(client.messages))
    return str(message.topic), decode_ack(bytes(message.payload))


@pytest.mark.service
async def test_mqtt_batches_are_acked_after_commit(
    mqtt_url: str, sqlite_store: Store, tmp_path: Path
) -> None:
    prefix = unique_name("fw")
    settings = load_settings(
        {}, database=f"sqlite:///{tmp_path}/unused.db", mqtt=mqtt_url, mqtt_topic_prefix=prefix,
        mqtt_share_group=unique_name("central"), mqtt_client_id=unique_name("central"),
    )  # fmt: skip
    async with (
        serving(create_app(settings, store=sqlite_store)) as url,
        broker_client(mqtt_url, f"{prefix}/+/ack") as edge,
    ):
        await wait_healthy(url, mqtt="connected")
        batch = readings_batch("gw-1", range(1, 101), batch_id=5, events=[event("gw-1", 101, 2, 0)])
        await edge.publish(f"{prefix}/gw-1/batch", encode_batch(batch), qos=1)
        topic, ack = await next_ack(edge)
        assert topic == f"{prefix}/gw-1/ack"
        assert ack == Ack("gw-1", 5, 101, ((1, 101),), None)
        assert sqlite_store.gateway("gw-1").acked_through == 101  # type: ignore[union-attr]
        assert sqlite_store.alarm(1).alarm.level == 2

        # the same batch again: committed again, nothing added
        await edge.publish(f"{prefix}/gw-1/batch", encode_batch(batch), qos=1)
        assert (await next_ack(edge))[1] == ack

        # a batch of another gateway on gw-1's topic, and a broken one: refused, with the reason
        await edge.publish(
            f"{prefix}/gw-1/batch", encode_batch(readings_batch("gw-2", [1], batch_id=9)), qos=1
        )
        topic, refused = await next_ack(edge)
        assert (topic, refused.batch_id, refused.committed) == (f"{prefix}/gw-1/ack", 9, ())
        assert refused.error is not None and "gw-2" in refused.error
        await edge.publish(f"{prefix}/gw-3/batch", b"{not json", qos=1)
        topic, broken = await next_ack(edge)
        assert topic == f"{prefix}/gw-3/ack" and broken.error is not None and "not JSON" in broken.error
    assert sqlite_store.gateway("gw-2") is None


async def test_mqtt_ingest_waits_for_a_broker_that_is_not_there(sqlite_store: Store, tmp_path: Path) -> None:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db", mqtt="mqtt://127.0.0.1:9")
    async with serving(create_app(settings, store=sqlite_store)) as url:
        await wait_healthy(url, mqtt="disconnected")  # the API serves on; the ingest keeps retrying
