"""A child process that appends to an outbox under load until it is killed (``test_kill9``).

Every row it appends carries its future seq as its value: the worker resumes from the outbox's
``produced_through``, appends in order, and seqs follow arrival order, so after any crash ``value == seq``
must hold for every row. It prints ``start P`` when it opens, ``committed N`` after each commit, and
``acked A`` once an acknowledgement (the delete of every row through A) has committed. Now and then it
acknowledges old rows, so deletes are killed too.

    python -m tests.edge.outbox.kill_worker OUTBOX [SYNCHRONOUS]
"""

from __future__ import annotations

import functools
import random
import sys
import time

import numpy as np

from edge.outbox import Outbox
from protocols.records import Event, ReadingBlock
from protocols.site import Outbox as OutboxSettings
from protocols.wire import ChannelMeta

CHANNELS = 20
TS0_MS = 1_700_000_000_000
KEEP_ROWS = 3000  # rows older than the newest KEEP_ROWS get acknowledged now and then


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def said_acked(through: int, _: object) -> None:
    say(f"acked {through}")


def main(path: str, synchronous: str = "full") -> None:
    settings = OutboxSettings(synchronous=synchronous, commit_rows=100, commit_interval_ms=5)
    channels = [ChannelMeta(f"gw/dev{i}/p", "mm", "test") for i in range(CHANNELS)]
    outbox = Outbox.open(path, settings, channels=channels, on_commit=lambda n: say(f"committed {n}"))
    next_value = outbox.produced_through + 1
    say(f"start {outbox.produced_through}")
    rng = random.Random()
    ack = None
    while True:
        if rng.random() < 0.05:
            outbox.append_event(
                Event(
                    f"gw/dev{rng.randrange(CHANNELS)}/p",
                    TS0_MS + next_value,
                    "high",
                    2,
                    1,
                    float(next_value),
                    "t",
                )
            )
            next_value += 1
        n = rng.randint(1, 60)
        values = np.arange(next_value, next_value + n, dtype=np.float64)
        block = ReadingBlock.of(
            np.arange(n) % CHANNELS, TS0_MS + values.astype(np.int64), values, np.zeros(n, dtype=np.uint32)
        )
        outbox.append_readings(block)
        next_value += n
        if ack is None and rng.random() < 0.02 and outbox.produced_through > KEEP_ROWS:
            through = outbox.produced_through - KEEP_ROWS
            ack = outbox.acknowledge([(1, through)], acked_through=through, now_ms=0)
            ack.add_done_callback(functools.partial(said_acked, through))
        if ack is not None and ack.done():
            ack = None
        time.sleep(rng.choice((0, 0, 0.0005, 0.002)))


if __name__ == "__main__":
    main(*sys.argv[1:])
