"""Properties of the read planner, checked with hypothesis against slow, obviously correct references:
every point served exactly once, within limits and gaps, never split, and as few requests as a brute force
over every partition finds."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.errors import LocalProtocolError
from protocols.planner import PointSlot, plan
from protocols.profile import RegisterKind

KINDS: tuple[RegisterKind, ...] = ("coil", "discrete", "holding", "input")


def limit_of(kind: str, max_registers: int, max_bits: int) -> int:
    return max_bits if kind in ("coil", "discrete") else max_registers


@st.composite
def plan_inputs(draw: st.DrawFn, max_points: int = 8) -> tuple[list[PointSlot], dict[str, Any]]:
    max_registers = draw(st.integers(1, 16))
    max_bits = draw(st.integers(1, 24))
    options = {
        "max_registers_per_read": max_registers,
        "max_bits_per_read": max_bits,
        "max_gap_registers": draw(st.integers(0, 6)),
    }
    kinds: tuple[RegisterKind, ...] = draw(st.sampled_from([("holding",), ("coil",), KINDS]))
    n = draw(st.integers(0, max_points))
    slots = []
    for i in range(n):
        kind = draw(st.sampled_from(kinds))
        bits = kind in ("coil", "discrete")
        count = 1 if bits else draw(st.integers(1, min(4, max_registers)))
        slots.append(
            PointSlot(f"p{i}", kind, draw(st.integers(0, 40)), count, draw(st.sampled_from((1000, 5000))))
        )
    return slots, options


def overlap_components(slots: list[PointSlot]) -> list[list[PointSlot]]:
    """Points linked by shared registers, found the slow way (union-find over register sets)."""
    parent = list(range(len(slots)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, a in enumerate(slots):
        for j, b in enumerate(slots[:i]):
            if set(range(a.address, a.end)) & set(range(b.address, b.end)):
                parent[root(i)] = root(j)
    groups: dict[int, list[PointSlot]] = {}
    for i, s in enumerate(slots):
        groups.setdefault(root(i), []).append(s)
    return list(groups.values())


def feasible(part: list[PointSlot], limit: int, max_gap: int) -> bool:
    """Could one request serve exactly these points? Span within the limit, every hole within the gap."""
    used = {r for s in part for r in range(s.address, s.end)}
    start, end = min(used), max(used) + 1
    if end - start > limit:
        return False
    hole = 0
    for reg in range(start, end):
        hole = 0 if reg in used else hole + 1
        if hole > max_gap:
            return False
    return True


def fewest_requests(slots: list[PointSlot], limit: int, max_gap: int) -> int:
    """Brute force over every partition of the overlap components into requests (DP over subsets)."""
    units = overlap_components(slots)
    full = (1 << len(units)) - 1
    best = {0: 0}
    for mask in range(1, full + 1):
        low = mask & -mask
        candidates = []
        sub = mask
        while sub:
            if sub & low:
                part = [s for k, u in enumerate(units) if sub >> k & 1 for s in u]
                if feasible(part, limit, max_gap):
                    candidates.append(1 + best[mask ^ sub])
            sub = (sub - 1) & mask
        best[mask] = min(candidates, default=len(slots) + 1)
    return best[full]


def wider_than_a_read(slots: list[PointSlot], limit: int) -> bool:
    return any(max(s.end for s in c) - min(s.address for s in c) > limit for c in overlap_components(slots))


def groups_of(slots: list[PointSlot]) -> dict[tuple[int, str], list[PointSlot]]:
    out: dict[tuple[int, str], list[PointSlot]] = {}
    for s in slots:
        out.setdefault((s.poll_interval_ms, s.kind), []).append(s)
    return out


@settings(max_examples=300, deadline=None)
@given(plan_inputs())
def test_every_point_is_served_once_within_limits_and_gaps(
    case: tuple[list[PointSlot], dict[str, Any]],
) -> None:
    slots, options = case
    limits = (options["max_registers_per_read"], options["max_bits_per_read"])
    groups = groups_of(slots)
    if any(wider_than_a_read(g, limit_of(k, *limits)) for (_, k), g in groups.items()):
        with pytest.raises(LocalProtocolError, match="overlap and must be read together"):
            plan(1, slots, **options)
        return
    requests = plan(1, slots, **options)
    by_name = {s.name: s for s in slots}
    served = [p.name for r in requests for p in r.points]
    assert sorted(served) == sorted(by_name)  # each point exactly once
    for r in requests:
        assert 1 <= r.count <= limit_of(r.kind, *limits)
        assert r.address + r.count - 1 <= 65535
        members = [by_name[p.name] for p in r.points]
        for p, s in zip(r.points, members, strict=True):
            assert (s.kind, s.poll_interval_ms) == (r.kind, r.poll_interval_ms)
            assert (p.offset, p.count) == (s.address - r.address, s.count)  # whole, at its own offset
        assert min(s.address for s in members) == r.address  # no wasted registers at either end
        assert max(s.end for s in members) == r.address + r.count
        assert feasible(members, limit_of(r.kind, *limits), options["max_gap_registers"])
    for component in overlap_components(slots):
        group_key = {(s.poll_interval_ms, s.kind) for s in component}
        if len(group_key) == 1:
            owners = {
                i for i, r in enumerate(requests) for p in r.points if p.name in {s.name for s in component}
            }
            assert len(owners) == 1  # points that share registers share the request


@settings(max_examples=300, deadline=None)
@given(plan_inputs(max_points=7))
def test_the_number_of_requests_is_minimal(case: tuple[list[PointSlot], dict[str, Any]]) -> None:
    slots, options = case
    limits = (options["max_registers_per_read"], options["max_bits_per_read"])
    groups = groups_of(slots)
    if any(wider_than_a_read(g, limit_of(k, *limits)) for (_, k), g in groups.items()):
        return  # the error is checked above
    requests = plan(1, slots, **options)
    for (ms, kind), group in groups.items():
        planned = [r for r in requests if (r.poll_interval_ms, r.kind) == (ms, kind)]
        assert len(planned) == fewest_requests(group, limit_of(kind, *limits), options["max_gap_registers"])


@settings(max_examples=200, deadline=None)
@given(plan_inputs(), st.randoms(use_true_random=False))
def test_the_plan_is_ordered_and_independent_of_input_order(
    case: tuple[list[PointSlot], dict[str, Any]], rnd: Any
) -> None:
    slots, options = case
    options["max_registers_per_read"] = 16  # wide enough that no overlap block is an error
    options["max_bits_per_read"] = 24
    shuffled = list(slots)
    rnd.shuffle(shuffled)
    requests = plan(3, slots, **options)
    assert plan(3, shuffled, **options) == requests
    order = {"coil": 0, "discrete": 1, "holding": 2, "input": 3}
    keys = [(r.poll_interval_ms, order[r.kind], r.address, r.count) for r in requests]
    assert keys == sorted(keys)


@settings(max_examples=200, deadline=None)
@given(plan_inputs())
def test_one_request_per_point_reads_exact_blocks(case: tuple[list[PointSlot], dict[str, Any]]) -> None:
    slots, options = case
    requests = plan(1, slots, **options, one_request_per_point=True)
    distinct = {(s.poll_interval_ms, s.kind, s.address, s.count) for s in slots}
    assert len(requests) == len(distinct)
    for r in requests:
        assert {(p.offset, p.count) for p in r.points} == {(0, r.count)}
    assert sorted(p.name for r in requests for p in r.points) == sorted(s.name for s in slots)
