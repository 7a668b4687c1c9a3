"""The live view and the summary render what the state and the summary hold."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from simulator.demo import view
from simulator.demo.timebase import TimeBase
from simulator.demo.view import DemoState, FeedLine, SiteRow


def render(renderable: Any) -> str:
    console = Console(width=140, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_the_live_view_shows_sites_links_outboxes_and_both_feeds() -> None:
    state = DemoState(120.0, 150.0, "http://127.0.0.1:8080", "tok-123", TimeBase(120.0))
    state.sites["gw-1"] = SiteRow("tank_farm", "Tank area B - a leak", "site-1", "gw-1", worst_level=4,
                                  open_alarms=3, link="cut", outbox_rows=812, outbox_from="status",
                                  acked_through=4000, produced_through=4812)  # fmt: skip
    state.feed.append(FeedLine(8100.0, "tank farm", "gas-t102-n/gas alarm: raised YELLOW (25.9)", 2))
    state.story.append(FeedLine(6000.0, "tank farm", "fault: uplink cut: park fibre cut"))
    text = render(view.live(state))
    assert "http://127.0.0.1:8080/docs" in text
    assert "tok-123" in text
    assert "Tank area B" in text
    assert "RED" in text
    assert "812 rows (at the gateway)" in text
    assert "cut" in text
    assert "4000" in text
    assert "2:15:00" in text  # the alarm's story time
    assert "gas-t102-n/gas alarm: raised YELLOW" in text
    assert "fault: uplink cut" in text


def summary_of(lost: int) -> dict[str, Any]:
    delivery = {"produced": 100, "readings_stored": 90, "events_stored": 10 - lost, "dropped": 0, "waiting": 0,
                "refused": 0, "lost": lost, "duplicated": 0, "unexpected": 0}  # fmt: skip
    outcome = {"channel": "gnss/horizontal_mm", "rule": "slope", "wanted": ["blue", "red"],
               "reached": ["blue", "red"], "met": True,
               "forecasts": {"failure_at_s": 12600.0, "made": [[12300.0, 12550.0]], "converged": True}}  # fmt: skip
    return {"sites": [{"scenario": "mine_slope", "alarms_raised": 5, "highest_level": 4, "expected": [outcome],
                       "quiet_breaches": [], "delivery": delivery}],
            "ok": lost == 0, "lost": lost, "duplicated": 0, "expected_met": 1, "expected_total": 1}  # fmt: skip


def test_the_summary_says_all_good_only_when_it_is() -> None:
    good = render(view.summary_table(summary_of(0))) + render(view.summary_details(summary_of(0)))
    assert "mine slope" in good
    assert "90+10ev" in good
    assert "last forecast at 3:25:00: failure at 3:29:10 (true 3:30:00)" in good
    assert "ALL GOOD" in good
    bad = render(view.summary_details(summary_of(1)))
    assert "readings lost: 1" in bad
    assert "NOT AS EXPECTED" in bad
