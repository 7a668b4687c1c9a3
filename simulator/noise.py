"""Deterministic noise: the same seed, channel and instant always give the same number.

A simulated sensor's value is a function of simulated time, so its noise must be too: whichever process
reads the device, however often and in whatever order, the value at a given instant is the same. A
stateful random generator cannot promise that; a hash of (seed, channel name, time tick) can. The hash is
SplitMix64's finaliser (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014),
and two of its outputs become one standard normal by the Box-Muller transform.

The noise is white at the resolution of ``period_s`` (default one simulated second): within one tick the
value holds, which is what a sensor's own averaging window does anyway.
"""

from __future__ import annotations

import hashlib
import math

MASK_64 = (1 << 64) - 1
GOLDEN_64 = 0x9E3779B97F4A7C15


def mix64(x: int) -> int:
    """SplitMix64's output function: a bijection on 64-bit integers that scatters every input bit."""
    x = (x + GOLDEN_64) & MASK_64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK_64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK_64
    return x ^ (x >> 31)


def stream_id(seed: int, name: str) -> int:
    """A 64-bit id for one noise stream: the run's seed and the channel's name."""
    digest = hashlib.blake2b(f"{seed}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def uniform(stream: int, tick: int) -> float:
    """A uniform number in [0, 1) for ``tick`` of ``stream``."""
    return (mix64(stream ^ ((tick * GOLDEN_64) & MASK_64)) >> 11) / float(1 << 53)


def gaussian(stream: int, tick: int) -> float:
    """A standard normal number for ``tick`` of ``stream`` (Box-Muller on two hashed uniforms)."""
    h1 = mix64(stream ^ ((tick * GOLDEN_64) & MASK_64))
    h2 = mix64(h1)
    u1 = ((h1 >> 11) + 1) / float(1 << 53)  # (0, 1]: log(u1) is finite
    u2 = (h2 >> 11) / float(1 << 53)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


class Noise:
    """Gaussian noise of standard deviation ``sigma`` for one named channel."""

    def __init__(self, seed: int, name: str, sigma: float, period_s: float = 1.0) -> None:
        if sigma < 0 or period_s <= 0:
            raise ValueError(f"need sigma >= 0 and period_s > 0 (got {sigma}, {period_s})")
        self.sigma = sigma
        self.period_s = period_s
        self._stream = stream_id(seed, name)

    def at(self, t_s: float) -> float:
        if self.sigma == 0:
            return 0.0
        return self.sigma * gaussian(self._stream, math.floor(t_s / self.period_s))
