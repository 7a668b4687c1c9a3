"""Central ingest: 1000-reading batches over HTTP into SQLite and PostgreSQL, against bare loops.

    .venv/bin/python bench/ingest.py [--batches 400] [--clients 4] [--pg postgresql://127.0.0.1:5432/test]

The same pre-encoded wire-v1 batches (1000 readings each, 10 gateways x 100 channels, JSON without gzip)
go through:

- the SQLite bare loop (the baseline of the issue): ``orjson.loads`` + ``sqlite3.executemany`` into a
  readings table of the same shape and the same settings (WAL, ``synchronous=FULL``), one commit per
  batch. No HTTP, no ledger, no latest values, no channel lookup;
- ``fieldwatch-central serve`` (a real process, SQLite store) fed over HTTP by ``--clients`` concurrent
  clients, each client one gateway's batches in order; target: >= 0.6 of the bare loop;
- the PostgreSQL bare loop: ``orjson.loads`` + binary COPY of the same rows (``central.store.pgcopy``)
  into a table with the store's indexes, one commit per batch;
- the PostgreSQL store called directly (no HTTP) from 1 and 4 threads: what the ledger, latest values and
  the gateway row lock cost over the bare COPY;
- ``fieldwatch-central serve`` on PostgreSQL over HTTP; target: >= 200 k readings/s;
- the same batches sent again (all duplicates) over HTTP to SQLite: the cost of an idempotent resend.

Each store starts empty. Figures are wall-clock on a shared 2-core machine (server and clients on the
same cores): compare the rows of one run, not runs with each other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

import numpy as np
import orjson
import psycopg
from _central import PgSchemas, Server, admin_token

from central.store.pgcopy import COLUMNS, readings_copy
from central.store.postgres import PostgresStore
from central.store.sqlite import SqliteStore
from protocols.records import ReadingBlock
from protocols.wire import Batch, decode_batch, encode_batch

RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
T0 = 1_764_370_000_000
GATEWAYS = 10
CHANNELS = 100
BATCH = 1000


def payloads(n_batches: int, gateways: int = GATEWAYS) -> list[tuple[str, bytes]]:
    """(gateway, wire bytes): each gateway's batches carry consecutive seqs, 10 readings per channel."""
    out = []
    rng = np.random.default_rng(1)
    for i in range(n_batches):
        g, k = i % gateways, i // gateways
        gateway = f"gw-{g:02d}"
        seq = np.arange(k * BATCH + 1, (k + 1) * BATCH + 1, dtype=np.int64)
        channel = np.arange(BATCH) % CHANNELS
        ts = T0 + (seq // CHANNELS) * 10_000
        block = ReadingBlock.of(channel, ts, rng.normal(10, 3, BATCH), np.zeros(BATCH))
        keys = [f"{gateway}/dev-{c // 10}/p{c % 10}" for c in range(CHANNELS)]
        out.append((gateway, encode_batch(Batch(gateway, k, T0, keys, block, seq))))
    return out


# ---------------------------------------------------------------- bare loops


def sqlite_bare(batches: list[tuple[str, bytes]], path: Path) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE readings (channel_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, seq INTEGER NOT NULL, "
        "value REAL, quality INTEGER NOT NULL, PRIMARY KEY (channel_id, ts_ms, seq)) WITHOUT ROWID"
    )
    ids: dict[str, int] = {}
    start = time.perf_counter()
    for _, body in batches:
        obj = orjson.loads(body)
        base = [ids.setdefault(k, len(ids)) for k in obj["keys"]]
        r = obj["readings"]
        rows = zip(
            [base[c] for c in r["channel"]], r["ts_ms"], r["seq"], r["value"], r["quality"], strict=True
        )
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def pg_bare(batches: list[tuple[str, bytes]], url: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bare_readings (channel_id BIGINT NOT NULL, ts_ms BIGINT NOT NULL, "
            "seq BIGINT NOT NULL, value DOUBLE PRECISION, quality BIGINT NOT NULL)"
        )
        conn.execute("CREATE INDEX ON bare_readings (channel_id, ts_ms) INCLUDE (seq, value)")
        conn.execute("CREATE INDEX ON bare_readings USING brin (ts_ms)")
        ids: dict[str, int] = {}
        start = time.perf_counter()
        for _, body in batches:
            obj = orjson.loads(body)
            base = np.array([ids.setdefault(k, len(ids)) for k in obj["keys"]], dtype=np.int64)
            r = obj["readings"]
            stream = readings_copy(
                base[np.array(r["channel"])], np.array(r["ts_ms"], dtype=np.int64),
                np.array(r["seq"], dtype=np.int64), np.array(r["value"], dtype=np.float64),
                np.array(r["quality"], dtype=np.int64),
            )  # fmt: skip
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(f"COPY bare_readings ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as cp,
            ):
                cp.write(stream)
        return time.perf_counter() - start


def store_direct(batches: list[tuple[str, bytes]], url: str, threads: int) -> float:
    """The PostgreSQL store called from ``threads`` threads; each gateway's batches stay on one thread,
    unless there are fewer gateways than threads: then one gateway's batches are dealt round-robin, and
    the threads queue on its row lock (what two central processes do when they share a gateway)."""
    store = PostgresStore(url, threads=threads)
    store.migrate()
    by_gateway: dict[str, list[bytes]] = {}
    for gateway, body in batches:
        by_gateway.setdefault(gateway, []).append(body)
    if len(by_gateway) >= threads:
        queues = [list(v) for v in by_gateway.values()]
        lanes = [[b for q in queues[i::threads] for b in q] for i in range(threads)]
    else:
        lanes = [[body for _, body in batches][i::threads] for i in range(threads)]

    def run(lane: list[bytes]) -> None:
        for body in lane:
            store.ingest(decode_batch(body), T0)

    start = time.perf_counter()
    workers = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed


# ---------------------------------------------------------------- through fieldwatch-central serve


async def post_raw(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One keep-alive HTTP/1.1 exchange with a pre-built request; the response status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def send_all(server: Server, batches: list[tuple[str, bytes]], clients: int) -> float:
    """Each client one keep-alive connection and its gateways' batches in order. The requests are built
    before the clock starts and sent with a bare HTTP/1.1 writer: the clients share the 2 cores with the
    server, and an HTTP client library would spend more CPU per request than the server does."""
    lanes: list[list[bytes]] = [[] for _ in range(clients)]
    gateways = sorted({g for g, _ in batches})
    lane_of = {g: i % clients for i, g in enumerate(gateways)}
    for gateway, body in batches:
        head = (
            f"POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        lanes[lane_of[gateway]].append(head.encode() + body)

    async def lane(requests: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            for request in requests:
                status = await post_raw(reader, writer, request)
                if status != 200:
                    raise RuntimeError(f"ingest answered {status}")
        finally:
            writer.close()
            await writer.wait_closed()

    start = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for requests in lanes:
            tg.create_task(lane(requests))
    return time.perf_counter() - start


def over_http(
    database: str, store: SqliteStore | PostgresStore, batches: list[tuple[str, bytes]], clients: int
) -> tuple[float, float]:
    """Seconds to send the batches to a fresh ``serve`` on ``database``, then to send them all again."""
    server = Server(database, admin_token(store))
    try:
        first = asyncio.run(send_all(server, batches, clients))
        again = asyncio.run(send_all(server, batches, clients))
    finally:
        server.stop()
    return first, again


# ---------------------------------------------------------------- main


def one_round(
    batches: list[tuple[str, bytes]],
    single: list[tuple[str, bytes]],
    clients: int,
    pg: PgSchemas,
    tmp: Path,
    i: int,
) -> dict[str, float]:
    """Readings/s of every case, each on a fresh database, one after the other."""
    n = len(batches) * BATCH
    rate: dict[str, float] = {}
    rate["sqlite_bare"] = n / sqlite_bare(batches, tmp / f"bare{i}.db")
    db = tmp / f"central{i}.db"
    first, again = over_http(f"sqlite:///{db}", SqliteStore(db, threads=1), batches, clients)
    rate["sqlite_http"], rate["sqlite_http_resend"] = n / first, n / again
    rate["pg_bare"] = n / pg_bare(batches, pg.fresh())
    url = pg.fresh()
    first, again = over_http(url, PostgresStore(url, threads=1), batches, clients)
    rate["pg_http"], rate["pg_http_resend"] = n / first, n / again
    for threads in (1, 4):
        rate[f"pg_store_{threads}"] = n / store_direct(batches, pg.fresh(), threads)
    rate["pg_store_4_one_gateway"] = n / store_direct(single, pg.fresh(), 4)
    return rate


CASES = [  # key, description, baseline key, target
    ("sqlite_bare", "SQLite bare loop: orjson + executemany, commit per batch", None, ""),
    ("sqlite_http", "SQLite: serve over HTTP", "sqlite_bare", ">= 0.6 x bare"),
    ("sqlite_http_resend", "SQLite: serve over HTTP, the same batches again", "sqlite_bare", ""),
    ("pg_bare", "PostgreSQL bare loop: orjson + binary COPY, commit per batch", None, ""),
    ("pg_store_1", "PostgreSQL store, no HTTP, 1 thread", "pg_bare", ""),
    ("pg_store_4", "PostgreSQL store, no HTTP, 4 threads", "pg_bare", ""),
    (
        "pg_store_4_one_gateway",
        "PostgreSQL store, no HTTP, 4 threads on one gateway's row lock",
        "pg_bare",
        "",
    ),
    ("pg_http", "PostgreSQL: serve over HTTP", "pg_bare", ">= 200 k/s"),
    ("pg_http_resend", "PostgreSQL: serve over HTTP, the same batches again", "pg_bare", ""),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="each case this often; medians are reported")
    parser.add_argument(
        "--pg", default=os.environ.get("FIELDWATCH_TEST_DATABASE", "postgresql://127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    batches = payloads(args.batches)
    single = payloads(args.batches, gateways=1)
    pg = PgSchemas(args.pg)
    rounds = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.rounds):
                rounds.append(one_round(batches, single, args.clients, pg, Path(tmp), i))
                print(
                    f"round {i + 1}: " + ", ".join(f"{k} {v:,.0f}" for k, v in rounds[-1].items()), flush=True
                )
    finally:
        pg.drop()
    rows = []
    for key, case, base, target in CASES:
        rates = [r[key] for r in rounds]
        ratios = [r[key] / r[base] for r in rounds] if base else []
        rows.append({
            "case": case if "http" not in key else f"{case}, {args.clients} clients",
            "readings_per_s": round(median(rates)),
            "readings_per_s_rounds": [round(r) for r in rates],
            "x_baseline": round(median(ratios), 2) if ratios else None, "target": target,
        })  # fmt: skip
    print_table(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"batch_readings": BATCH, "batches": args.batches, "rounds": args.rounds,
                                   "clients": args.clients, "cases": rows}, indent=2))  # fmt: skip
    print(f"\nwrote {RESULTS}")


def print_table(rows: list[dict[str, object]]) -> None:
    width = max(len(str(r["case"])) for r in rows)
    print(f"\n{'case':<{width}}  {'readings/s':>11}  {'x bare':>6}  target    (medians of the rounds)")
    for r in rows:
        x = "" if r["x_baseline"] is None else f"{r['x_baseline']:.2f}"
        print(f"{r['case']:<{width}}  {r['readings_per_s']:>11,}  {x:>6}  {r['target']}")


if __name__ == "__main__":
    main()
