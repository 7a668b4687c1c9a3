"""The committed-seq ledger: which seqs of a gateway are already stored, as a few ranges.

Ingest is idempotent on (gateway, seq) without a unique index on the readings table: each gateway's
committed seqs are kept as maximal ranges (``seq_ranges`` table), normally one or a handful, because
batches cover consecutive seqs. An ingest reads the ranges that touch the batch, stores only the rows whose
seq is in none of them, and writes back the merged ranges, all in one transaction under the gateway's row
lock. The readings table then needs only its (channel, time) key, and PostgreSQL can take rows by COPY.

Pure functions over numpy arrays and lists of ``(first, last)`` pairs; no I/O.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Range = tuple[int, int]


def uncommitted(seqs: npt.NDArray[np.int64], committed: list[Range]) -> npt.NDArray[np.bool_]:
    """A mask over ``seqs``: True where the seq is in none of the ``committed`` ranges."""
    mask = np.ones(len(seqs), dtype=np.bool_)
    for first, last in committed:
        mask &= (seqs < first) | (seqs > last)
    return mask


def merge(ranges: list[Range]) -> list[Range]:
    """The union of ``ranges`` as sorted maximal ranges; touching ranges join: (1, 3) + (4, 6) = (1, 6)."""
    out: list[Range] = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def touching(ranges: list[Range]) -> tuple[int, int]:
    """The seq window whose stored ranges may overlap or touch ``ranges`` (which must not be empty)."""
    return min(r[0] for r in ranges) - 1, max(r[1] for r in ranges) + 1
