from __future__ import annotations

import logging
import math
import random

import pytest

from edge.acquisition.health import DeviceHealth


def health(after: int = 3, retry_s: float = 30.0) -> DeviceHealth:
    return DeviceHealth("gas-1", "gw/gas-1/_device", offline_after_failures=after, offline_retry_s=retry_s,
                        rng=random.Random(7))  # fmt: skip


def test_offline_after_n_consecutive_failures_with_one_event() -> None:
    h = health(after=3)
    assert h.failure(1.0, 1000, "timeout") is None
    assert h.failure(2.0, 2000, "timeout") is None
    event = h.failure(3.0, 3000, "timeout")
    assert event is not None
    assert (event.channel, event.rule, event.level, event.previous_level) == (
        "gw/gas-1/_device",
        "comm",
        2,
        0,
    )
    assert event.ts_ms == 3000
    assert math.isnan(event.value)
    assert event.message == "device offline: 3 consecutive timeouts"
    assert not h.online
    assert h.failure(40.0, 40_000, "timeout") is None  # still offline: no second event


def test_a_good_answer_between_failures_resets_the_count() -> None:
    h = health(after=2)
    h.failure(1.0, 1, "timeout")
    assert h.success(2) is None
    assert h.failure(3.0, 3, "bad_frame") is None
    assert h.online


def test_mixed_failures_are_described() -> None:
    h = health(after=3)
    h.failure(1.0, 1, "timeout")
    h.failure(2.0, 2, "bad_frame")
    event = h.failure(3.0, 3, "timeout")
    assert event is not None
    assert event.message == "device offline: 3 consecutive failed requests (1 bad_frame, 2 timeout)"


def test_offline_retries_are_jittered_around_the_interval() -> None:
    h = health(after=1, retry_s=30.0)
    h.failure(100.0, 1, "timeout")
    assert not h.retry_due(100.0)
    first = h.next_retry_s - 100.0
    assert 27.0 <= first <= 33.0
    assert h.retry_due(h.next_retry_s)
    h.failure(200.0, 2, "timeout")
    assert 227.0 <= h.next_retry_s <= 233.0
    assert h.next_retry_s - 200.0 != first


def test_recovery_clears_with_one_event(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="edge.acquisition.health")
    h = health(after=2)
    for t in range(5):
        h.failure(float(t), t, "timeout")
    event = h.success(99)
    assert event is not None
    assert (event.level, event.previous_level, event.ts_ms) == (0, 2, 99)
    assert h.online and h.consecutive_failures == 0
    assert h.success(100) is None
    levels = [r.levelno for r in caplog.records]
    assert levels.count(logging.WARNING) == 1
    assert levels.count(logging.INFO) == 1
    assert h.snapshot() == {"online": True, "consecutive_failures": 0, "times_offline": 1}
