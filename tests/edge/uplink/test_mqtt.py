"""The forwarder and the MQTT uplink through Mosquitto to the real central's MQTT ingest."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from edge.forwarder import Forwarder
from edge.uplink.mqtt import MqttUplink
from protocols.site import MqttUplink as MqttUplinkSettings
from tests.edge.uplink.central import Central
from tests.edge.uplink.helpers import (
    GATEWAY,
    alarm,
    fast_forwarding,
    forwarding,
    open_outbox,
    readings,
)  # fmt: skip
from tests.services import unique_name
from tests.support.serving import wait_healthy
from tests.support.waiting import until

pytestmark = pytest.mark.service


def mqtt_central(tmp_path: Path, mqtt_url: str, prefix: str) -> Central:
    return Central(
        tmp_path, GATEWAY, mqtt=mqtt_url, mqtt_topic_prefix=prefix,
        mqtt_share_group=unique_name("central"), mqtt_client_id=unique_name("central"),
    )  # fmt: skip


def mqtt_uplink(mqtt_url: str, prefix: str, client_id: str, ack_timeout_s: float = 10.0) -> MqttUplink:
    settings = MqttUplinkSettings(type="mqtt", url=mqtt_url, topic_prefix=prefix, ack_timeout_s=ack_timeout_s)
    return MqttUplink(settings, GATEWAY, client_id=client_id)


async def test_every_row_reaches_the_central_once_over_mqtt(tmp_path: Path, mqtt_url: str) -> None:
    prefix = unique_name("fw")
    central = mqtt_central(tmp_path, mqtt_url, prefix)
    outbox = open_outbox(tmp_path / "outbox.db")
    outbox.append_readings(readings(1, 2000))
    outbox.append_event(alarm(2001.0))
    outbox.flush().result(timeout=10)
    uplink = mqtt_uplink(mqtt_url, prefix, unique_name("edge"))
    async with central.serve() as url:
        await wait_healthy(url, mqtt="connected")
        async with forwarding(outbox, uplink, fast_forwarding(max_batch_rows=600)) as fwd:
            await until(lambda: outbox.statistics()["rows"] == 0, what="the outbox drained over MQTT")
            assert fwd.counters["batches_acked"] >= 4
            fwd.post_heartbeat({"version": "mqtt-test", "heartbeat_interval_s": 30})
            await until(lambda: fwd.counters["heartbeats_sent"] == 1, what="a heartbeat")
    assert central.reading_seqs() == list(range(1, 2001))
    assert central.event_seqs() == [2001]
    assert central.query("SELECT version FROM gateways") == [("mqtt-test",)]
    assert uplink.statistics()["published"] == fwd.counters["batches_sent"], "a send failed on the way"
    outbox.close()


async def test_an_ack_queued_while_the_gateway_was_away_is_applied(tmp_path: Path, mqtt_url: str) -> None:
    """The central commits after the edge gave up waiting and went away; the broker keeps the ack in the
    edge's persistent session, and the edge deletes those rows when it comes back, without resending."""
    prefix = unique_name("fw")
    client_id = unique_name("edge")
    central = mqtt_central(tmp_path, mqtt_url, prefix)
    outbox = open_outbox(tmp_path / "outbox.db")
    outbox.append_readings(readings(1, 300))
    outbox.flush().result(timeout=10)
    async with central.serve() as url:
        await wait_healthy(url, mqtt="connected")
        lock = sqlite3.connect(central.db_path, timeout=0, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # the central's commit waits behind this
        impatient = mqtt_uplink(mqtt_url, prefix, client_id, ack_timeout_s=0.3)
        async with forwarding(outbox, impatient, fast_forwarding(retry_max_s=30)):
            await until(lambda: impatient.counters["ack_timeouts"] >= 1, what="the edge gave up waiting")
        lock.execute("ROLLBACK")  # now the central commits and publishes its ack to a gateway that is away
        lock.close()
        await until(lambda: len(central.reading_seqs()) == 300, what="the central committed")
        back = mqtt_uplink(mqtt_url, prefix, client_id)
        Forwarder(outbox, back, gateway=GATEWAY, settings=fast_forwarding())  # applies stray acks; not run
        connection = asyncio.create_task(back.run())
        try:
            await until(lambda: outbox.statistics()["rows"] == 0, what="the queued ack was applied")
        finally:
            connection.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connection
    assert back.statistics()["stray_acks"] >= 1
    assert back.statistics().get("published", 0) == 0, "the rows were deleted without being sent again"
    outbox.close()
