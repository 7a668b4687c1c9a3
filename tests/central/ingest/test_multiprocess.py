"""Two ``fieldwatch-central serve`` processes on one PostgreSQL schema, sharing one MQTT subscription.

Twenty simulated gateways publish overlapping and repeated batches (each seq of a gateway travels in one
to three batches, in shuffled order); the broker splits the batches between the two processes, which
may therefore commit batches of one gateway at the same moment. Every reading must be stored exactly
once, every event applied once, and both processes must have taken part.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import httpx
import numpy as np
import psycopg
import pytest

from central.auth import Role
from central.store.postgres import PostgresStore
from protocols.wire import Batch, decode_ack, encode_batch
from tests.central.builders import event, readings_batch
from tests.central.client import add_token, bearer
from tests.services import unique_name
from tests.support.ports import free_port

pytestmark = [pytest.mark.service, pytest.mark.slow]

GATEWAYS = 20
LAST_SEQ = 300
EVENT_SEQ = 150  # one event per gateway, carried by two overlapping batches
BATCH = 50
STEP = 40  # batches overlap by BATCH - STEP seqs
WAIT_S = 90.0


def batch_of(gateway: str, first: int, last: int, batch_id: int) -> Batch:
    seqs = [s for s in range(first, last + 1) if s != EVENT_SEQ]
    events = [event(gateway, EVENT_SEQ, 2, 0)] if first <= EVENT_SEQ <= last else []
    return readings_batch(gateway, seqs, n_channels=3, batch_id=batch_id, events=events)


def traffic(rng: random.Random) -> list[Batch]:
    batches = []
    for g in range(GATEWAYS):
        gateway = f"gw-{g:02d}"
        spans = [(a, min(a + BATCH - 1, LAST_SEQ)) for a in range(1, LAST_SEQ + 1, STEP)]
        spans += rng.sample(spans, 3)  # sent again: a lost ack, a reconnect
        batches += [batch_of(gateway, a, b, i) for i, (a, b) in enumerate(spans)]
    rng.shuffle(batches)
    return batches


@pytest.fixture
def two_centrals(pg_schema: str, mqtt_url: str, tmp_path: Path) -> Iterator[tuple[list[str], str, str]]:
    """Two serve processes; yields (their base URLs, the topic prefix, a viewer token)."""
    seeded = PostgresStore(pg_schema, threads=1)
    seeded.migrate()
    viewer = add_token(seeded, Role.VIEWER, name="test")
    seeded.close()
    prefix, group = unique_name("fw"), unique_name("central")
    procs, urls, logs = [], [], []
    for i in range(2):
        port = free_port()
        env = {
            **os.environ, "FIELDWATCH_DATABASE": pg_schema, "FIELDWATCH_MQTT": mqtt_url,
            "FIELDWATCH_MQTT_TOPIC_PREFIX": prefix, "FIELDWATCH_MQTT_SHARE_GROUP": group,
            "FIELDWATCH_MQTT_CLIENT_ID": unique_name(f"central{i}"), "FIELDWATCH_PORT": str(port),
        }  # fmt: skip
        log = (tmp_path / f"central{i}.log").open("w")
        logs.append(log)
        cmd = [str(Path(sys.executable).parent / "fieldwatch-central"), "-v", "serve"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for proc, url, log in zip(procs, urls, logs, strict=True):
            wait_serving(proc, url, Path(log.name))
        yield urls, prefix, viewer
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for log in logs:
            log.close()


def wait_serving(proc: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = 60.0) -> None:
    """Until the process answers /healthz with its MQTT ingest connected; fail with its log if it dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"fieldwatch-central serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).json().get("mqtt") == "connected":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"fieldwatch-central serve did not get ready in {timeout_s} s:\n{log.read_text()}")


async def publish_and_collect_acks(mqtt_url: str, prefix: str, batches: list[Batch]) -> int:
    parts = urlsplit(mqtt_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    acks = 0
    async with aiomqtt.Client(host, port, identifier=unique_name("edges")) as client:
        await client.subscribe(f"{prefix}/+/ack", qos=1)
        for b in batches:
            await client.publish(f"{prefix}/{b.gateway}/batch", encode_batch(b), qos=1)
        async with asyncio.timeout(WAIT_S):
            async for message in client.messages:
                ack = decode_ack(bytes(message.payload))
                assert ack.error is None, ack.error
                acks += 1
                if acks == len(batches):
                    break
    return acks


def committed_by(url: str, viewer: str) -> float:
    metrics = httpx.get(f"{url}/metrics", headers=bearer(viewer), timeout=10).text
    for line in metrics.splitlines():
        if line.startswith('fieldwatch_central_ingest_batches_committed_total{transport="mqtt"}'):
            return float(line.split()[-1])
    return 0.0


async def test_two_processes_store_every_reading_exactly_once(
    two_centrals: tuple[list[str], str, str], mqtt_url: str, pg_schema: str
) -> None:
    urls, prefix, viewer = two_centrals
    batches = traffic(random.Random(20))
    assert await publish_and_collect_acks(mqtt_url, prefix, batches) == len(batches)

    with psycopg.connect(pg_schema) as conn:
        dupes = conn.execute(
            "SELECT c.gateway_id, r.seq, count(*) FROM readings r JOIN channels c ON c.id = r.channel_id "
            "GROUP BY c.gateway_id, r.seq HAVING count(*) > 1 LIMIT 5"
        ).fetchall()
        rows = conn.execute(
            "SELECT c.gateway_id, array_agg(r.seq ORDER BY r.seq) FROM readings r "
            "JOIN channels c ON c.id = r.channel_id GROUP BY c.gateway_id ORDER BY c.gateway_id"
        ).fetchall()
        alarms = conn.execute("SELECT count(*), count(DISTINCT channel_id) FROM alarms").fetchone()
        timeline = conn.execute("SELECT kind, count(*) FROM alarm_timeline GROUP BY kind").fetchall()
        acked = conn.execute("SELECT min(acked_through), max(acked_through) FROM gateways").fetchone()
    assert dupes == []
    expected = [s for s in range(1, LAST_SEQ + 1) if s != EVENT_SEQ]
    assert [g for g, _ in rows] == [f"gw-{g:02d}" for g in range(GATEWAYS)]
    assert all(np.array_equal(seqs, expected) for _, seqs in rows)
    assert alarms == (GATEWAYS, GATEWAYS)
    assert timeline == [("raised", GATEWAYS)]
    assert acked == (LAST_SEQ, LAST_SEQ)
    shares = [committed_by(url, viewer) for url in urls]
    assert all(share > 0 for share in shares), shares  # the broker split the gateways' batches
    assert sum(shares) == len(batches)
