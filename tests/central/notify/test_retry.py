"""The retry policy for failed notifications: capped, jittered, and a last attempt."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.notify.retry import GiveUp, Retry, RetryPolicy


def test_the_delay_doubles_up_to_the_cap_without_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, initial_delay_s=5, max_delay_s=60, jitter=0)
    rng = random.Random(1)
    assert [policy.delay_s(k, rng) for k in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_jitter_spreads_jobs_that_failed_together() -> None:
    policy = RetryPolicy(initial_delay_s=10, max_delay_s=600, jitter=0.2)
    rng = random.Random(7)
    delays = [policy.delay_s(1, rng) for _ in range(200)]
    assert min(delays) >= 8 and max(delays) <= 12
    assert len({round(d, 3) for d in delays}) > 150


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=2**31))
def test_the_delay_never_passes_the_cap(failed: int, seed: int) -> None:
    policy = RetryPolicy()
    delay_s = policy.delay_s(failed, random.Random(seed))
    assert 0 < delay_s <= policy.max_delay_s


def test_after_the_last_attempt_the_job_has_failed_for_good() -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay_s=5, max_delay_s=60, jitter=0)
    rng = random.Random(0)
    assert policy.after_failure(1, 1_000_000, rng) == Retry(1_005_000)
    assert policy.after_failure(2, 1_000_000, rng) == Retry(1_010_000)
    assert policy.after_failure(3, 1_000_000, rng) == GiveUp(3)


def test_the_defaults_try_for_about_fifty_minutes() -> None:
    policy = RetryPolicy()
    no_jitter = RetryPolicy(policy.max_attempts, policy.initial_delay_s, policy.max_delay_s, jitter=0)
    total_s = sum(no_jitter.delay_s(k, random.Random(0)) for k in range(1, policy.max_attempts))
    assert 45 * 60 <= total_s <= 55 * 60


@pytest.mark.parametrize(
    "bad",
    [{"max_attempts": 0}, {"initial_delay_s": 0}, {"initial_delay_s": 10, "max_delay_s": 5}, {"jitter": 1.0}],
)
def test_a_policy_that_cannot_work_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="need max_attempts"):
        RetryPolicy(**bad)  # type: ignore[arg-type]
