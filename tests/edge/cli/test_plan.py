from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.cli import main
from protocols.bustiming import transaction_s
from tests.support import sites as support_sites

PROFILE = """\
model: t1
protocol: modbus
poll_interval_ms: 1000
points:
  - {name: a, address: 0, type: uint16}
  - {name: b, address: 1, type: float32, word_order: CDAB}
  - {name: c, address: 40, type: int16}
  - {name: slow, address: 41, type: uint16, poll_interval_ms: 60000}
"""


def write_site(tmp_path: Path, baud: int, devices: int) -> Path:
    devs = "".join(f"      - {{id: d{i}, profile: t1, unit_id: {i + 1}}}\n" for i in range(devices))
    bus = f"  - name: bus-1\n    type: rtu\n    port: /dev/ttyUSB0\n    baud: {baud}\n    parity: E\n    devices:\n{devs}"
    return support_sites.write_site(
        tmp_path, bus, {"t1": PROFILE}, profiles_dir="profiles", gateway="{id: gw-1}",
        site="{id: s, name: S, type: tank_farm, latitude_deg: 30, longitude_deg: 114}",
        uplink='{type: http, url: "http://127.0.0.1:8000"}',
    )  # fmt: skip


def test_plan_merges_points_and_estimates_the_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path, baud=9600, devices=2)
    assert main(["plan", str(site), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    bus = report["buses"][0]
    reqs = bus["devices"][0]["requests"]
    # a, b (3 registers) and c are 37 unused registers apart: more than the default gap of 8 -> two requests
    assert [(r["address"], r["count"], r["points"], r["poll_interval_ms"]) for r in reqs] == [
        (0, 3, ["a", "b"], 1000), (40, 1, ["c"], 1000), (41, 1, ["slow"], 60000),
    ]  # fmt: skip
    per_device = (transaction_s(9600, 11, "holding", 3) + transaction_s(9600, 11, "holding", 1)) / 1.0 + (
        transaction_s(9600, 11, "holding", 1) / 60.0
    )
    assert bus["load"] == pytest.approx(2 * per_device, abs=1e-4)


def test_an_overloaded_bus_is_called_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path, baud=1200, devices=12)
    assert main(["plan", str(site)]) == 0
    out = capsys.readouterr().out
    assert "OVERLOADED: the schedule does not fit" in out
    assert "device d11 (t1)" in out


def test_plan_of_a_broken_site_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path, baud=9601, devices=1)
    assert main(["plan", str(site)]) == 2
    assert "buses[0].baud: expected one of" in capsys.readouterr().err
