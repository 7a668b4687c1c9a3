"""The demo's time mapping agrees with the gateways' fast-forwarded clocks, restarts included."""

from __future__ import annotations

from edge.clock import Clock
from simulator.demo.timebase import TimeBase, wall_ms


def test_a_clock_made_later_with_the_same_origin_reads_the_same_time() -> None:
    origin = wall_ms() - 5_000  # the demo started 5 s ago
    tb = TimeBase(speed=120.0, origin_ms=origin)
    before = tb.edge_ms(wall_ms())
    first = Clock(speed=120.0, origin_ms=origin).now_ms()
    second = Clock(speed=120.0, origin_ms=origin).now_ms()  # a gateway restarted after a power cut
    after = tb.edge_ms(wall_ms())
    rounding_ms = 120  # one wall millisecond at this speed
    assert before - rounding_ms <= first <= second <= after + rounding_ms
    assert before >= origin + 5_000 * 120


def test_story_time_maps_both_ways_from_the_go() -> None:
    tb = TimeBase(speed=60.0, origin_ms=1_000_000, go_wall_ms=1_010_000)
    assert tb.go_edge_ms == 1_000_000 + 10_000 * 60
    assert tb.story_s(tb.go_edge_ms + 90_000) == 90.0
    assert tb.edge_ms_of_story(3600.0) == tb.go_edge_ms + 3_600_000
    assert TimeBase(speed=60.0).story_now_s() == 0.0  # before the go
