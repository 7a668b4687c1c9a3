"""Command-center queries: latest values of 10 k channels, one channel's 30 days by the hour, and the
shift handover report.

    .venv/bin/python bench/query.py [--repeat 20] [--pg postgresql://127.0.0.1:5432/test]

Each store (SQLite, PostgreSQL) starts empty and is loaded through its own ``ingest``: 100 gateways x
100 channels with three readings each (10 k channels with a latest value), and one channel with 30 days
of 10-second readings (259 200 rows). Then, timed ``--repeat`` times each (median and best reported):

- ``latest``: all 10 k latest values, as the store returns them (target < 50 ms), and through
  ``GET /api/v1/latest`` from a real ``fieldwatch-central serve`` (JSON of 10 k rows over loopback);
- ``history``: one channel's 30 days in 1-hour buckets (min, max, mean, last, count: 720 buckets), as the
  store returns them (target < 100 ms; read from the hourly rollups), and through ``GET /api/v1/history``;
  and, for scale, 2 days in 10-minute buckets, which the store computes from the raw readings.
- ``shift``: the shift report (``GET /api/v1/reports/shift``) over the last day of alarms: every gateway
  (a site each) raises and clears ``ALARM_CYCLES`` alarms that day, half of them acknowledged and closed
  by an officer, one gateway silent for an hour: ~2 000 alarms and ~6 000 timeline entries, more than
  the demo's day makes (target < 500 ms), as the store and the report build it, and as JSON and HTML
  over HTTP. Baseline: a bare SELECT of the same alarms' rows.
- the organization filter (``docs/accounts.md``): ``latest`` of all 10 k channels for a county caller (no
  filter: the query as before accounts) against an enterprise caller whose organization owns every site
  (the worst case: the same 10 k rows, kept by ``gateway_id IN (every gateway)``), as the store returns
  them and over HTTP (where the enterprise's request also reads what its organization sees); target: at
  most 1.10 x the county's.

Baselines measured in the same run: for ``latest``, a bare ``SELECT * FROM latest`` on a raw connection
(no join with channel keys, no objects); for ``history``, the naive way: fetch the channel's 259 200
raw rows and bucket them with numpy. PostgreSQL is measured after ``VACUUM ANALYZE`` (what autovacuum
does on its own after a bulk load), so the history is an index-only scan.

Wall-clock on a shared 2-core machine: compare the rows of one run, not runs with each other.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
from _central import T0, PgSchemas, Server, admin_token

from central.auth import Role, new_token
from central.reports.shift import shift_report
from central.store.account_records import Org
from central.store.accounts import AccountStore
from central.store.base import Store
from central.store.postgres import PostgresStore
from central.store.sqlite import SqliteStore
from protocols.records import Event, ReadingBlock
from protocols.wire import Batch, SiteMeta

RESULTS = Path(__file__).resolve().parent / "results" / "query.json"
GATEWAYS = 100
CHANNELS = 100  # per gateway
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
HISTORY_KEY = "gw-hist/gnss-01/north_mm"
HISTORY_STEP_MS = 10_000
HISTORY_DAYS = 30
END_MS = T0 + HISTORY_DAYS * DAY_MS


def load(store: Store) -> None:
    rng = np.random.default_rng(7)
    for g in range(GATEWAYS):
        gateway = f"gw-{g:03d}"
        keys = [f"{gateway}/dev-{c // 10}/p{c % 10}" for c in range(CHANNELS)]
        n = 3 * CHANNELS
        seq = np.arange(1, n + 1, dtype=np.int64)
        block = ReadingBlock.of(
            np.arange(n) % CHANNELS, END_MS - (n - seq) * 1000, rng.normal(0, 1, n), np.zeros(n)
        )
        store.ingest(Batch(gateway, 1, T0, keys, block, seq), END_MS)
    total = HISTORY_DAYS * DAY_MS // HISTORY_STEP_MS
    chunk = 50_000
    for first in range(0, total, chunk):
        seq = np.arange(first + 1, min(first + chunk, total) + 1, dtype=np.int64)
        ts = T0 + (seq - 1) * HISTORY_STEP_MS
        value = np.cumsum(rng.normal(0, 0.01, len(seq))) + first * 1e-5
        block = ReadingBlock.of(np.zeros(len(seq)), ts, value, np.zeros(len(seq)))
        store.ingest(Batch("gw-hist", first, T0, [HISTORY_KEY], block, seq), END_MS)


ALARM_CYCLES = 20  # per gateway in the shift report's day


def load_alarms(store: Store) -> None:
    """A day of alarms before END_MS: raises and clears on every gateway, officers on half of them."""
    rng = np.random.default_rng(11)
    day0 = END_MS - DAY_MS
    for g in range(GATEWAYS):
        gateway = f"gw-{g:03d}"
        site = SiteMeta(f"site-{g:03d}", f"站点 {g:03d}", "tank_farm", 30.0 + g / 100, 110.0)
        events = []
        for i in range(ALARM_CYCLES):
            opened = day0 + int(rng.uniform(0, DAY_MS - HOUR_MS))
            key = f"{gateway}/dev-{i % 10}/p{i % 10}"
            level = int(rng.integers(1, 5))
            events.append(Event(key, opened, f"rule{i}", level, 0, 1.0, "raised", seq=100_000 + 2 * i))
            events.append(
                Event(key, opened + 600_000, f"rule{i}", 0, level, 0.5, "cleared", seq=100_001 + 2 * i)
            )
        store.ingest(Batch(gateway, 2, END_MS, events=events, site=site), END_MS)
    for alarm_id in range(1, GATEWAYS * ALARM_CYCLES + 1, 2):
        opened = store.alarm(alarm_id).alarm.opened_ms
        store.acknowledge(alarm_id, "bench officer", "seen", opened + 120_000)
        store.close_alarm(alarm_id, "bench officer", "checked on site", opened + 900_000)
    quiet = SiteMeta("site-quiet", "失联站点", "reservoir", 29.0, 110.0)
    store.ingest(Batch("gw-quiet", 1, END_MS, site=quiet), END_MS - 2 * HOUR_MS)
    store.check_silence(END_MS - HOUR_MS, 3.0, 60.0, 3)  # gw-quiet: silent for the last hour


def shift_rows(store: Store) -> list[Any]:
    start = END_MS - DAY_MS
    return shift_report(store.shift_alarms(start, END_MS), start, END_MS, "Asia/Shanghai")["sites"]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, int]:
    """(median ms, best ms, size of the result)."""
    size = 0
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1000)
        size = len(out)
    return statistics.median(times), min(times), size


def timed_pair(
    a: Callable[[], Any], b: Callable[[], Any], repeat: int
) -> tuple[tuple[float, float, int], tuple[float, float, int]]:
    """``timed`` for two cases, their calls interleaved (a b b a a b ...): on a shared machine a burst of
    load then falls on both alike, so their ratio holds where separate runs of each would not."""
    times: tuple[list[float], list[float]] = ([], [])
    sizes = [0, 0]
    for i in range(repeat):
        for which in (0, 1) if i % 2 == 0 else (1, 0):
            start = time.perf_counter()
            out = (a, b)[which]()
            times[which].append((time.perf_counter() - start) * 1000)
            sizes[which] = len(out)
    return (
        (statistics.median(times[0]), min(times[0]), sizes[0]),
        (statistics.median(times[1]), min(times[1]), sizes[1]),
    )


def naive_history(rows: list[tuple[int, float]]) -> list[tuple[int, float, float, float, int]]:
    arr = np.array(rows, dtype=np.float64)
    bucket = (arr[:, 0] // HOUR_MS).astype(np.int64)
    edges = np.flatnonzero(np.diff(bucket)) + 1
    out = []
    for part, b in zip(np.split(arr[:, 1], edges), bucket[np.r_[0, edges]], strict=True):
        out.append((int(b) * HOUR_MS, float(part.min()), float(part.max()), float(part.mean()), len(part)))
    return out


def measure(
    kind: str, store: Store, raw: Callable[[str], list[Any]], database: str, repeat: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(
        case: str, result: tuple[float, float, int], target: str = "", baseline: float | None = None
    ) -> None:
        median_ms, best_ms, size = result
        rows.append({
            "store": kind, "case": case, "median_ms": round(median_ms, 2), "best_ms": round(best_ms, 2),
            "rows": size, "x_baseline": None if baseline is None else round(median_ms / baseline, 2),
            "target": target,
        })  # fmt: skip

    bare_latest = timed(lambda: raw("SELECT channel_id, ts_ms, value, quality, seq FROM latest"), repeat)
    add("latest: bare SELECT * FROM latest", bare_latest)
    add("latest: store.latest(), 10 k channels", timed(store.latest, repeat), "< 50 ms", bare_latest[0])
    history_sql = f"SELECT r.ts_ms, r.value FROM readings r JOIN channels c ON c.id = r.channel_id WHERE c.key = '{HISTORY_KEY}' AND r.ts_ms >= {T0} AND r.ts_ms < {END_MS} ORDER BY r.ts_ms"  # noqa: E501
    naive = timed(lambda: naive_history(raw(history_sql)), repeat)
    add("history: naive, fetch 259 k rows + numpy buckets", naive)
    history = timed(lambda: store.history(HISTORY_KEY, T0, END_MS, HOUR_MS), repeat)
    add("history: store.history(), 30 d by 1 h", history, "< 100 ms", naive[0])
    start_2d = END_MS - 2 * DAY_MS
    add("history: store.history(), 2 d by 10 min (raw readings)",
        timed(lambda: store.history(HISTORY_KEY, start_2d, END_MS, 600_000), repeat))  # fmt: skip

    shift_sql = f"SELECT * FROM alarms WHERE opened_ms < {END_MS} AND (closed_ms IS NULL OR closed_ms >= {END_MS - DAY_MS})"  # noqa: E501
    bare_shift = timed(lambda: raw(shift_sql), repeat)
    add("shift: bare SELECT of the day's alarms", bare_shift)
    add("shift: store.shift_alarms() + report, a day", timed(lambda: shift_rows(store), repeat), "< 500 ms",
        bare_shift[0])  # fmt: skip

    every = give_every_site_to_an_enterprise(store)

    def page(within: tuple[str, ...] | None) -> list[Any]:
        return store.latest_page(None, None, None, (), limit=20_000, offset=0, within=within)[0]

    county, enterprise_store = timed_pair(lambda: page(None), lambda: page(every), repeat)
    add("latest: store.latest_page(), county caller (no filter)", county)
    add("latest: store.latest_page(), enterprise of every site", enterprise_store,
        "<= 1.10 x county", county[0])  # fmt: skip

    server = Server(database, admin_token_for(store, database))
    try:
        enterprise = {"Authorization": f"Bearer {enterprise_token(store)}"}
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}) as client:

            def every_latest(headers: dict[str, str] | None = None) -> list[Any]:
                return list(client.get("/api/v1/latest?limit=10000", headers=headers).json()["data"])

            county_http, enterprise_http = timed_pair(every_latest, lambda: every_latest(enterprise), repeat)
            add("latest: GET /api/v1/latest?limit=10000, county caller", county_http)
            add("latest: GET /api/v1/latest?limit=10000, enterprise of every site", enterprise_http,
                "<= 1.10 x county", county_http[0])  # fmt: skip
            add(
                "latest: GET /api/v1/latest over HTTP",
                timed(lambda: client.get("/api/v1/latest").json()["data"], repeat),
            )
            path = f"/api/v1/history?channel={HISTORY_KEY}&bucket=1h&start_ms={T0}&end_ms={END_MS}"
            add(
                "history: GET /api/v1/history over HTTP",
                timed(lambda: client.get(path).json()["data"], repeat),
            )
            shift = f"/api/v1/reports/shift?start={END_MS - DAY_MS}&end={END_MS}"
            as_json = timed(lambda: client.get(shift).json()["sites"], repeat)
            add("shift: GET /api/v1/reports/shift over HTTP", as_json, "< 500 ms", bare_shift[0])
            as_html = timed(lambda: client.get(f"{shift}&format=html").text, repeat)
            add("shift: GET ...&format=html over HTTP", as_html, "< 500 ms", bare_shift[0])
    finally:
        server.stop()
    return rows


def give_every_site_to_an_enterprise(store: Store) -> tuple[str, ...]:
    """Every site (and one more for the gateways without a site) to the enterprise ``ent-all``; the
    gateways' ids."""
    every = tuple(g.id for g in store.gateways())
    orphans = tuple(g.id for g in store.gateways() if g.site_id is None)
    if orphans:
        store.put_site(
            SiteMeta("site-rest", "The other gateways", "other", 30.0, 110.0), END_MS, gateways=orphans
        )
    accounts = AccountStore(store)
    accounts.add_org(Org("ent-all", "Owns every site", "county", END_MS))
    for site in store.sites():
        accounts.assign_site(site.id, "ent-all")
    return every


def enterprise_token(store: Store) -> str:
    plain, row = new_token(Role.VIEWER, "bench enterprise", None, T0)
    store.add_token(row)
    AccountStore(store).set_token_account(row.id, "ent-all", None)
    return plain


def admin_token_for(store: Store, database: str) -> str:
    other = (
        SqliteStore.from_url(database)
        if database.startswith("sqlite")
        else PostgresStore(database, threads=1)
    )
    return admin_token(other)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--pg", default=os.environ.get("FIELDWATCH_TEST_DATABASE", "postgresql://127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "central.db"
        store = SqliteStore(path, threads=1)
        store.migrate()
        start = time.perf_counter()
        load(store)
        load_alarms(store)
        print(f"SQLite loaded in {time.perf_counter() - start:.1f} s", flush=True)
        conn = sqlite3.connect(path)
        rows += measure(
            "sqlite", store, lambda sql: conn.execute(sql).fetchall(), f"sqlite:///{path}", args.repeat
        )
        conn.close()
        store.close()

    schemas = PgSchemas(args.pg)
    try:
        url = schemas.fresh()
        pg = PostgresStore(url, threads=1)
        pg.migrate()
        start = time.perf_counter()
        load(pg)
        load_alarms(pg)
        with psycopg.connect(url, autocommit=True) as conn_pg:
            conn_pg.execute("VACUUM ANALYZE")
            print(f"PostgreSQL loaded and vacuumed in {time.perf_counter() - start:.1f} s", flush=True)
            rows += measure("postgresql", pg, lambda sql: conn_pg.execute(sql).fetchall(), url, args.repeat)
        pg.close()
    finally:
        schemas.drop()

    print_table(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"repeat": args.repeat, "cases": rows}, indent=2))
    print(f"\nwrote {RESULTS}")


def print_table(rows: list[dict[str, Any]]) -> None:
    width = max(len(r["case"]) for r in rows)
    head = f"{'store':<10}  {'case':<{width}}  {'median ms':>9}  {'best ms':>8}  {'rows':>7}  {'x base':>6}"
    print(f"\n{head}  target")
    for r in rows:
        x = "" if r["x_baseline"] is None else f"{r['x_baseline']:.2f}"
        print(
            f"{r['store']:<10}  {r['case']:<{width}}  {r['median_ms']:>9.2f}  {r['best_ms']:>8.2f}  "
            f"{r['rows']:>7}  {x:>6}  {r['target']}"
        )


if __name__ == "__main__":
    main()
