from __future__ import annotations

import pytest

from edge.acquisition.schedule import BusSchedule


def serve(schedule: BusSchedule, now_s: float) -> int:
    index, due = schedule.next_due()
    assert due <= now_s
    schedule.done(index, now_s)
    return index


def test_equal_intervals_poll_round_robin_in_plan_order() -> None:
    schedule = BusSchedule([1.0, 1.0, 1.0], start_s=0.0)
    assert [serve(schedule, 0.1) for _ in range(3)] == [0, 1, 2]
    assert schedule.next_due() == (0, 1.0)


def test_faster_requests_come_round_more_often() -> None:
    schedule = BusSchedule([0.25, 0.75], start_s=0.0)  # exact in binary: ties are real ties
    order = []
    for _ in range(8):
        index, due = schedule.next_due()
        schedule.done(index, due)  # served exactly on time
        order.append(index)
    assert order == [0, 1, 0, 0, 0, 1, 0, 0]


def test_on_time_service_keeps_the_grid_and_skips_nothing() -> None:
    schedule = BusSchedule([0.5], start_s=10.0)
    for k in range(5):
        index, due = schedule.next_due()
        assert due == pytest.approx(10.0 + 0.5 * k)
        schedule.done(index, due + 0.2)  # late, but inside the interval
    assert schedule.skipped_slots == 0


def test_an_overrun_skips_ahead_and_counts_the_missed_slots() -> None:
    schedule = BusSchedule([1.0], start_s=0.0)
    schedule.done(0, now_s=3.5)  # slot 0 served at 3.5: slots 1 and 2 are gone, slot 3 is due (late)
    assert schedule.skipped_slots == 2
    assert schedule.next_due() == (0, 3.0)
    schedule.done(0, now_s=3.6)
    assert schedule.next_due() == (0, 4.0)
    assert schedule.skipped_slots == 2


def test_an_overloaded_bus_serves_the_oldest_due_first_and_never_queues() -> None:
    schedule = BusSchedule([0.01, 0.01, 0.01], start_s=0.0)
    now = 0.0
    order = []
    for _ in range(9):
        now += 0.1  # every poll takes ten intervals
        order.append(serve(schedule, now))
    assert order == [0, 1, 2] * 3
    assert all(schedule.due_of(i) <= now for i in range(3))  # one due slot each, no backlog beyond it


def test_park_moves_past_a_time_without_counting_skips() -> None:
    schedule = BusSchedule([1.0, 1.0], start_s=0.0)
    schedule.park(0, until_s=5.5)
    assert schedule.due_of(0) == 6.0
    assert schedule.next_due() == (1, 0.0)
    assert schedule.skipped_slots == 0


def test_a_shared_origin_puts_buses_started_apart_on_one_grid() -> None:
    first = BusSchedule([0.25, 1.0], start_s=10.3, origin_s=0.0)
    second = BusSchedule([0.25], start_s=10.4, origin_s=0.0)
    # each read's first slot is the latest on the grid at or before the start: every read polls at once
    assert (first.due_of(0), first.due_of(1)) == (10.25, 10.0)
    assert second.next_due() == (0, 10.25)
    first.done(1, now_s=10.3)
    first.done(0, now_s=10.31)
    second.done(0, now_s=10.41)
    assert first.due_of(0) == second.due_of(0) == 10.5  # from now on the same instants
    assert first.skipped_slots == second.skipped_slots == 0


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_intervals_must_be_positive_and_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="poll intervals"):
        BusSchedule([1.0, bad], start_s=0.0)


def test_a_poll_that_starts_after_the_next_grid_point_serves_that_slot_too() -> None:
    """A bus starts 10 ms before a grid point; its first poll (the slot before, due at once) only
    begins 10 ms after it: that one read serves both slots, and the next poll waits for the next point."""
    schedule = BusSchedule([0.1], start_s=27.49, origin_s=0.0)
    index, due = schedule.next_due()
    assert due == pytest.approx(27.4)
    schedule.done(index, now_s=27.512, started_s=27.51)
    assert schedule.next_due()[1] == pytest.approx(27.6)
    assert schedule.skipped_slots == 0


def test_a_poll_started_on_time_that_overran_still_runs_the_latest_slot_late() -> None:
    schedule = BusSchedule([1.0], start_s=0.0)
    schedule.done(0, now_s=3.5, started_s=0.0)
    assert schedule.next_due() == (0, 3.0)
    assert schedule.skipped_slots == 2


def test_a_poll_that_starts_just_before_a_grid_point_serves_that_slot_too() -> None:
    """The same, when the late first poll begins a millisecond before the next grid point and ends after
    it: the next poll waits for the point after (seen in the e2e test: two reads stamped the same ms)."""
    schedule = BusSchedule([0.1], start_s=27.498, origin_s=0.0)
    schedule.done(0, now_s=27.5003, started_s=27.499)
    assert schedule.next_due()[1] == pytest.approx(27.6)
    assert schedule.skipped_slots == 0


def test_a_busy_bus_polling_its_last_request_late_in_the_cycle_skips_no_slot() -> None:
    """On a busy RTU bus the last requests of a cycle start well after their slot: that is no reason to
    skip the next one; only a start within a hundredth of a second (a tenth of the interval) is."""
    schedule = BusSchedule([1.0], start_s=0.0)
    schedule.done(0, now_s=0.6, started_s=0.54)
    assert schedule.next_due() == (0, 1.0)
    fast = BusSchedule([0.05], start_s=0.0)
    fast.done(0, now_s=0.046, started_s=0.044)  # 6 ms before the next point: more than 5 ms, polled again
    assert fast.next_due()[1] == pytest.approx(0.05)
