"""A 2 MiB disk (a real tmpfs), the uplink cut and restored, the central up: the outbox keeps what the disk
holds, drops only while there is truly no room, and every row is accounted for exactly:
produced = stored at the central + dropped (counted) + waiting.

Before: the budget ignored the file's free pages and reserved a fixed share of the disk, so once the
file had grown and emptied (an outage drained) it counted no room at all and dropped everything new; and
rows evicted while their batch was on its way were counted as dropped and then stored as well.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from edge.uplink.http import HttpUplink
from protocols.records import ReadingBlock
from protocols.site import HttpUplink as HttpUplinkSettings
from simulator.demo.proxy import UplinkProxy
from tests.edge.outbox.test_budget import small_filesystem
from tests.edge.uplink.central import Central
from tests.edge.uplink.helpers import (
    GATEWAY,
    NCHANNELS,
    T0_MS,
    alarm,
    fast_forwarding,
    forwarding,
    open_outbox,
)
from tests.support.waiting import until

pytestmark = pytest.mark.slow

ROWS_PER_S = 5000
TICK_S = 0.02
UP_S, CUT_S, AFTER_S = 3.0, 14.0, 8.0  # link up, cut, up again; then nothing new, the backlog drains


def noisy(first: int, n: int, rng: np.random.Generator) -> ReadingBlock:
    """``n`` readings whose values do not compress (a disk fills sooner), one per channel in turn."""
    seq = np.arange(first, first + n)
    return ReadingBlock.of(seq % NCHANNELS, T0_MS + seq * 10, rng.random(n), np.zeros(n, dtype=np.uint32))


async def test_a_2_mib_disk_through_an_outage_accounts_for_every_row(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "disk", "2m") as disk:
        central = Central(tmp_path, GATEWAY)
        outbox = open_outbox(disk / "outbox.db", commit_rows=500, commit_interval_ms=50)  # budget 1 GiB
        proxy = UplinkProxy("127.0.0.1", central.port)
        await proxy.start()
        settings = HttpUplinkSettings.model_validate(
            {"type": "http", "url": f"http://127.0.0.1:{proxy.port}", "timeout_s": 2}
        )
        rng = np.random.default_rng(3)
        produced = events = 0
        held: list[int] = []  # readings in the outbox, sampled while the link is cut and after
        fw = fast_forwarding(max_batch_rows=2000, backlog_rows_per_s=10_000, live_window_s=1.0)
        async with central.serve(), forwarding(outbox, HttpUplink(settings, central.token), fw):
            loop = asyncio.get_running_loop()
            start = loop.time()
            restored_peak = 0  # readings held since the link came back, at most
            roomy_drops = None  # drops counted when the backlog had drained to half: room again
            while (now := loop.time() - start) < UP_S + CUT_S + AFTER_S:
                if UP_S <= now < UP_S + CUT_S and proxy.up:
                    proxy.cut()
                if now >= UP_S + CUT_S and not proxy.up:
                    proxy.restore()
                if now >= UP_S + CUT_S and roomy_drops is None:
                    # a machine slower than the production rate (an emulated cpu) never gets there
                    statistics = outbox.statistics()
                    restored_peak = max(restored_peak, statistics["readings"])
                    if statistics["readings"] <= restored_peak // 2:
                        roomy_drops = sum(statistics["drops"].values())
                n = int(ROWS_PER_S * TICK_S)
                outbox.append_readings(noisy(produced, n, rng))
                produced += n
                if int(now * 2) != int((now - TICK_S) * 2):  # an alarm every half second: never dropped
                    outbox.append_event(alarm(float(events)))
                    events += 1
                if now >= UP_S + 6.0:
                    held.append(outbox.statistics()["readings"])
                await asyncio.sleep(TICK_S)
            await until(lambda: outbox.statistics()["rows"] == 0, 60, "the outbox to drain")
        await proxy.close()
        stats = outbox.statistics()
        dropped = sum(stats["drops"].values())
        stored = len(central.reading_seqs()) + len(central.event_seqs())
        print(
            f"\n2 MiB disk: produced {produced} readings + {events} events; stored {stored}, dropped {dropped} "
            f"{dict(stats['drops'])}, waiting {stats['rows']}; disk-limited budget "
            f"{stats['page_budget_bytes']} bytes of pages; "
            + (
                f"drops when the backlog had halved: {roomy_drops}"
                if roomy_drops is not None
                else "the backlog never halved while readings were produced: this machine forwards slower"
            )
        )
        assert stats["disk_limited"]
        assert dropped > 0, "the disk never filled: the test proves nothing"
        assert produced + events == stored + dropped + stats["rows"], "a row is counted twice or not at all"
        assert len(central.event_seqs()) == events, "an event was dropped"
        assert min(held) > 0, "the outbox held no readings at some point although the disk had room"
        if roomy_drops is not None:
            assert dropped == roomy_drops, "readings dropped with the link back and room"
        outbox.close()
