"""A replaced, emptied or restored outbox, with real processes: Modbus slaves, ``fieldwatch-edge run``
behind a TCP proxy that cuts the uplink, and ``fieldwatch-central serve``.

- The outbox is deleted (or left as a zero-length file) between two runs while rows wait in it: the new
  outbox numbers from seq 1 again, and every row it produces must be stored (before incarnations the
  central answered "already committed" for them and the edge deleted rows it never stored). The rows
  that waited in the old file are lost with it; the central counts exactly them, in an "outbox
  replaced" fault alarm, because the old life's last heartbeat (sent by the planned stop's drain) told
  it how far that outbox had numbered.
- An older copy of the outbox (taken while rows waited in it) is restored after the original went on and
  delivered everything: the copy's old rows are already stored and must not be stored twice, its new
  rows (the same seqs the original used after the copy was taken) must all be stored, and the central
  raises an "outbox restored" fault alarm with nothing lost.

Each life's figures are checked: produced = stored + dropped + waiting.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.demo.proxy import UplinkProxy
from tests.e2e import processes as p
from tests.e2e.test_end_to_end import REGISTERS, UNITS, write_site
from tests.support.ports import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

GATEWAY = "gw-identity"
# live rows go at once; the backlog only at 20 rows/s, so a drain leaves rows behind after a cut
FORWARDING = "{send_interval_ms: 100, retry_max_s: 0.5, backlog_rows_per_s: 20, live_window_s: 0.5}"


class ProxyThread:
    """``simulator.demo.proxy.UplinkProxy`` on an event loop of its own thread, driven from the test."""

    def __init__(self, target_port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="uplink-proxy", daemon=True)
        self.thread.start()
        self.proxy = UplinkProxy("127.0.0.1", target_port)
        self.port = asyncio.run_coroutine_threadsafe(self.proxy.start(), self.loop).result(10)

    def cut(self) -> None:
        self.loop.call_soon_threadsafe(self.proxy.cut)

    def restore(self) -> None:
        self.loop.call_soon_threadsafe(self.proxy.restore)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Rig:
    def __init__(self, tmp_path: Path, slaves_port: int) -> None:
        self.tmp = tmp_path
        self.db = tmp_path / "central.db"
        self.outbox = tmp_path / "outbox.db"
        self.slaves_port = slaves_port
        self.token = p.gateway_token(self.db, GATEWAY)
        self.central = p.central(tmp_path, self.db, free_port())
        self.central.start()
        central_port = int(self.central.args[self.central.args.index("--port") + 1])
        self.proxy = ProxyThread(central_port)
        self.uplink = f'{{type: http, url: "http://127.0.0.1:{self.proxy.port}", timeout_s: 5}}'
        self.edges: list[p.Service] = []

    def site(self, *, enabled: bool = True) -> Path:
        return write_site(
            self.tmp, GATEWAY, self.uplink, self.slaves_port, enabled=enabled, forwarding=FORWARDING
        )

    def edge(self, *, enabled: bool = True, drain_s: float = 1.5) -> p.Service:
        """A new edge service (a new outbox file needs a new one: its start count is the file's boots)."""
        edge = p.edge(
            self.tmp, self.site(enabled=enabled), self.outbox, env={"FIELDWATCH_TOKEN": self.token},
            args=("--drain-s", str(drain_s)),
        )  # fmt: skip
        self.edges.append(edge)
        return edge

    def close(self) -> None:
        for edge in self.edges:
            edge.kill()
        self.central.kill()
        self.proxy.close()

    # ------------------------------------------------------------ figures

    def outbox_figures(self) -> dict[str, int]:
        """produced (numbered), waiting, dropped: the outbox file's own account."""
        meta = p.outbox_meta(self.outbox)
        waiting = p.query(
            self.outbox,
            "SELECT (SELECT coalesce(sum(rows), 0) FROM reading_blocks) + (SELECT count(*) FROM events)",
        )[0][0]
        dropped = p.query(self.outbox, "SELECT coalesce(sum(rows), 0) FROM drops")[0][0]
        return {"produced": int(meta["next_seq"]) - 1, "waiting": int(waiting), "dropped": int(dropped)}

    def stored(self, epoch: int) -> int:
        """Seqs of the epoch the central committed (its ledger), checked against the readings it holds."""
        ranges = p.query(self.db, "SELECT first_seq, last_seq FROM seq_ranges WHERE epoch = ?", (epoch,))
        return sum(b - a + 1 for a, b in ranges)

    def readings(self, epoch: int) -> list[tuple[int, int, float]]:
        return p.query(
            self.db, "SELECT seq, ts_ms, value FROM readings WHERE epoch = ? ORDER BY seq", (epoch,)
        )

    def central_count(self) -> int:
        return p.query(self.db, "SELECT count(*) FROM readings")[0][0] if self.db.exists() else 0

    def wait_for_rows(self, more: int) -> None:
        before = self.central_count()
        wait_for(lambda: self.central_count() >= before + more, 30, f"{more} more readings at the central")

    def start(self, edge: p.Service) -> None:
        """Start ``edge`` and wait until it has opened the outbox file as it is now (one more boot)."""
        edge.starts = int(p.outbox_meta(self.outbox).get("boots", 0))
        edge.start()

    def drain(self) -> None:
        """Run the edge once more with its devices off, until its outbox is empty; then stop it."""
        edge = self.edge(enabled=False)
        self.start(edge)
        wait_for(lambda: self.outbox_figures()["waiting"] == 0, 60, "the outbox to drain")
        assert edge.stop() == 0, edge.log_tail()

    def run_to_the_end(self) -> tuple[dict[str, int], int]:
        """A new edge run on the outbox file as it is: until 300 more readings arrive, then stopped and
        drained. (the outbox's figures, readings the central gained meanwhile)"""
        before = self.central_count()
        edge = self.edge()
        self.start(edge)  # (no exit: whatever state the file was in)
        self.wait_for_rows(300)
        assert edge.stop() == 0, edge.log_tail()
        self.drain()
        return self.outbox_figures(), self.central_count() - before

    def alarms(self, rule: str) -> list[tuple[float, str]]:
        return p.query(self.db, "SELECT value, message FROM alarms WHERE rule = ?", (rule,))


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    port = free_port()
    slaves = p.slaves(tmp_path, port, ",".join(map(str, UNITS)), REGISTERS)
    slaves.start()
    try:
        made = Rig(tmp_path, port)
        try:
            yield made
        finally:
            made.close()
    finally:
        slaves.stop()


def run_then_stop_with_rows_waiting(rig: Rig, edge: p.Service, cut_s: float = 3.0) -> None:
    """Run until rows reach the central, cut the uplink for ``cut_s`` (rows wait), stop with a drain that
    can send its last heartbeat but not the whole backlog."""
    rig.start(edge)
    rig.wait_for_rows(200)
    rig.proxy.cut()
    time.sleep(cut_s)
    assert edge.proc is not None
    edge.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # the drain has begun: the last heartbeat waits for the link
    rig.proxy.restore()
    assert edge.proc.wait(timeout=p.STOP_TIMEOUT_S) == 0, edge.log_tail()  # (a second SIGTERM ends a drain)


@pytest.mark.parametrize("how", ["deleted", "zero-length"])
def test_a_replaced_outbox_loses_nothing_silently(rig: Rig, how: str) -> None:
    run_then_stop_with_rows_waiting(rig, rig.edge())
    old = rig.outbox_figures()
    old["stored"] = rig.stored(0)
    assert old["waiting"] > 20, old
    assert old["produced"] == old["stored"] + old["dropped"] + old["waiting"], old

    for suffix in ("", "-wal", "-shm"):
        Path(str(rig.outbox) + suffix).unlink(missing_ok=True)
    if how == "zero-length":
        rig.outbox.write_bytes(b"")

    new, gained = rig.run_to_the_end()
    assert gained == new["produced"], "rows of the new outbox never stored"
    new["stored"] = rig.stored(1)
    print(f"\noutbox {how}: old life {old}, new life {new}")
    assert new["produced"] > 300
    assert new["produced"] == new["stored"] + new["dropped"] + new["waiting"], new
    assert new["waiting"] == 0 and new["dropped"] == 0
    seqs = [s for s, _, _ in rig.readings(1)]
    assert len(seqs) == len(set(seqs)), "a reading of the new outbox is stored twice"
    assert rig.stored(0) == old["stored"], "the old life's stored rows changed"
    ((lost, message),) = rig.alarms("outbox_replaced")
    assert lost == old["produced"] - old["stored"], message  # exactly the seqs that waited in the old file
    gateway = p.query(rig.db, "SELECT outbox_changes, outbox_lost_seqs FROM gateways")[0]
    assert gateway == (1, old["produced"] - old["stored"])


def test_a_restored_older_copy_neither_loses_nor_duplicates(rig: Rig) -> None:
    first = rig.edge()
    run_then_stop_with_rows_waiting(rig, first)
    backup = rig.outbox_figures()
    assert backup["waiting"] > 20, backup
    copy = rig.tmp / "backup"
    copy.mkdir()
    for suffix in ("", "-wal"):  # the image: the file as the stopped agent left it
        if Path(str(rig.outbox) + suffix).exists():
            shutil.copyfile(str(rig.outbox) + suffix, copy / f"outbox.db{suffix}")

    rig.start(first)  # the original goes on: delivers the backlog and new rows, then drains completely
    rig.wait_for_rows(300)
    assert first.stop() == 0, first.log_tail()
    rig.drain()
    original = rig.outbox_figures()
    assert original["waiting"] == 0 and rig.stored(0) == original["produced"] - original["dropped"]

    for suffix in ("", "-wal", "-shm"):  # the technician restores the image taken earlier
        Path(str(rig.outbox) + suffix).unlink(missing_ok=True)
        if (copy / f"outbox.db{suffix}").exists():
            shutil.copyfile(copy / f"outbox.db{suffix}", str(rig.outbox) + suffix)
    after, gained = rig.run_to_the_end()
    print(f"\nrestored copy: at the backup {backup}, the original {original}, the copy {after}")
    assert after["waiting"] == 0
    new_rows = after["produced"] - backup["produced"]
    assert gained == new_rows, "the copy's new rows were not all stored once"
    assert rig.stored(0) == original["produced"] - original["dropped"], (
        "the copy's old rows were stored again"
    )
    assert rig.stored(1) == new_rows > 300, "the copy's new rows were not all stored"
    readings = rig.readings(0) + rig.readings(1)
    assert len({(ts, v) for _, ts, v in readings}) == len(readings), "one reading stored twice"
    ((lost, message),) = rig.alarms("outbox_restored")
    assert lost == 0, message


def test_a_page_corrupted_outbox_is_salvaged_and_the_gateway_goes_on(rig: Rig) -> None:
    run_then_stop_with_rows_waiting(rig, rig.edge())
    old = rig.outbox_figures()
    old["stored"] = rig.stored(0)
    size = rig.outbox.stat().st_size
    with rig.outbox.open("r+b") as f:  # a torn page in the middle of the file
        f.seek(size // 4096 // 2 * 4096)
        f.write(b"\xa5" * 4096)

    new, gained = rig.run_to_the_end()  # the agent moves the file aside, salvages it, and polls on
    kept = sorted(rig.tmp.glob("outbox.db.corrupt-*"))
    assert [k.name for k in kept if not k.name.endswith(("-wal", "-shm"))], "the corrupt file was not kept"
    ((level, message),) = p.query(rig.db, "SELECT level, message FROM alarms WHERE rule = 'outbox_corrupt'")
    assert level == 3 and "kept as outbox.db.corrupt-" in message, message
    print(f"\npage-corrupted: before {old}, after {new}; {message}")
    assert new["waiting"] == 0 and new["produced"] >= old["produced"]
    numbered_since = new["produced"] - old["produced"]
    assert gained >= numbered_since - 1  # the new run's rows (less the fault event)
    readings = rig.readings(0)
    assert len({s for s, _, _ in readings}) == len(readings), "a reading stored twice"
    assert not rig.alarms("outbox_replaced") and not rig.alarms("outbox_restored")
