"""Notifications across real ``fieldwatch-central serve`` processes: a SIGKILL right after the alarm's
commit, and two processes on one PostgreSQL schema sharing the outbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from central.auth import Role
from central.store.base import Store
from central.store.postgres import PostgresStore
from central.store.sql_store import SqlStore
from central.store.sqlite import SqliteStore
from protocols.wire import encode_batch
from tests.central.builders import event, events_batch, key
from tests.central.client import add_token, bearer
from tests.central.notify.receivers import WebhookReceiver
from tests.support.ports import free_port

pytestmark = pytest.mark.slow
START_S = 60.0
WAIT_S = 30.0


def policy_file(tmp_path: Path, hook: WebhookReceiver) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(
        f'contacts:\n  - {{name: duty-desk, url: "{hook.url()}"}}\n'
        "policies:\n  - {name: hazards, min_level: orange, notify: [duty-desk]}\n"
    )
    return path


@contextmanager
def serve(database: str, notify: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """One serve process (lease 4 s); yields its URL and the process, stopped afterwards."""
    port = free_port()
    env = {
        **os.environ, "FIELDWATCH_DATABASE": database, "FIELDWATCH_PORT": str(port),
        "FIELDWATCH_NOTIFY_FILE": str(notify), "FIELDWATCH_NOTIFY_LEASE_S": "4",
    }  # fmt: skip
    with log.open("a") as out:
        cmd = [str(Path(sys.executable).parent / "fieldwatch-central"), "-v", "serve"]
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_serving(proc, url, log)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _wait_serving(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"serve did not get ready in {START_S:g} s:\n{log.read_text()}")


def post(url: str, gateway: dict[str, str], seq: int, channel: str, level: int = 4) -> None:
    body = encode_batch(events_batch("gw-1", [event("gw-1", seq, level, 0, channel=channel)], batch_id=seq))
    r = httpx.post(f"{url}/api/v1/ingest", content=body, headers=gateway, timeout=10)
    assert r.status_code == 200, r.text


def wait_sent(store: SqlStore, n: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while sum(j.state == "sent" for j in store.notify_jobs()) < n:
        assert time.monotonic() < deadline, [
            (j.id, j.state) for j in store.notify_jobs() if j.state != "sent"
        ]
        time.sleep(0.1)


def wait_policy_version(url: str, headers: dict[str, str], version: int) -> None:
    line = f"fieldwatch_central_notify_policy_version {version}"
    deadline = time.monotonic() + WAIT_S
    while line not in httpx.get(f"{url}/metrics", headers=headers, timeout=10).text.splitlines():
        assert time.monotonic() < deadline, f"{url} does not use policy version {version}"
        time.sleep(0.1)


def seeded(store: Store) -> dict[str, str]:
    store.migrate()
    return bearer(add_token(store, Role.GATEWAY, "gw-1", name="gw"))


def test_a_central_killed_right_after_the_alarm_commit_delivers_after_restart(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/central.db"
    store = SqliteStore(tmp_path / "central.db", threads=1)
    gateway = seeded(store)
    log = tmp_path / "central.log"
    # a slow receiver: the kill lands while the job is claimed and its request in flight (or before)
    with WebhookReceiver(delay_s=2.0) as hook:
        notify = policy_file(tmp_path, hook)
        with serve(database, notify, log) as (url, proc):
            post(url, gateway, 1, key("gw-1"))  # answered after the commit
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        assert [j.state for j in store.notify_jobs()] in (["pending"], ["sending"])
        with serve(database, notify, log):
            wait_sent(store, 1)
        ids = {r.headers["X-FieldWatch-Notification-Id"] for r in hook.delivered}
        assert len(ids) == 1  # at least once; a repeat (the killed process's request) has the same id
        notes = [t.note for t in store.alarm(1).timeline if t.kind == "notified"]
        assert notes == ["notified duty-desk (raise)"]
    store.close()


@pytest.mark.service
def test_two_centrals_on_postgresql_deliver_each_job_once(pg_schema: str, tmp_path: Path) -> None:
    store = PostgresStore(pg_schema, threads=1)
    gateway = seeded(store)
    alarms = 40
    with WebhookReceiver() as hook:
        notify = policy_file(tmp_path, hook)
        with (
            serve(pg_schema, notify, tmp_path / "a.log") as (a, _),
            serve(pg_schema, notify, tmp_path / "b.log") as (b, _),
        ):
            for i in range(alarms):  # each a new alarm, through either process
                post(a if i % 2 else b, gateway, i + 1, key("gw-1", point=f"p{i}"))
            wait_sent(store, alarms)
            time.sleep(1.0)  # a second delivery of any job would come now
            ids = Counter(r.headers["X-FieldWatch-Notification-Id"] for r in hook.requests)
            assert len(ids) == alarms and set(ids.values()) == {1}
            # policies replaced through one process are the other's within its worker's tick
            admin = bearer(add_token(store, Role.ADMIN, name="admin"))
            blue = notify.read_text().replace("min_level: orange", "min_level: blue")
            r = httpx.put(f"{a}/api/v1/notify/policies", json={"text": blue}, headers=admin, timeout=10)
            assert r.status_code == 200, r.text
            wait_policy_version(b, admin, r.json()["version"])  # each start stored its file: 3
            post(b, gateway, alarms + 1, key("gw-1", point="blue"), level=1)
            wait_sent(store, alarms + 1)
    store.close()
