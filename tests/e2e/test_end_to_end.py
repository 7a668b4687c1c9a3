"""End to end: Modbus slaves -> ``fieldwatch-edge run`` -> ``fieldwatch-central serve``, each a real process.

The edge is killed with SIGKILL three times at random instants and the central is stopped twice for a
couple of seconds while the edge keeps polling. At the end the edge runs once more with its devices
disabled (a technician switching them off), so it only drains its outbox. Then the central must hold
every seq the gateway produced exactly once, and every value must be one the slaves served: each read
moves the slave's registers by one, so a reading of register ``i`` of unit ``u`` is ``1000 u + i + k``
with ``k`` the same for every point of one read and growing from read to read.

The same over HTTP and over MQTT (through Mosquitto).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocols.quality import Quality
from tests.e2e import processes as p
from tests.services import unique_name
from tests.support import sites as support_sites
from tests.support.ports import free_port
from tests.support.waiting import wait_for

UNITS = (1, 2)
REGISTERS = 4
POLL_MS = 100
KILLS = 3
CENTRAL_STOPS = 2
CENTRAL_DOWN_S = 2.0
CLOCK_UNSYNC = int(Quality.CLOCK_UNSYNC)

pytestmark = pytest.mark.slow


FORWARDING = "{send_interval_ms: 100, retry_max_s: 0.5, backlog_rows_per_s: 100000, live_window_s: 2}"


def write_site(
    folder: Path,
    gateway: str,
    uplink: str,
    slaves_port: int,
    *,
    enabled: bool = True,
    forwarding: str = FORWARDING,
) -> Path:
    points = "\n".join(f"  - {{name: r{i}, address: {i}, type: uint16}}" for i in range(REGISTERS))
    profile = f"model: e2e_block\npoll_interval_ms: {POLL_MS}\nprotocol: modbus\npoints:\n{points}\n"
    on = str(enabled).lower()
    devices = ", ".join(f"{{id: u{u}, profile: e2e_block, unit_id: {u}, enabled: {on}}}" for u in UNITS)
    bus = f"  - {{name: tcp1, type: tcp, host: 127.0.0.1, port: {slaves_port}, timeout_ms: 1000, devices: [{devices}]}}\n"
    return support_sites.write_site(
        folder, bus, {"e2e_block": profile},
        gateway=f"{{id: {gateway}, heartbeat_interval_s: 1}}",
        site="{id: e2e, name: end to end, type: other, latitude_deg: 30, longitude_deg: 117}",
        uplink=uplink, forwarding=forwarding, outbox="{path: outbox.db, commit_interval_ms: 50}",
    )  # fmt: skip


def central_rows(db: Path) -> tuple[list[tuple[str, int, int, float | None, int]], list[int]]:
    readings = p.query(
        db,
        "SELECT c.key, r.seq, r.ts_ms, r.value, r.quality FROM readings r JOIN channels c ON c.id = r.channel_id "
        "ORDER BY r.seq",
    )
    events = [s for (s,) in p.query(db, "SELECT event_seq FROM alarm_timeline WHERE event_seq IS NOT NULL")]
    return readings, events


def check_central(db: Path, gateway: str, produced_through: int) -> None:
    readings, events = central_rows(db)
    seqs = sorted([r[1] for r in readings] + events)
    assert len(seqs) == len(set(seqs)), "a seq is at the central twice"
    missing = sorted(set(range(1, produced_through + 1)) - set(seqs))
    assert not missing, f"{len(missing)} seqs never reached the central, first {missing[:10]}"
    assert seqs == list(range(1, produced_through + 1)), "the central holds seqs the gateway never produced"
    # values: exactly what the slaves served, in the order they served them
    reads: dict[tuple[str, int], set[float]] = defaultdict(set)  # (device, ts_ms) -> k of that read
    last_k: dict[str, float] = {}
    last_ts: dict[str, int] = {}
    for key, _seq, ts_ms, value, quality in readings:
        _, device, point = key.split("/")
        if value is None:
            assert quality != 0, f"{key}: a value-less reading with good quality"
            continue
        assert quality & ~CLOCK_UNSYNC == 0, (
            f"{key}: quality {quality}"
        )  # a container's clock may be unsynced
        k = value - (1000 * int(device[1:]) + int(point[1:]))
        assert k >= 1 and k == int(k), f"{key}: {value} is not a value the slave served"
        reads[(device, ts_ms)].add(k)
        assert ts_ms >= last_ts.get(key, 0), f"{key}: out of order"
        assert k > last_k.get(key, 0), (
            f"{key}: k went from {last_k.get(key)} to {k}: out of order or repeated"
        )
        last_k[key], last_ts[key] = k, ts_ms
    torn = {r: ks for r, ks in reads.items() if len(ks) != 1}
    assert not torn, f"points of one read disagree on the read: {list(torn.items())[:3]}"
    assert len(readings) > 500, "too little data to mean anything"
    assert p.query(db, "SELECT id FROM gateways") == [(gateway,)]


def run_scenario(
    tmp_path: Path, slaves_port: int, gateway: str, uplink_yaml: str, central: p.Service, env: dict[str, str]
) -> None:
    outbox = tmp_path / "outbox.db"
    site = write_site(tmp_path, gateway, uplink_yaml, slaves_port)
    edge = p.edge(tmp_path, site, outbox, env=env)
    try:
        exercise(tmp_path, gateway, uplink_yaml, slaves_port, central, edge)
    finally:
        edge.kill()
        central.kill()


def exercise(
    tmp_path: Path, gateway: str, uplink_yaml: str, slaves_port: int, central: p.Service, edge: p.Service
) -> None:
    outbox = tmp_path / "outbox.db"
    db = tmp_path / "central.db"
    rng = random.Random()

    def central_count() -> int:
        return p.query(db, "SELECT count(*) FROM readings")[0][0] if db.exists() else 0

    central.start()
    edge.start()
    wait_for(lambda: central_count() > 100, 30, "the first readings at the central")
    for i in range(KILLS):
        time.sleep(rng.uniform(0.3, 2.0))
        edge.kill()
        edge.start()
        if i < CENTRAL_STOPS:
            time.sleep(rng.uniform(0.2, 1.0))
            assert central.stop() == 0, central.log_tail()
            time.sleep(CENTRAL_DOWN_S)  # the edge polls on, into its outbox
            central.start()
    before = central_count()
    wait_for(lambda: central_count() > before + 100, 30, "the central to catch up after the last restart")
    assert edge.stop() == 0, edge.log_tail()

    write_site(
        tmp_path, gateway, uplink_yaml, slaves_port, enabled=False
    )  # devices off: the edge only drains
    edge.start()

    def drained() -> bool:
        left = p.query(
            outbox,
            "SELECT (SELECT coalesce(sum(rows), 0) FROM reading_blocks) + (SELECT count(*) FROM events)",
        )
        return bool(left) and left[0][0] == 0

    wait_for(drained, 60, "the outbox to drain")
    assert edge.stop() == 0, edge.log_tail()
    assert central.stop() == 0, central.log_tail()
    produced = int(p.outbox_meta(outbox)["next_seq"]) - 1
    assert p.outbox_meta(outbox)["boots"] == KILLS + 2
    check_central(db, gateway, produced)
    assert "Traceback" not in edge.log_tail(10**7), edge.log_tail()


@pytest.fixture
def slaves_port(tmp_path: Path) -> Iterator[int]:
    """A Modbus TCP server (its own process) for the whole test; its port."""
    port = free_port()
    server = p.slaves(tmp_path, port, ",".join(map(str, UNITS)), REGISTERS)
    server.start()
    try:
        yield port
    finally:
        server.stop()


def test_http_end_to_end_survives_kills_and_central_outages(tmp_path: Path, slaves_port: int) -> None:
    gateway = "gw-e2e-http"
    db = tmp_path / "central.db"
    token = p.gateway_token(db, gateway)
    port = free_port()
    central = p.central(tmp_path, db, port)
    uplink = f'{{type: http, url: "http://127.0.0.1:{port}", timeout_s: 5}}'
    run_scenario(tmp_path, slaves_port, gateway, uplink, central, {"FIELDWATCH_TOKEN": token})


@pytest.mark.service
def test_mqtt_end_to_end_survives_kills_and_central_outages(
    tmp_path: Path, slaves_port: int, mqtt_url: str
) -> None:
    gateway = unique_name("gw").replace("_", "-")
    prefix = unique_name("fwe2e")
    db = tmp_path / "central.db"
    port = free_port()
    env = {
        "FIELDWATCH_MQTT_TOPIC_PREFIX": prefix,
        "FIELDWATCH_MQTT_SHARE_GROUP": unique_name("central"),
        "FIELDWATCH_MQTT_CLIENT_ID": unique_name("central"),
    }
    central = p.central(tmp_path, db, port, mqtt=mqtt_url, env=env)
    uplink = f'{{type: mqtt, url: "{mqtt_url}", topic_prefix: {prefix}, ack_timeout_s: 3}}'
    run_scenario(tmp_path, slaves_port, gateway, uplink, central, {})
