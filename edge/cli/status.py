"""``fieldwatch-edge status SITE.yaml [--json]``: the outbox and the uplink, seen from outside.

For a technician at the gateway: how much is waiting and for how long, what was thinned, dropped or
dead-lettered and why, when the central last acknowledged, and whether the uplink is failing. It reads
the outbox file only (the agent may be running; WAL lets both read), and never writes to it.

It first checks the file (``PRAGMA quick_check``, bounded in time): a corrupt file is said so, and the
status exits 1 (the agent, at its next start, moves it aside and salvages it). A file the agent found
corrupt and replaced is reported with where the old one is kept.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from typing import Any

from edge.agent import outbox_path
from edge.outbox import OutboxReader, open_reader, salvage
from edge.siteconfig import load_site

NAME = "status"
HELP = "show the outbox (rows waiting, oldest, bytes, drops, dead letters) and the uplink's state"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("site", metavar="SITE.yaml", help="the gateway's site file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    site = load_site(args.site)
    path = outbox_path(site)
    try:
        problem = salvage.check(path)
    except sqlite3.Error as e:
        problem = str(e)
    if problem is not None:
        print(
            f"fieldwatch-edge status: the outbox at {path} is corrupt: {problem} (the agent moves it aside "
            "and salvages what reads at its next start)",
            file=sys.stderr,
        )
        return 1
    try:
        reader = open_reader(path)
    except sqlite3.Error as e:
        print(f"fieldwatch-edge status: {e} (has the agent run yet?)", file=sys.stderr)
        return 1
    try:
        status = collect(reader, site.site.outbox.max_bytes)
    except sqlite3.Error as e:
        print(f"fieldwatch-edge status: cannot read {path}: {e}", file=sys.stderr)
        return 1
    finally:
        reader.close()
    where = {"gateway": site.gateway_id, "outbox_path": str(path), "uplink_url": site.site.uplink.url}
    status = where | status
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
    else:
        print(render(status))
    return 0


def collect(reader: OutboxReader, max_bytes: int) -> dict[str, Any]:
    meta = reader.meta()
    counts = reader.counts()
    oldest = reader.oldest_ts_ms()
    now_ms = time.time_ns() // 1_000_000
    return {
        "readings": counts["readings"],
        "events": counts["events"],
        "oldest_unacked_ts_ms": oldest,
        "oldest_unacked_age_s": None if oldest is None else max(0.0, (now_ms - oldest) / 1000),
        "bytes": reader.bytes_used(),
        "max_bytes": max_bytes,
        "produced_through": int(meta.get("next_seq", 1)) - 1,
        "boots": meta.get("boots"),
        "incarnation": reader.incarnation(),
        "corrupt_moved_to": meta.get("corrupt_moved_to"),
        "corrupt_at_ms": meta.get("corrupt_at_ms"),
        "corrupt_message": meta.get("corrupt_message"),
        "drops": reader.drops(),
        "dead_letters": counts["dead_letters"],
        "dead_letter_rows": counts["dead_letter_rows"],
        "latest_dead_letters": reader.dead_letters(limit=3),
        "channels_metadata_unacked": counts["channels_unacked"],
        "acked_through": meta.get("acked_through"),
        "last_ack_ms": meta.get("last_ack_ms"),
        "uplink_state": meta.get("uplink_state", "unknown"),
        "uplink_error": meta.get("uplink_error") or "",
        "uplink_error_since_ms": meta.get("uplink_error_since_ms"),
    }


def render(s: dict[str, Any]) -> str:
    b = s["bytes"]
    drops = ", ".join(f"{k} {v}" for k, v in s["drops"].items()) or "none"
    oldest = _age(s["oldest_unacked_age_s"])
    lines = [
        f"gateway {s['gateway']}",
        f"outbox  {s['outbox_path']}",
        f"  waiting       {s['readings']} readings, {s['events']} events; oldest {oldest}",
        f"  size          {_mib(b['total'])} of {_mib(s['max_bytes'])}"
        f" (pages {_mib(b['pages'])}, WAL {_mib(b['wal'])})",
        f"  produced      through seq {s['produced_through']} ({s['boots']} starts);"
        f" incarnation {s['incarnation'] or '-'}",
        f"  drops         {drops}",
        f"  dead letters  {s['dead_letters']} batches, {s['dead_letter_rows']} rows",
    ]  # fmt: skip
    if s["corrupt_moved_to"]:
        lines.append(f"  corrupt file  found {_when(s['corrupt_at_ms'])}: {s['corrupt_message']}")
    for dl in s["latest_dead_letters"]:
        when = _when(dl["created_ms"])
        lines.append(f"    batch {dl['batch_id']} at {when}: {dl['rows']} rows: {dl['error']}")
    lines += [
        f"uplink  {s['uplink_url']}",
        f"  state         {s['uplink_state']}"
        + (f" since {_when(s['uplink_error_since_ms'])}: {s['uplink_error']}" if s["uplink_error"] else ""),
        f"  last ack      {_when(s['last_ack_ms'])} (central has seq through {s['acked_through'] or 0})",
        f"  metadata      {s['channels_metadata_unacked']} channels not yet acknowledged by the central",
    ]
    return "\n".join(lines)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    h, rem = divmod(int(seconds), 3600)
    return f"{h} h {rem // 60} min ago" if h else f"{rem // 60} min {rem % 60} s ago"


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(ms / 1000))
