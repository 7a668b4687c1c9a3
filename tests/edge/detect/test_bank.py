"""The bank: results independent of block boundaries, input checks, status."""

from __future__ import annotations

import numpy as np
import pytest

from edge.detect import DetectorBank
from edge.detect.bank import KERNELS
from protocols.records import ReadingBlock
from tests.edge.detect import state_worker
from tests.edge.detect.helpers import block, channel, level


def test_blocks_of_any_size_give_the_same_scores_and_events() -> None:
    ch, ts, values = state_worker.series()
    whole = state_worker.make_bank().step(block(ch, ts, values))
    assert whole.events
    for cuts in (
        [],
        sorted(np.random.default_rng(5).choice(len(ts), 40, replace=False)),
        list(range(1, 300)),
    ):
        bank = state_worker.make_bank()
        scores, events = [], []
        for part in np.split(np.arange(len(ts)), cuts):
            result = bank.step(block(ch[part], ts[part], values[part]))
            scores.append(result.scores)
            events += result.events
        np.testing.assert_array_equal(np.concatenate(scores), whole.scores)
        assert events == whole.events


def test_scores_lie_in_the_unit_interval() -> None:
    ch, ts, values = state_worker.series()
    scores = state_worker.make_bank().step(block(ch, ts, values)).scores
    assert scores.shape == (len(ts),)
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores.max() > 0


def test_a_block_with_an_unknown_channel_index_is_refused_whole() -> None:
    bank = DetectorBank.from_channels([channel("x", level())])
    with pytest.raises(ValueError, match=r"block.channel\[1\] = 3 is not a channel index \(0..0\)"):
        bank.step(block([0, 3], [0, 1], [50.0, 50.0]))
    assert bank.open_alarms() == []
    assert bank.statistics()["samples"] == 0


def test_statistics_count_what_happened() -> None:
    bank = DetectorBank.from_channels([channel("x", level()), channel("y")])
    bank.step(block([0, 0, 1, 0, 0], [0, 10, 20, 5, 30], [15.0, 25.0, 1.0, 99.0, 0.0]))
    stats = bank.statistics()
    assert stats == stats | {
        "channels": 2, "rules": 1, "steps": 1, "samples": 5, "events": 3, "raised": 1, "escalated": 1,
        "cleared": 1, "late_samples": 1, "open_alarms": 0,
    }  # fmt: skip


@pytest.mark.skipif(not hasattr(KERNELS["rules_step"], "signatures"), reason="NUMBA_DISABLE_JIT=1")
def test_the_warm_up_compiles_what_acquisition_blocks_need() -> None:
    """A Modbus read plan's channel array is read-only (edge/acquisition/modbus_plan.py), and numba types
    a read-only array apart: stepping such a block must not compile the kernels again after the warm-up
    (it would, at the first poll, on the event loop: minutes on a Pi)."""
    bank = DetectorBank.from_channels([channel("x", level()), channel("y")])
    assert bank.warm_up().seconds >= 0.0
    before = {name: list(kernel.signatures) for name, kernel in KERNELS.items()}
    polled = ReadingBlock.of([0, 1], [1000, 1000], [25.0, 1.0], [0, 0])
    polled.channel.flags.writeable = False
    assert [e.level for e in bank.step(polled).events] == [2]
    assert {name: list(kernel.signatures) for name, kernel in KERNELS.items()} == before


def test_warm_up_and_empty_blocks() -> None:
    bank = DetectorBank.from_channels([channel("x", level())])
    assert bank.warm_up().seconds >= 0.0
    result = bank.step(ReadingBlock())
    assert result.scores.shape == (0,) and result.events == []
    assert bank.statistics()["samples"] == 0
