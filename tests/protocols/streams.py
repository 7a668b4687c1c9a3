"""Helpers for the serial framer tests: cutting one byte stream into chunks in every way that matters."""

from __future__ import annotations

import itertools

from hypothesis import strategies as st


def every_two_way_split(stream: bytes) -> list[list[bytes]]:
    """The stream cut once at every byte boundary, plus one byte per chunk."""
    return [[stream[:cut], stream[cut:]] for cut in range(len(stream) + 1)] + [[bytes([b]) for b in stream]]


@st.composite
def chunkings(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """``stream`` cut at up to 12 random places (empty chunks included)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    return [stream[a:b] for a, b in itertools.pairwise([0, *cuts, len(stream)])]
