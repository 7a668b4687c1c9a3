"""``fieldwatch-edge detect --input-dir IN --output-dir OUT [--site SITE.yaml]``: score CSV series offline.

Every ``*.csv`` under IN (columns ``timestamp,value``; timestamps ``YYYY-MM-DD HH:MM:SS`` in UTC, ISO 8601, or
epoch milliseconds) is fed, sample by sample in file order, through the same ``DetectorBank`` the gateway
runs, and written to the same relative path under OUT with an ``anomaly_score`` column added. One process,
one bank, one channel per file. Without ``--site`` each file is a channel with no rules (the score only);
with it, ``IN/<device>/<point>.csv`` is that channel of the site, with its rules, and ``--events`` lists
what they raised.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.detect import DetectorBank
from edge.siteconfig import load_site
from protocols.config import Channel
from protocols.errors import ConfigError, ConfigIssue
from protocols.quality import Quality
from protocols.records import Event, ReadingBlock

NAME = "detect"
HELP = "score CSV series (timestamp,value) with the gateway's detectors; write them with an anomaly_score"
BLOCK_ROWS = 4096  # the kernels walk samples one by one, so any block size gives the same result
HEADER = ("timestamp", "value")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-dir", required=True, type=Path, metavar="IN", help="folder of *.csv")
    parser.add_argument(
        "--output-dir", required=True, type=Path, metavar="OUT", help="where scored copies go"
    )
    parser.add_argument("--site", type=Path, help="site file: IN/<device>/<point>.csv is that channel")
    parser.add_argument("--events", type=Path, help="write the rules' events here, one JSON object a line")


def _timestamps_ms(texts: list[str], path: Path) -> npt.NDArray[np.int64]:
    if texts and texts[0].strip().isdigit():
        return np.array([int(t) for t in texts], dtype=np.int64)
    try:
        return np.array([t.strip().replace(" ", "T") for t in texts], dtype="datetime64[ms]").astype(np.int64)
    except ValueError as e:
        raise ConfigError([ConfigIssue(str(path), None, "timestamp", f"not a timestamp: {e}")]) from None


def _values(texts: list[str]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]:
    """Values, and SENSOR_FAULT quality where a cell is not a number."""
    values = np.empty(len(texts), dtype=np.float64)
    quality = np.zeros(len(texts), dtype=np.uint32)
    for i, text in enumerate(texts):
        try:
            values[i] = float(text)
        except ValueError:
            values[i], quality[i] = np.nan, int(Quality.SENSOR_FAULT)
    return values, quality


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(c.strip() for c in rows[0][:2]) != HEADER:
        raise ConfigError([ConfigIssue(str(path), 1, "", "expected the header timestamp,value")])
    for n, row in enumerate(rows[1:], start=2):
        if len(row) < 2:
            raise ConfigError([ConfigIssue(str(path), n, "", "expected two columns: timestamp,value")])
    return rows


def _channels(files: list[Path], root: Path, site_path: Path | None) -> tuple[DetectorBank, list[int]]:
    if site_path is None:
        channels = [Channel(f"offline/file{i}/value", f"file{i}", "value", "", None, (), "", None)
                    for i in range(len(files))]  # fmt: skip
        return DetectorBank.from_channels(channels), list(range(len(files)))
    site = load_site(site_path)
    index = {(c.device_id, c.point): i for i, c in enumerate(site.channels)}
    found, issues = [], []
    for f in files:
        rel = f.relative_to(root)
        key = (rel.parent.name, rel.stem) if len(rel.parts) == 2 else None
        if key not in index:
            issues.append(
                ConfigIssue(
                    str(f), None, "", f"no channel <device>/<point> = {rel.with_suffix('')} in {site_path}"
                )
            )
            continue
        found.append(index[key])
    if issues:
        raise ConfigError(issues)
    return DetectorBank.from_site(site), found


def _event_json(event: Event) -> str:
    row = asdict(event)
    row["kind"] = event.kind.name.lower()
    return json.dumps(row)


def run(args: argparse.Namespace) -> int:
    root: Path = args.input_dir
    if not root.is_dir():
        raise ConfigError([ConfigIssue(str(root), None, "", "no such folder")])
    files = sorted(root.rglob("*.csv"))
    bank, channel_of = _channels(files, root, args.site)
    started = time.perf_counter()
    rows_total, events = 0, []
    for f, ch in zip(files, channel_of, strict=True):
        rows = _read(f)[1:]
        ts = _timestamps_ms([r[0] for r in rows], f)
        values, quality = _values([r[1] for r in rows])
        scores = np.empty(len(rows), dtype=np.float64)
        for lo in range(0, len(rows), BLOCK_ROWS):
            hi = min(lo + BLOCK_ROWS, len(rows))
            channel = np.full(hi - lo, ch, dtype=np.int32)
            result = bank.step(ReadingBlock(channel, ts[lo:hi], values[lo:hi], quality[lo:hi]))
            scores[lo:hi] = result.scores
            events += result.events
        out = args.output_dir / f.relative_to(root)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="", encoding="utf-8") as g:
            writer = csv.writer(g, lineterminator="\n")
            writer.writerow((*HEADER, "anomaly_score"))
            writer.writerows((r[0], r[1], repr(float(s))) for r, s in zip(rows, scores, strict=True))
        rows_total += len(rows)
    if args.events is not None:
        args.events.write_text("".join(_event_json(e) + "\n" for e in events), encoding="utf-8")
    seconds = time.perf_counter() - started
    print(
        f"{len(files)} files, {rows_total} rows, {len(events)} events in {seconds:.2f} s -> {args.output_dir}"
    )
    return 0
