"""How long a retry loop waits after failures in a row: capped exponential backoff, one jitter rule.

After the n-th failure in a row (n >= 1) the wait is ``min(max_s, first_s x 2^(n-1))`` times a random
factor in ``[1 - jitter, 1]``: loops that failed together (a broker restarted, a bus unplugged) do not come
back together, and the wait never passes ``max_s``. Pure: the caller counts its failures and gives the
random source (a seeded ``random.Random`` in tests). Every retry loop of the edge and the central uses it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MAX_DOUBLINGS = 60  # 2^60 x any sane first_s is past any cap; a float never overflows


@dataclass(frozen=True, slots=True)
class Backoff:
    first_s: float
    max_s: float
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.max_s or not 0 <= self.jitter < 1:
            raise ValueError("backoff: need 0 < first_s <= max_s and 0 <= jitter < 1")

    def delay_s(self, failures: int, rng: random.Random) -> float:
        """The wait after ``failures`` (>= 1) failures in a row."""
        base_s = min(self.max_s, self.first_s * 2.0 ** min(max(failures, 1) - 1, MAX_DOUBLINGS))
        return base_s * rng.uniform(1 - self.jitter, 1.0)

    def capped_s(self, rng: random.Random) -> float:
        """The wait at the cap, whatever the count (a failure that will not go away by itself)."""
        return self.max_s * rng.uniform(1 - self.jitter, 1.0)
