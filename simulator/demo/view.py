"""What the demo shows: a live view while the stories run, and the summary at the end (rich).

The live view has four parts: a header (speed, story time, where the console and the API are and the
token to sign in and query with), one row per site (its worst open level, open alarms, the gateway's
link, outbox depth and how far the central has acknowledged), the alarm feed as the central records
it, and the story (each simulator's notes and faults as they happen). Everything here renders a
``DemoState``; nothing does I/O.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from simulator.clock import clock_text
from simulator.demo.accounts import Login
from simulator.demo.timebase import TimeBase

LEVEL_STYLE = {0: "green", 1: "bold blue", 2: "bold yellow", 3: "bold dark_orange", 4: "bold red"}
LEVEL_NAME = {0: "clear", 1: "BLUE", 2: "YELLOW", 3: "ORANGE", 4: "RED"}
FEED_LINES = 14
STORY_LINES = 7


@dataclass
class SiteRow:
    scenario: str
    title: str
    site_id: str
    gateway: str
    worst_level: int = 0  # the worst hazard in force: equipment faults are counted apart
    faults: int = 0
    open_alarms: int = 0
    alarms_raised: int = 0
    link: str = "starting"  # starting | up | cut | rebooting | draining | stopped
    outbox_rows: int | None = None
    outbox_from: str = ""  # "heartbeat" or "status" (read from the gateway's outbox file)
    acked_through: int = 0
    produced_through: int = 0
    heard_wall_s: float | None = None


@dataclass
class FeedLine:
    story_s: float
    scenario: str
    text: str
    level: int | None = None
    late_by_s: float | None = None  # story seconds it arrived after it happened (an uplink cut), if late

    @property
    def shown(self) -> str:
        """The text, marked when it was delivered late: the feed goes back in story time, and says why."""
        if self.late_by_s is None:
            return self.text
        return f"{self.text}  [delivered late, {late_text(self.late_by_s)} after]"


def late_text(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"


@dataclass
class DemoState:
    speed: float
    duration_s: float
    api_url: str
    token: str
    timebase: TimeBase
    sites: dict[str, SiteRow] = field(default_factory=dict)  # by gateway id
    feed: deque[FeedLine] = field(default_factory=lambda: deque(maxlen=200))
    story: deque[FeedLine] = field(default_factory=lambda: deque(maxlen=100))
    phase: str = "starting"
    logins: list[Login] = field(default_factory=list)  # people who may log in to the console
    password: str = ""  # theirs, made for this run
    started_wall_s: float = field(default_factory=time.time)
    running_wall_s: float | None = None

    def short(self, gateway: str) -> str:
        row = self.sites.get(gateway)
        return row.scenario.replace("_", " ") if row else gateway


def level_text(level: int) -> Text:
    return Text(LEVEL_NAME.get(level, str(level)), style=LEVEL_STYLE.get(level, ""))


def api_lines(state: DemoState) -> list[str]:
    """Where the API answers and how to ask it, as plain lines (the piped demo prints them once)."""
    return [
        f"API {state.api_url}  (every endpoint: {state.api_url}/docs)",
        f"token {state.token}",
        f"  export TOKEN={state.token}",
        f'  curl -s -H "Authorization: Bearer $TOKEN" {state.api_url}/api/v1/sites',
        *login_lines(state),
    ]


def login_lines(state: DemoState) -> list[str]:
    if not state.logins:
        return []
    lines = [f"log in at {state.api_url}/ with the password {state.password} as:"]
    lines += [f"  {x.username:<28} {x.what}" for x in state.logins]
    return lines


def header(state: DemoState) -> RenderableType:
    elapsed = 0.0 if state.running_wall_s is None else time.time() - state.running_wall_s
    story = clock_text(state.timebase.story_now_s())
    lines = Text()
    lines.append("FieldWatch demo", style="bold")
    lines.append(f"  {state.phase}  ·  speed {state.speed:g}x  ·  story {story}")
    lines.append(f"  ·  {elapsed:.0f} s of {state.duration_s:.0f} s\n")
    lines.append(f"console {state.api_url}/  ·  API {state.api_url}/docs  ·  token ")
    lines.append(state.token, style="bold cyan")
    lines.append("\n")
    lines.append(f'curl -s -H "Authorization: Bearer $TOKEN" {state.api_url}/api/v1/sites', style="dim")
    if state.logins:
        users = ", ".join(x.username for x in state.logins)
        lines.append(f"\nlog in as {users}  ·  password {state.password}", style="dim")
    return Panel(lines, border_style="cyan")


def sites_table(state: DemoState) -> Table:
    table = Table(expand=True, title="sites", title_justify="left")
    for name in ("site", "hazard", "faults", "open", "raised", "gateway", "link", "outbox", "acked seq"):
        table.add_column(name, no_wrap=name != "site")
    now = time.time()
    for row in state.sites.values():
        link_style = {"up": "green", "cut": "bold red", "rebooting": "bold red"}.get(row.link, "yellow")
        outbox = "-" if row.outbox_rows is None else f"{row.outbox_rows} rows"
        if row.outbox_from == "status":
            outbox += " (at the gateway)"
        heard = "" if row.heard_wall_s is None else f" ({now - row.heard_wall_s:.0f} s ago)"
        table.add_row(
            Text(row.title.split(" - ")[0]),
            level_text(row.worst_level),
            str(row.faults),
            str(row.open_alarms),
            str(row.alarms_raised),
            row.gateway,
            Text(row.link + heard, style=link_style),
            outbox,
            str(row.acked_through),
        )
    return table


def feed_panel(lines: list[FeedLine], title: str, rows: int) -> Panel:
    text = Text()
    for line in lines[-rows:]:
        text.append(f"{clock_text(line.story_s):>8}  ", style="dim")
        text.append(f"{line.scenario:<12} ", style="cyan")
        style = LEVEL_STYLE.get(line.level, "") if line.level is not None else ""
        text.append(line.shown + "\n", style=style)
    if not lines:
        text.append("(nothing yet)", style="dim")
    return Panel(text, title=title, title_align="left", height=rows + 2)


def live(state: DemoState) -> RenderableType:
    return Group(
        header(state),
        sites_table(state),
        feed_panel(list(state.feed), "alarm feed (from the central)", FEED_LINES),
        feed_panel(list(state.story), "the story (from the simulators)", STORY_LINES),
    )


def summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="summary", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    columns = (
        "site", "alarms", "hazard", "faults", "notified", "expected", "rows sent", "stored", "not sent",
        "lost", "dup",
    )  # fmt: skip
    for name in columns:
        table.add_column(name, justify="left" if name == "site" else "right", no_wrap=True)
    for site in summary["sites"]:
        d = site["delivery"]
        due = [o for o in site["expected"] if o.get("due", o["wanted"])]
        met = sum(1 for o in due if o["met"])
        total = len(site["expected"])
        table.add_row(
            site["scenario"].replace("_", " "),
            str(site["alarms_raised"]),
            level_text(site.get("highest_hazard_level", site["highest_level"])),
            str(site.get("faults", 0)),
            str(sum(site.get("notifications", {}).values())),
            Text(
                f"{met}/{len(due)}" + (f" of {total}" if len(due) < total else ""),
                style="green" if met == len(due) else "bold red",
            ),
            str(d["produced"]),
            f"{d['readings_stored']}+{d['events_stored']}ev",
            str(d["dropped"] + d["waiting"] + d["refused"]),
            Text(str(d["lost"]), style="green" if d["lost"] == 0 else "bold red"),
            Text(str(d["duplicated"]), style="green" if d["duplicated"] == 0 else "bold red"),
        )
    return table


def summary_details(summary: dict[str, Any]) -> Text:
    text = Text()
    for site in summary["sites"]:
        text.append(f"{site['scenario']}\n", style="bold")
        told = site.get("notifications", {})
        if told:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(told.items()))
            text.append(f"  notified: {kinds}\n")
        for o in site["expected"]:
            not_due = o.get("not_due", [])
            mark, style = ("ok  ", "green") if o["met"] else ("MISS", "bold red")
            if len(not_due) == len(o["wanted"]):
                mark, style = ("--  ", "dim")
            reached = " > ".join(o["reached"]) or "none"
            text.append(f"  {mark} ", style=style)
            text.append(f"{o['channel']} {o['rule']}: {reached} (expected {' > '.join(o['wanted'])}")
            if not_due:
                what = "none" if len(not_due) == len(o["wanted"]) else f"{' > '.join(not_due)} not"
                text.append(f"; {what} due by {clock_text(summary.get('story_s', 0.0))}")
            text.append(")")
            f = o.get("forecasts")
            if f and f["made"]:
                t, fail = f["made"][-1]
                text.append(
                    f"; last forecast at {clock_text(t)}: failure at {clock_text(fail)} "
                    f"(true {clock_text(f['failure_at_s'])})"
                )
            text.append("\n")
        for breach in site["quiet_breaches"]:
            text.append(f"  MISS {breach}: raised on a device that should stay quiet\n", style="bold red")
    verdict = summary["ok"]
    word = "ALL GOOD" if verdict else "NOT AS EXPECTED"
    total = summary["expected_total"]
    due = summary.get("expected_due", total)
    story_s, length_s = summary.get("story_s", 0.0), summary.get("story_length_s", 0.0)
    if due < total:
        text.append(
            f"\nthe stories ran to {clock_text(story_s)} of {clock_text(length_s)}: "
            f"{due} of {total} expected alarms were due by then, the other {total - due} are not judged",
            style="bold",
        )
    if summary.get("interrupted") and not verdict:
        word = f"stopped at story {clock_text(story_s)}, before the stories ended"
    text.append(
        f"\nnotifications delivered to the demo's webhook: {summary.get('notifications_delivered', 0)}"
        f"\nreadings lost: {summary['lost']}, duplicated: {summary['duplicated']}; "
        f"expected alarms due: {summary['expected_met']}/{due} came -> {word}",
        style="bold green" if verdict else "bold red",
    )
    return text
