"""The live view and the summary render what the state and the summary hold."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from simulator.demo import view
from simulator.demo.accounts import Login, enterprise_of
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
    assert "console http://127.0.0.1:8080/ " in text
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


def test_a_feed_line_delivered_late_says_so() -> None:
    """After an uplink cut the feed goes back in story time: the late lines say why."""
    state = DemoState(120.0, 150.0, "http://127.0.0.1:8080", "tok-123", TimeBase(120.0))
    state.feed.append(FeedLine(9000.0, "mine slope", "gnss-e2-crest/horizontal_mm slope: up to ORANGE", 3))
    state.feed.append(
        FeedLine(8250.0, "mine slope", "gnss-e2-crest/horizontal_mm slope: raised BLUE", 1, 2400.0)
    )
    text = render(view.live(state))
    assert "slope: raised BLUE  [delivered late, 40 min after]" in text
    assert text.count("delivered late") == 1  # the line on time is not marked


def test_feed_phrases_never_say_cleared_clear() -> None:
    from simulator.demo.orchestra import feed_phrase  # noqa: PLC0415 - the feed's words live with the feed

    assert feed_phrase("cleared", 0) == "cleared"
    assert feed_phrase("raised", 2) == "raised YELLOW"
    assert feed_phrase("escalated", 4) == "up to RED"
    assert feed_phrase("deescalated", 1) == "down to BLUE"
    assert feed_phrase("reraised", 1) == "raised again: BLUE"


def test_piped_output_says_where_the_api_is_and_the_token() -> None:
    from simulator.demo.cli import PlainPrinter  # noqa: PLC0415

    console = Console(width=140, record=True, color_system=None)
    state = DemoState(120.0, 150.0, "http://127.0.0.1:8080", "tok-123", TimeBase(120.0))
    printer = PlainPrinter(console, state)
    state.phase = "starting the central"
    printer()
    assert "tok-123" not in console.export_text(clear=False)  # the central is not up yet
    state.phase = "starting the simulators"
    printer()
    printer()  # once
    text = console.export_text()
    assert text.count("token tok-123") == 1
    assert "API http://127.0.0.1:8080  (every endpoint: http://127.0.0.1:8080/docs)" in text
    assert 'curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/v1/sites' in text


def test_a_run_cut_short_says_how_much_of_the_story_ran() -> None:
    summary = summary_of(0)
    outcome = summary["sites"][0]["expected"][0]
    outcome.update(reached=["blue"], due=["blue"], not_due=["red"], met=True)
    summary.update(story_s=7200.0, story_length_s=14400.0, expected_due=1, expected_total=2)
    summary["sites"][0]["expected"].append({**outcome, "rule": "intensity", "reached": [], "due": [],
                                            "not_due": ["blue", "red"], "forecasts": None})  # fmt: skip
    text = render(view.summary_details(summary))
    assert "slope: blue (expected blue > red; red not due by 2:00:00)" in text
    assert "--   gnss/horizontal_mm intensity: none (expected blue > red; none due by 2:00:00)" in text
    assert "the stories ran to 2:00:00 of 4:00:00: 1 of 2 expected alarms were due by then" in text
    assert "expected alarms due: 1/1 came -> ALL GOOD" in text


def test_the_view_says_who_may_log_in_and_with_what_password() -> None:
    state = DemoState(120.0, 150.0, "http://127.0.0.1:8080", "tok-123", TimeBase(120.0))
    assert view.login_lines(state) == []
    state.password = "pw-for-this-run"
    state.logins = [Login("duty", "county", "county duty officer: every site"),
                    Login("ent-site-1.op", "ent-site-1", "only site-1")]  # fmt: skip
    lines = view.api_lines(state)
    assert "log in at http://127.0.0.1:8080/ with the password pw-for-this-run as:" in lines
    assert any(line.split() == ["ent-site-1.op", "only", "site-1"] for line in lines)
    assert "log in as duty, ent-site-1.op" in render(view.live(state))


def test_enterprise_ids_are_valid_organization_ids() -> None:
    assert enterprise_of("Slope North/2") == "ent-slope-north-2"
    assert len(enterprise_of("x" * 200)) == 63
