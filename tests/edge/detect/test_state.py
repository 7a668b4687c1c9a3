"""Save, kill, restore: the same events as an uninterrupted run; a state from another layout is refused."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.detect import DetectorBank, StateMismatchError
from tests.edge.detect import state_worker
from tests.edge.detect.helpers import block, channel, every_rule, level, run

ROOT = Path(__file__).resolve().parents[3]


def uninterrupted() -> tuple[list[list[object]], np.ndarray]:
    ch, ts, values = state_worker.series()
    bank = state_worker.make_bank()
    first = bank.step(block(ch[: state_worker.SPLIT], ts[: state_worker.SPLIT], values[: state_worker.SPLIT]))
    rest = bank.step(block(ch[state_worker.SPLIT :], ts[state_worker.SPLIT :], values[state_worker.SPLIT :]))
    assert first.events and rest.events, "the series should raise and clear alarms on both sides of the split"
    return state_worker.event_rows(rest.events), rest.scores


def test_state_restore_continues_exactly() -> None:
    expected_events, expected_scores = uninterrupted()
    ch, ts, values = state_worker.series()
    split = state_worker.SPLIT
    before = state_worker.make_bank()
    before.step(block(ch[:split], ts[:split], values[:split]))
    after = state_worker.make_bank()
    after.restore(before.state())
    assert after.open_alarms() == before.open_alarms()
    assert after.statistics() == before.statistics()
    result = after.step(block(ch[split:], ts[split:], values[split:]))
    assert state_worker.event_rows(result.events) == expected_events
    np.testing.assert_array_equal(result.scores, expected_scores)


@pytest.mark.slow
def test_killed_gateway_continues_from_its_saved_state(tmp_path: Path) -> None:
    path = str(tmp_path / "detect.state")
    cmd = [sys.executable, "-m", "tests.edge.detect.state_worker"]
    with subprocess.Popen([*cmd, "first", path], cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "saved"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    rest = subprocess.run(
        [*cmd, "rest", path], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    events = [json.loads(line) for line in rest.stdout.splitlines()]
    expected, _ = uninterrupted()
    assert events == json.loads(json.dumps(expected))


def test_an_open_alarm_is_not_raised_again_after_restore() -> None:
    bank = DetectorBank.from_channels([channel("x", level())])
    assert [e.level for e in run(bank, block(0, [0, 1000], [25.0, 26.0]))] == [2]
    again = DetectorBank.from_channels([channel("x", level())])
    again.restore(bank.state())
    assert run(again, block(0, [2000, 3000], [27.0, 28.0])) == []
    assert [(a.rule, a.level, a.since_ts_ms, a.value) for a in again.open_alarms()] == [("level", 2, 0, 25.0)]


@pytest.mark.parametrize(
    ("other", "message"),
    [
        ([channel("x", *every_rule()), channel("y", *every_rule())], r"another channel layout \(1 channels"),
        ([channel("z", *every_rule())], r"first difference at channel 0: 'gw/dev/x' vs 'gw/dev/z'"),
        ([channel("x", level())], "differs in its rules"),
    ],
)
def test_state_from_another_layout_is_refused(other, message) -> None:
    state = DetectorBank.from_channels([channel("x", *every_rule())]).state()
    bank = DetectorBank.from_channels(other)
    with pytest.raises(StateMismatchError, match=message):
        bank.restore(state)


def test_garbage_is_not_a_state() -> None:
    with pytest.raises(StateMismatchError, match="not a detector state"):
        DetectorBank.from_channels([channel("x", level())]).restore(b"not a state at all")
