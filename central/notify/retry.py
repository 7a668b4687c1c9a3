"""When to try a failed notification again, and when to stop: capped, jittered exponential backoff.

After the k-th failed attempt the next is due after the project's one backoff rule (``protocols.backoff``):
``min(max_delay_s, initial_delay_s x 2^(k-1))`` times a random factor in ``[1 - jitter, 1]`` (so jobs that
failed together, when a receiver went down, do not all come back at once). After ``max_attempts`` the job
has failed for good: the worker records the last reason on the alarm's timeline and the job stays in the
outbox as ``failed``.

The defaults try 12 times over about 50 minutes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from protocols.backoff import Backoff


@dataclass(frozen=True, slots=True)
class Retry:
    due_ms: int


@dataclass(frozen=True, slots=True)
class GiveUp:
    attempts: int


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 12
    initial_delay_s: float = 5.0
    max_delay_s: float = 600.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if (
            self.max_attempts < 1
            or not 0 < self.initial_delay_s <= self.max_delay_s
            or not 0 <= self.jitter < 1
        ):
            raise ValueError("need max_attempts >= 1, 0 < initial_delay_s <= max_delay_s, 0 <= jitter < 1")

    def delay_s(self, failed_attempts: int, rng: random.Random) -> float:
        """The wait after ``failed_attempts`` (>= 1) failures in a row."""
        return Backoff(self.initial_delay_s, self.max_delay_s, self.jitter).delay_s(failed_attempts, rng)

    def after_failure(self, failed_attempts: int, now_ms: int, rng: random.Random) -> Retry | GiveUp:
        """What follows the ``failed_attempts``-th failure: another try at ``due_ms``, or the end."""
        if failed_attempts >= self.max_attempts:
            return GiveUp(failed_attempts)
        return Retry(now_ms + round(self.delay_s(failed_attempts, rng) * 1000))
