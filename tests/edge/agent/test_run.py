"""``fieldwatch-edge run`` and ``status``: startup errors, a clean stop on SIGTERM, what status shows.

The agent runs as a real process with systemd's notify socket in the test's hands. Nothing answers on its
Modbus port and nothing on its uplink's, so it keeps COMM_ERROR readings and the device's offline event in
its outbox, and reports the uplink as failing: what a gateway does when the field and the link are down.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from edge.outbox import blocks
from edge.outbox.reader import MAX_SEQ
from protocols.quality import Quality
from tests.cli_runner import run_cli
from tests.e2e.processes import EDGE, ROOT, free_port
from tests.edge.agent.sites import write_site

DEAD_HTTP = '{type: http, url: "http://127.0.0.1:9", timeout_s: 1}'


def test_a_missing_token_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDWATCH_TOKEN", raising=False)
    site = write_site(tmp_path, modbus_port=free_port(), uplink=DEAD_HTTP)
    result = run_cli(["run", str(site)])
    assert result.status == 2
    assert f"{site}: uplink.token_env: the environment variable FIELDWATCH_TOKEN" in result.stderr
    assert not (tmp_path / "outbox.db").exists(), "nothing is created before the settings are right"


def test_an_unwritable_outbox_is_a_clear_startup_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDWATCH_TOKEN", "fw_test")
    (tmp_path / "blocked").write_text("a file where the outbox's folder should be")
    site = write_site(tmp_path, modbus_port=free_port(), uplink=DEAD_HTTP, outbox="blocked/outbox.db")
    result = run_cli(["run", str(site)])
    assert result.status == 1
    assert f"fieldwatch-edge run: cannot open the outbox at {tmp_path}/blocked/outbox.db" in result.stderr


def test_status_without_an_outbox_says_so(tmp_path: Path) -> None:
    site = write_site(tmp_path, modbus_port=free_port(), uplink=DEAD_HTTP)
    result = run_cli(["status", str(site)])
    assert result.status == 1
    assert "no outbox at" in result.stderr and "has the agent run yet?" in result.stderr


class Notify:
    """systemd's side of NOTIFY_SOCKET: what the agent said, in order."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.said: list[str] = []

    def close(self) -> None:
        self.sock.close()

    def wait_for(self, word: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while word not in self.said:
            assert time.monotonic() < deadline, f"no {word} from the agent (it said {self.said})"
            with contextlib.suppress(TimeoutError):
                self.said += self.sock.recv(4096).decode().split("\n")


def outbox_rows(path: Path) -> tuple[list[tuple[int, int]], list[tuple[str, str, int]]]:
    conn = sqlite3.connect(path)
    try:
        stored = blocks.readings(conn, 0, MAX_SEQ, limit=1 << 40)  # a block of readings per row
        readings = list(zip(stored.seq.tolist(), stored.block.quality.tolist(), strict=True))
        events = conn.execute("SELECT channel, rule, level FROM events").fetchall()
    finally:
        conn.close()
    return readings, events


def committed_events(path: Path) -> list[tuple[str, str, int]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT channel, rule, level FROM events").fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        conn.close()


def test_sigterm_stops_the_agent_cleanly_and_status_tells_the_story(tmp_path: Path) -> None:
    site = write_site(tmp_path, modbus_port=free_port(), uplink=DEAD_HTTP)
    notify = Notify(tmp_path / "notify")
    env = {**os.environ, "FIELDWATCH_TOKEN": "fw_test", "NOTIFY_SOCKET": str(tmp_path / "notify"),
           "WATCHDOG_USEC": "400000"}  # fmt: skip
    proc = subprocess.Popen([*EDGE, "run", str(site)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        notify.wait_for("READY=1", 30)
        notify.wait_for("WATCHDOG=1", 10)
        # polls fail, the device goes offline, heartbeats and sends fail: wait for the offline event
        deadline = time.monotonic() + 30
        while ("gw-agent/dev1/_device", "comm", 2) not in committed_events(tmp_path / "outbox.db"):
            assert time.monotonic() < deadline, "the device never went offline"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr.read() if proc.stderr else ""
        notify.wait_for("STOPPING=1", 5)
    finally:
        notify.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
    readings, events = outbox_rows(tmp_path / "outbox.db")
    assert readings and all(q & Quality.COMM_ERROR for _, q in readings)
    assert ("gw-agent/dev1/_device", "comm", 2) in events
    assert (tmp_path / "outbox.db.detector").stat().st_size > 0, "the detector state was not saved at stop"

    status = run_cli(["status", str(site), "--json"])
    assert status.status == 0, status.stderr
    s = json.loads(status.stdout)
    assert (s["readings"], s["events"]) == (len(readings), len(events))
    assert s["produced_through"] == len(readings) + len(events)
    assert s["uplink_state"] == "failing" and "ConnectError" in s["uplink_error"]
    assert s["last_ack_ms"] is None and s["drops"] == {}
    text = run_cli(["status", str(site)]).stdout
    assert f"waiting       {len(readings)} readings, {len(events)} events" in text
    assert "state         failing since" in text
