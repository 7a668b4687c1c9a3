"""The one backoff rule: doubling from ``first_s``, capped at ``max_s``, jittered below the nominal wait."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.backoff import Backoff


def test_the_wait_doubles_up_to_the_cap_without_jitter() -> None:
    backoff = Backoff(first_s=5, max_s=60, jitter=0)
    rng = random.Random(1)
    assert [backoff.delay_s(n, rng) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert backoff.capped_s(rng) == 60


def test_jitter_spreads_loops_that_failed_together() -> None:
    backoff = Backoff(first_s=10, max_s=600, jitter=0.2)
    rng = random.Random(7)
    delays = [backoff.delay_s(1, rng) for _ in range(200)]
    assert min(delays) >= 8 and max(delays) <= 10
    assert len({round(d, 3) for d in delays}) > 150


@given(st.integers(min_value=-5, max_value=10_000), st.integers(min_value=0, max_value=2**31))
def test_the_wait_is_positive_and_never_passes_the_cap(failures: int, seed: int) -> None:
    backoff = Backoff(first_s=0.5, max_s=30)
    assert 0 < backoff.delay_s(failures, random.Random(seed)) <= backoff.max_s


@pytest.mark.parametrize("bad", [(0, 1, 0.2), (2, 1, 0.2), (1, 2, 1.0), (1, 2, -0.1)])
def test_a_backoff_that_cannot_work_is_refused(bad: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError, match="need 0 < first_s"):
        Backoff(*bad)
