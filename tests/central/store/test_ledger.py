"""The committed-seq ledger: which seqs are new, and how ranges merge."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from central.store.ledger import merge, touching, uncommitted


def test_uncommitted_masks_seqs_inside_any_range() -> None:
    seqs = np.array([1, 2, 3, 7, 8, 9, 20], dtype=np.int64)
    assert uncommitted(seqs, [(2, 7), (20, 25)]).tolist() == [True, False, False, False, True, True, False]
    assert uncommitted(seqs, []).all()


def test_merge_joins_touching_and_overlapping() -> None:
    assert merge([(4, 6), (1, 3), (10, 12), (11, 15)]) == [(1, 6), (10, 15)]
    assert merge([(1, 10), (2, 3)]) == [(1, 10)]
    assert merge([]) == []


def test_touching_window_reaches_one_beyond() -> None:
    assert touching([(5, 9), (20, 30)]) == (4, 31)


ranges = st.lists(
    st.tuples(st.integers(1, 200), st.integers(0, 20)).map(lambda t: (t[0], t[0] + t[1])), max_size=12
)


@given(ranges)
def test_merge_covers_exactly_the_union(rs: list[tuple[int, int]]) -> None:
    merged = merge(rs)
    covered = {s for a, b in rs for s in range(a, b + 1)}
    assert {s for a, b in merged for s in range(a, b + 1)} == covered
    # maximal: sorted, disjoint and not touching
    assert all(merged[i][1] + 1 < merged[i + 1][0] for i in range(len(merged) - 1))


@given(ranges, st.lists(st.integers(1, 240), max_size=50))
def test_uncommitted_is_membership(rs: list[tuple[int, int]], seqs: list[int]) -> None:
    arr = np.array(seqs, dtype=np.int64)
    covered = {s for a, b in rs for s in range(a, b + 1)}
    assert uncommitted(arr, rs).tolist() == [s not in covered for s in seqs]
