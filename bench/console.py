"""The console in a real browser: how soon the first screen shows the county, and how soon a red alarm
committed by the central shows on an open page.

    .venv/bin/python bench/console.py [--repeat 10] [--database sqlite:////path/to/central.db]
                                      [--screenshots docs/console]

The central is a real ``fieldwatch-central serve`` (uvloop, httptools) on SQLite holding a demo-sized
county (``tests/central/console/county.py``: the demo's three sites and gateways, 16 channels with 4 h
of 3-second readings, 77 k rows, and the stories' alarms), or ``--database``, e.g. a demo run's database
kept with ``fieldwatch-demo --keep`` (the bench then adds its tokens to it). The browser is Debian's
chromium, headless, driven by Playwright.

- **ready**: from opening the page (the navigation's start) to the moment the map's markers and the
  desk's rows show the county (the page's ``fieldwatch:ready`` mark), with the token already in the
  tab. Cold: a fresh browser context; warm: a reload (assets revalidated); **after login**: from the
  login form's submit (user name and password: the password check, the session cookie) to the same
  mark. Target < 1 s. Baseline, in the same run: the same API reads done by a bare HTTP client
  (``/api/v1/map``, the active alarms, gateways).
- **red alarm**: a gateway's batch with a red alarm is POSTed; the central commits it before it
  answers, so the commit lies between sending and the answer: the figure is from *sending* (an upper
  bound of commit-to-screen) until the row is on the desk, and until the site's marker turns red.
  Target < 2 s. Baseline: a bare event-stream client in this process, from sending to its event.
  Between repeats the alarm is closed and the marker goes back to its colour.

Wall-clock on a shared 2-core machine: compare the rows of one run, not runs with each other.
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from _central import Server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the county and the browser the console's tests use

from central.accounts.users import new_user  # noqa: E402
from central.auth import Role, new_token  # noqa: E402
from central.store.accounts import AccountStore  # noqa: E402
from central.store.sqlite import SqliteStore  # noqa: E402
from protocols.records import Event  # noqa: E402
from protocols.wire import Batch, encode_batch  # noqa: E402
from tests.central.console.browser import VIEWPORT, browser_session, missing  # noqa: E402
from tests.central.console.county import TOWER, load_county  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "console.json"
STEP_S = 3.0  # 16 channels x 4 h: 76 800 readings, about the demo's
PERSON, PASSWORD = "bench.duty", "bench: correct horse battery"
SUBMITTED = "addEventListener('submit', () => performance.mark('fieldwatch:submit'), true)"
WATCH = """
window.__seen = {}; window.__red = [];
new MutationObserver(() => {
  for (const row of document.querySelectorAll('.alarm-row[data-alarm-id]'))
    window.__seen[row.dataset.alarmId] ??= Date.now();
  const pin = document.querySelector('.site-pin[data-site-id="SITE"]');
  const red = pin?.dataset.level === '4';
  if (red && !window.__wasRed) window.__red.push(Date.now());
  window.__wasRed = red;
}).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-level']});
""".replace("SITE", TOWER.site.id)  # when each new row and each turn of the tower's marker to red showed


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def prepare(database: str | None, tmp: Path) -> tuple[str, str, str]:
    """The database URL, an operator's token (the page) and an admin's (ingest, closing)."""
    if database is None:
        path = tmp / "central.db"
        store = SqliteStore(path, threads=2)
        store.migrate()
        started = time.perf_counter()
        load_county(store, now_ms(), hours=4.0, step_s=STEP_S)
        print(f"county loaded in {time.perf_counter() - started:.1f} s", flush=True)
        database = f"sqlite:///{path}"
    else:
        store = SqliteStore(Path(database.removeprefix("sqlite:///")), threads=2)
        store.migrate()
    tokens = []
    for role, name in ((Role.OPERATOR, "李伟(值班员)"), (Role.ADMIN, "bench")):
        plain, row = new_token(role, name, None, now_ms())
        store.add_token(row)
        tokens.append(plain)
    AccountStore(store).add_user(
        new_user(PERSON, "county", "operator", display_name="李伟", password=PASSWORD, now_ms=now_ms())
    )
    store.close()
    return database, tokens[0], tokens[1]


def summary(
    name: str, values_ms: list[float], baseline_ms: list[float] | None, target: str
) -> dict[str, Any]:
    row: dict[str, Any] = {"case": name, "median_ms": statistics.median(values_ms), "best_ms": min(values_ms),
                           "worst_ms": max(values_ms), "n": len(values_ms), "target": target}  # fmt: skip
    row["x_baseline"] = None if not baseline_ms else row["median_ms"] / statistics.median(baseline_ms)
    return row


def api_reads_ms(server: Server, token: str) -> float:
    """The first screen's data read by a bare client (the baseline of ``ready``)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        started = time.perf_counter()
        client.get("/")
        client.get("/api/v1/map").raise_for_status()
        client.get("/api/v1/alarms", params={"status": ["open", "acknowledged", "cleared"], "limit": 500})
        client.get("/api/v1/gateways").raise_for_status()
        return (time.perf_counter() - started) * 1000


def measure_ready(browser: Any, server: Server, token: str, repeat: int) -> list[dict[str, Any]]:
    cold, warm, base = [], [], []
    for _ in range(repeat):
        base.append(api_reads_ms(server, token))
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(f"sessionStorage.setItem('fieldwatch.token', {json.dumps(token)})")
        page = context.new_page()
        for sample in (cold, warm):
            if sample is cold:
                page.goto(server.url + "/")
            else:
                page.reload()
            page.wait_for_selector("html[data-ready=true]", timeout=30_000)
            sample.append(page.evaluate("performance.getEntriesByName('fieldwatch:ready')[0].startTime"))
        context.close()
    after_login = []
    for _ in range(repeat):
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(SUBMITTED)
        page = context.new_page()
        page.goto(server.url + "/")
        page.fill("input[name=username]", PERSON)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("html[data-ready=true]", timeout=30_000)
        after_login.append(page.evaluate(
            "performance.getEntriesByName('fieldwatch:ready')[0].startTime"
            " - performance.getEntriesByName('fieldwatch:submit')[0].startTime"
        ))  # fmt: skip
        context.close()
    return [
        summary("ready, cold (new context)", cold, base, "< 1000 ms"),
        summary("ready, warm (reload)", warm, base, "< 1000 ms"),
        summary("ready after login (submit -> ready)", after_login, base, "< 1000 ms"),
        summary("  baseline: the API reads alone", base, None, ""),
    ]


class StreamWatcher(threading.Thread):
    """A bare event-stream client: every alarm event, with the wall-clock ms it arrived."""

    def __init__(self, server: Server, token: str) -> None:
        super().__init__(daemon=True, name="stream-watcher")
        self.url = f"{server.url}/api/v1/stream"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.events: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
        self.subscribed = threading.Event()
        self.client = httpx.Client()

    def stop(self) -> None:
        self.client.close()

    def run(self) -> None:
        try:
            with self.client.stream("GET", self.url, headers=self.headers, timeout=None) as stream:
                kind = None
                for line in stream.iter_lines():
                    if line.startswith(": fieldwatch"):
                        self.subscribed.set()
                    elif line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind == "alarm":
                        self.events.put((now_ms(), json.loads(line[6:])))
        except (httpx.HTTPError, RuntimeError):
            pass  # stopped

    def next_red(self, timeout_s: float = 30.0) -> tuple[int, dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while True:
            at, alarm = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if alarm["level"] == 4 and alarm["status"] == "open":
                return at, alarm


def measure_live(browser: Any, server: Server, token: str, admin: str, repeat: int) -> list[dict[str, Any]]:
    watcher = StreamWatcher(server, token)
    watcher.start()
    watcher.subscribed.wait(30)
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(f"sessionStorage.setItem('fieldwatch.token', {json.dumps(token)})")
    context.add_init_script(WATCH)
    page = context.new_page()
    page.goto(server.url + "/")
    page.wait_for_selector("[data-live=up]", timeout=30_000)
    headers = {"Authorization": f"Bearer {admin}"}
    desk, marker, base = [], [], []
    with httpx.Client(base_url=server.url, headers=headers) as client:
        seq = client.get(f"/api/v1/gateways/{TOWER.gateway}").json()["acked_through"] + 1
        for i in range(repeat):
            page.wait_for_timeout(300)
            event = Event(f"{TOWER.gateway}/camera/hotspot_c", now_ms(), "level", 4, 0, 182.0 + i,
                          "hotspot_c reached red (threshold 120)", None, seq)  # fmt: skip
            body = encode_batch(Batch(TOWER.gateway, seq, now_ms(), events=[event]))
            seq += 1
            sent = now_ms()
            client.post("/api/v1/ingest", content=body).raise_for_status()
            arrived, alarm = watcher.next_red()
            page.wait_for_function(
                f"window.__seen['{alarm['id']}'] && window.__red.length > {i}", timeout=30_000
            )
            shown = page.evaluate(f"[window.__seen['{alarm['id']}'], window.__red[{i}]]")
            desk.append(shown[0] - sent)
            marker.append(shown[1] - sent)
            base.append(arrived - sent)
            closing = {"handling": "bench", "force": True}  # still active: a forced close
            client.post(f"/api/v1/alarms/{alarm['id']}/close", json=closing).raise_for_status()
            page.wait_for_selector(f'.site-pin[data-site-id="{TOWER.site.id}"]:not([data-level="4"])')
    context.close()
    watcher.stop()
    return [
        summary("red alarm: sent -> on the desk", desk, base, "< 2000 ms"),
        summary("red alarm: sent -> marker red", marker, base, "< 2000 ms"),
        summary("  baseline: sent -> bare stream client", base, None, ""),
    ]


def screenshots(browser: Any, server: Server, token: str, admin: str, folder: Path) -> None:
    """The login, the first screen with a red alarm just in, the desk, an alarm's page, a site, the fleet."""
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.goto(server.url + "/")
    page.fill("input[name=username]", PERSON)
    page.fill("input[name=password]", PASSWORD)
    page.screenshot(path=folder / "login.png")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-live=up]", timeout=30_000)
    headers = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        seq = client.get(f"/api/v1/gateways/{TOWER.gateway}").json()["acked_through"] + 1
        fire = Event(f"{TOWER.gateway}/camera/hotspot_c", now_ms() - 60_000, "level", 4, 0, 186.0,
                     "hotspot_c 186 degC reached red (threshold 120)", None, seq, rule_kind="level",
                     criterion="level", unit="degC", threshold=120.0, direction="rising")  # fmt: skip
        client.post(
            "/api/v1/ingest", content=encode_batch(Batch(TOWER.gateway, seq, now_ms(), events=[fire]))
        )
        # the alarm to show: a slope's, with its forecast, if there is one open (else the highest)
        open_alarms = client.get("/api/v1/alarms", params={"status": "open", "limit": 500}).json()["data"]
        open_alarms.sort(key=lambda a: (a["forecast"] is None, -a["level"], a["opened_ms"]))
        slope = open_alarms[0]
        client.post(f"/api/v1/alarms/{slope['id']}/acknowledge", headers={"Authorization": f"Bearer {token}"},
                    json={"note": "已电话通知矿方调度,四号台阶作业人员撤离,加密巡视"})  # fmt: skip
    page.wait_for_selector('.alarm-row[data-level="4"]')
    page.wait_for_timeout(13_000)  # past the new alarm's flash
    page.screenshot(path=folder / "home.png")
    page.locator(".desk").screenshot(path=folder / "desk.png")
    page.evaluate(f"location.hash = '#/alarms/{slope['id']}'")
    page.wait_for_selector(".alarm-page .chart canvas")
    page.wait_for_timeout(500)
    page.screenshot(path=folder / "alarm.png")
    page.evaluate(f"location.hash = '#/sites/{slope['site_id']}'")
    page.wait_for_selector(".site-page .chart canvas")
    page.wait_for_timeout(500)
    page.screenshot(path=folder / "site.png")
    page.evaluate("location.hash = '#/fleet'")
    page.wait_for_selector(".fleet tr[data-gateway-id]")
    page.screenshot(path=folder / "fleet.png")
    page.click("[data-language=en]")
    page.evaluate("location.hash = '#/'")
    page.wait_for_selector(".desk-head h2:text('Alarm desk')")
    page.wait_for_timeout(500)
    page.screenshot(path=folder / "home-en.png")
    page.click("[data-language=zh]")
    context.close()
    print(f"screenshots in {folder}")


def print_table(rows: list[dict[str, Any]]) -> None:
    width = max(len(r["case"]) for r in rows)
    print(
        f"\n{'case':<{width}}  {'median ms':>9}  {'best':>7}  {'worst':>7}  {'n':>3}  {'x base':>6}  target"
    )
    for r in rows:
        x = "" if r["x_baseline"] is None else f"{r['x_baseline']:.2f}"
        print(f"{r['case']:<{width}}  {r['median_ms']:>9.1f}  {r['best_ms']:>7.1f}  {r['worst_ms']:>7.1f}  "
              f"{r['n']:>3}  {x:>6}  {r['target']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--database", help="sqlite:////path of a central database (default: a new county)")
    parser.add_argument("--screenshots", type=Path, help="also save the pages' screenshots in this folder")
    args = parser.parse_args()
    reason = missing()
    if reason:
        sys.exit(f"bench/console.py: {reason}")
    with tempfile.TemporaryDirectory() as tmp:
        database, token, admin = prepare(args.database, Path(tmp))
        server = Server(database, admin)
        try:
            with browser_session() as browser:
                rows = measure_ready(browser, server, token, args.repeat)
                rows += measure_live(browser, server, token, admin, args.repeat)
                if args.screenshots:
                    screenshots(browser, server, token, admin, args.screenshots)
        finally:
            server.stop()
    print_table(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"repeat": args.repeat, "database": args.database, "cases": rows}, indent=2)
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
