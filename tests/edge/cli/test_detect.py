"""``fieldwatch-edge detect``: scored copies of a folder of CSVs, from the gateway's own bank."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from edge.cli import main
from edge.detect import DetectorBank
from protocols.config import Channel
from tests.edge.detect.helpers import block

PROFILE = """\
model: probe
protocol: modbus
points:
  - name: x
    address: 0
    type: int16
    unit: mm
    rules:
      - type: level
        levels: {blue: 10, red: 40}
"""

SITE = """\
gateway: {id: gw1}
site: {id: s1, name: test site, type: other, latitude_deg: 30.0, longitude_deg: 117.0}
uplink: {type: http, url: "http://127.0.0.1:1"}
profiles_dirs: [profiles]
buses:
  - name: tcp1
    type: tcp
    host: 127.0.0.1
    devices:
      - {id: dev1, profile: probe, unit_id: 1}
"""


def write_csv(path: Path, values: list[float], start_min: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["timestamp,value"]
    for i, v in enumerate(values):
        minute = start_min + i * 5
        lines.append(f"2024-01-0{1 + minute // 1440} {minute % 1440 // 60:02d}:{minute % 60:02d}:00,{v}")
    path.write_text("\n".join(lines) + "\n")


def read_scores(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open() as f:
        rows = list(csv.reader(f))
    return rows[0], np.array([float(r[2]) for r in rows[1:]])


def test_scores_every_file_sample_by_sample(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    a = list(np.round(np.sin(np.arange(600) / 9) + rng.normal(0, 0.1, 600), 4))
    a[500] = 9.0
    b = list(np.round(rng.normal(5, 1, 300), 4))
    write_csv(tmp_path / "in" / "a.csv", a)
    write_csv(tmp_path / "in" / "sub" / "b.csv", b)
    assert main(["detect", "--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out")]) == 0
    assert "2 files, 900 rows" in capsys.readouterr().out
    header, scores_a = read_scores(tmp_path / "out" / "a.csv")
    _, scores_b = read_scores(tmp_path / "out" / "sub" / "b.csv")
    assert header == ["timestamp", "value", "anomaly_score"]
    assert scores_a.shape == (600,) and scores_b.shape == (300,)
    # the same numbers from a bank fed one sample at a time
    bank = DetectorBank.from_channels(
        [Channel(f"x/f{i}/v", f"f{i}", "v", "", None, (), "", None) for i in range(2)]
    )
    for ch, values, scores in ((0, a, scores_a), (1, b, scores_b)):
        one_by_one = [bank.step(block(ch, [i * 300_000], [v])).scores[0] for i, v in enumerate(values)]
        np.testing.assert_array_equal(one_by_one, scores)
    assert scores_a[500] > 0 and scores_a[500] == scores_a[400:].max()


def test_with_a_site_the_rules_run_and_events_are_written(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "probe.yaml").write_text(PROFILE)
    (tmp_path / "site.yaml").write_text(SITE)
    write_csv(tmp_path / "in" / "dev1" / "x.csv", [1.0, 12.0, 50.0, 3.0])
    args = ["detect", "--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"),
            "--site", str(tmp_path / "site.yaml"), "--events", str(tmp_path / "events.jsonl")]  # fmt: skip
    assert main(args) == 0
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [(e["channel"], e["rule"], e["previous_level"], e["level"], e["kind"]) for e in events] == [
        ("gw1/dev1/x", "level", 0, 1, "raised"), ("gw1/dev1/x", "level", 1, 4, "escalated"),
        ("gw1/dev1/x", "level", 4, 0, "cleared"),
    ]  # fmt: skip
    assert events[0]["ts_ms"] == 1704067500000  # 2024-01-01 00:05:00 UTC


@pytest.mark.parametrize(
    ("files", "site", "message"),
    [
        ({"a.csv": "time,value\n"}, False, "a.csv:1: expected the header timestamp,value"),
        ({"a.csv": "timestamp,value\nyesterday,1\n"}, False, "a.csv: timestamp: not a timestamp"),
        ({"dev1/y.csv": "timestamp,value\n"}, True, "no channel <device>/<point> = dev1/y"),
    ],
)
def test_bad_input_is_reported_with_exit_status_2(tmp_path: Path, capsys, files, site, message) -> None:
    for name, text in files.items():
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / name).write_text(text)
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "probe.yaml").write_text(PROFILE)
    (tmp_path / "site.yaml").write_text(SITE)
    args = ["detect", "--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out")]
    assert main(args + (["--site", str(tmp_path / "site.yaml")] if site else [])) == 2
    assert message in capsys.readouterr().err
