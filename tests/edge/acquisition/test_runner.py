from __future__ import annotations

import time
from pathlib import Path

from edge.acquisition import Acquisition
from edge.pipeline import ListSink
from edge.siteconfig import load_site
from simulator.modbus_slaves import SlaveMemory, serve_tcp
from tests.edge.acquisition.conftest import SyncedClock, write_site


async def test_run_for_a_duration_of_clock_time_then_stop(tmp_path: Path) -> None:
    async with serve_tcp([SlaveMemory(1), SlaveMemory(2)]) as server:
        site = load_site(write_site(tmp_path, f"""
  - name: tcp
    type: tcp
    host: 127.0.0.1
    port: {server.port}
    devices:
      - {{id: live, profile: test_block, unit_id: 1}}
      - {{id: idle, profile: test_block, unit_id: 2, enabled: false}}
  - name: spare
    type: tcp
    host: 127.0.0.1
    port: {server.port}
    devices:
      - {{id: spare-off, profile: test_block, unit_id: 2, enabled: false}}
"""))  # fmt: skip
        sink = ListSink()
        acquisition = Acquisition(site, sink, SyncedClock(speed=10.0))
        started = time.monotonic()
        await acquisition.run(duration_s=3.0)  # 3 s of clock time: 0.3 s real
        elapsed = time.monotonic() - started
    assert elapsed < 3.0
    stats = acquisition.statistics()
    assert set(stats) == {"tcp", "spare"}
    assert set(stats["tcp"]["devices"]) == {"live"}  # a disabled device is not polled
    assert stats["spare"]["requests"] == 0
    channels = {site.channels[i].device_id for i in sink.readings().channel.tolist()}
    assert channels == {"live"}
    # 20 ms poll interval in clock time: 3 s of it is about 150 polls, minus start-up
    assert 30 <= stats["tcp"]["good"] <= 160


async def test_on_idle_comes_once_every_bus_has_polled_what_was_due(tmp_path: Path) -> None:
    """Three buses on one grid: whenever the last of them goes back to sleep, each has just delivered
    its block for that instant, so every call sees one new block per bus."""
    async with serve_tcp([SlaveMemory(1)]) as server:
        buses = "".join(
            f"""
  - name: tcp{i}
    type: tcp
    host: 127.0.0.1
    port: {server.port}
    devices:
      - {{id: dev{i}, profile: test_block, unit_id: 1}}
"""
            for i in range(3)
        )
        site = load_site(write_site(tmp_path, buses))
        sink = ListSink()
        seen: list[int] = []
        acquisition = Acquisition(site, sink, SyncedClock(), on_idle=lambda: seen.append(len(sink.blocks)))
        await acquisition.run(duration_s=0.6)  # 30 polls of each bus, every 20 ms
    assert len(seen) >= 10
    steps = [b - a for a, b in zip([0, *seen], seen, strict=False)]
    assert all(step % 3 == 0 and step > 0 for step in steps), steps
    assert acquisition.activity.awake == 0
