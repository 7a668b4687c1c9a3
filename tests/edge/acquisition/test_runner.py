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
