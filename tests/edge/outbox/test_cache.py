"""The tail cache answers exactly as the file would, or not at all."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from edge.outbox.reader import StoredReadings
from tests.edge.outbox.helpers import block, event, open_outbox


def same(a: StoredReadings, b: StoredReadings) -> bool:
    return (
        a.seq.tolist() == b.seq.tolist()
        and a.block.channel.tolist() == b.block.channel.tolist()
        and a.block.ts_ms.tolist() == b.block.ts_ms.tolist()
        and np.array_equal(a.block.value, b.block.value, equal_nan=True)
        and a.block.quality.tolist() == b.block.quality.tolist()
    )


def test_the_cache_agrees_with_the_file_through_appends_acks_and_evictions(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db", commit_rows=100, nchannels=7)
    outbox.writer.cache.max_rows = 3000
    reader = outbox.reader()
    rng = random.Random(7)
    value, answered = 1, 0
    for step in range(60):
        outbox.append_readings(block(value, 137, 7))
        value += 137
        if step % 7 == 0:
            outbox.append_event(event("gw/dev1/p", float(value)))
            value += 1
        outbox.flush().result(timeout=10)
        if step % 5 == 4:  # the central acknowledged a few ranges, not always a prefix
            a = rng.randrange(1, value)
            outbox.acknowledge([(a, a + rng.randrange(1, 400))], acked_through=a, now_ms=0).result(timeout=10)
        if step == 40:  # the budget thinned something: the cache must forget
            outbox.writer.cache.clear()
        for _ in range(5):
            after = rng.randrange(0, value)
            through = rng.choice([after + rng.randrange(0, 2000), 1 << 62])
            limit = rng.randrange(1, 3000)
            cached = outbox.writer.cache.readings(after, through, limit)
            if cached is not None:
                answered += 1
                assert same(cached, reader.readings(after, through, limit)), (after, through, limit)
    assert answered > 20, "the cache was never asked anything it could answer"
    outbox.close()


def test_the_forwarders_live_tail_comes_from_memory(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "o.db", commit_rows=100, nchannels=7)
    outbox.append_readings(block(1, 500, 7))
    outbox.flush().result(timeout=10)
    cached = outbox.writer.cache.readings(0, 1 << 62, 10_000)
    assert cached is not None and cached.seq.tolist() == list(range(1, 501))
    outbox.close()
