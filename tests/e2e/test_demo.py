"""The whole system, end to end: ``fieldwatch-demo`` as a process, fast-forwarded, checked on its summary.

One run of the three stories at 240x (a 4-hour story in a minute): the central, three simulators on
RS-485 wire emulators, TCP servers and ptys, three gateways with their uplinks through cuttable proxies,
every fault of the timelines (dead slaves, CRC noise, garbled lines, an uplink cut, gateway reboots).
The summary is what the central recorded, read back through its API; the assertions are the stories'
promises: the expected alarms in the expected order, the slope forecast settling on the failure time,
the fire seen at one tower only, and every row delivered once.

About 90 s on the 2-core development machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DEMO = [sys.executable, "-m", "simulator.demo.cli"]
SPEED = 240
DURATION_S = 150  # a cap: the run ends once the stories are over (about 60 s at 240x)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [*DEMO, "--speed", str(SPEED), "--duration-s", str(DURATION_S), "--json", "--plain",
         "--workdir", str(workdir)],
        capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{result.stderr[-3000:]}\n{_logs(workdir)}"
    parsed: dict[str, Any] = json.loads(lines[-1])
    assert "error" not in parsed, f"{parsed['error']}\n{_logs(workdir)}"
    parsed["exit_status"] = result.returncode
    parsed["output"] = result.stdout
    return parsed


def _logs(workdir: Path) -> str:
    tails = []
    for log in sorted(workdir.rglob("*.log")):
        tails.append(f"--- {log}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
    return "\n".join(tails)


def site(summary: dict[str, Any], scenario: str) -> dict[str, Any]:
    return next(s for s in summary["sites"] if s["scenario"] == scenario)


def expected(summary: dict[str, Any], scenario: str, channel: str, rule: str) -> dict[str, Any]:
    return next(
        o for o in site(summary, scenario)["expected"] if o["channel"] == channel and o["rule"] == rule
    )


def test_every_row_reaches_the_central_once(summary: dict[str, Any]) -> None:
    for s in summary["sites"]:
        d = s["delivery"]
        assert d["produced"] > 1000, s["scenario"]
        assert d["lost"] == 0, d
        assert d["duplicated"] == 0, d
        assert d["unexpected"] == 0, d
        assert d["waiting"] == 0, d  # the drain delivered every outbox
        assert d["stored"] + d["dropped"] + d["refused"] == d["produced"], d
    assert summary["lost"] == 0
    assert summary["duplicated"] == 0


def test_every_site_with_warnings_had_them_delivered_to_the_demo_webhook(summary: dict[str, Any]) -> None:
    for s in summary["sites"]:
        if s["highest_level"] > 0:
            assert s["notifications"].get("raise", 0) >= 1, s["scenario"]
    # nobody acknowledges in the demo: a warning that stands 20 s goes to the duty chief too (the slope's
    # and the fire's do; the tank farm's may all clear before)
    assert sum(s["notifications"].get("step", 0) for s in summary["sites"]) >= 1
    assert summary["notifications_delivered"] == sum(
        sum(s["notifications"].values()) for s in summary["sites"]
    )


def test_the_slope_warns_blue_yellow_orange_red_and_the_forecast_settles(summary: dict[str, Any]) -> None:
    slope = expected(summary, "mine_slope", "gnss-e2-crest/horizontal_mm", "slope")
    assert slope["reached"] == ["blue", "yellow", "orange", "red"]
    forecasts = slope["forecasts"]
    assert forecasts["converged"], forecasts
    before = [f for t, f in forecasts["made"] if t < forecasts["failure_at_s"]]
    assert len(before) >= 2
    assert abs(before[-1] - forecasts["failure_at_s"]) < 0.05 * forecasts["failure_at_s"]
    joint = expected(summary, "mine_slope", "_site/_combined", "crest_moving_in_rain")
    assert joint["met"], joint


def test_gas_at_the_next_detector_passes_both_levels_after_the_leak(summary: dict[str, Any]) -> None:
    leak = expected(summary, "tank_farm", "level-t102/level", "standing_loss")
    gas = expected(summary, "tank_farm", "gas-t102-n/gas", "alarm")
    assert leak["reached"][:2] == ["yellow", "orange"]
    assert gas["reached"] == ["yellow", "red"]
    assert leak["first_story_s"] < gas["first_story_s"]  # the level falls before the gas arrives
    assert expected(summary, "tank_farm", "temp-t103/temperature", "high")["met"]


def test_the_fire_is_seen_at_one_tower_only(summary: dict[str, Any]) -> None:
    forest = site(summary, "forest_tower")
    assert forest["quiet_breaches"] == []
    neighbours = [a for a in forest["alarms"] if "/ws-" in a["channel"]]
    assert neighbours == []
    for channel, rule in (("weather-mast/humidity", "dry"), ("thermal-cam/max_temperature", "hot"),
                          ("_site/_combined", "fire_confirmed")):  # fmt: skip
        assert expected(summary, "forest_tower", channel, rule)["met"]


def test_every_expected_alarm_came_and_the_demo_says_so(summary: dict[str, Any]) -> None:
    misses = [(s["scenario"], o) for s in summary["sites"] for o in s["expected"] if not o["met"]]
    assert not misses, misses
    assert summary["ok"] is True
    assert summary["exit_status"] == 0
    assert "ALL GOOD" in summary["output"]


def test_the_faults_really_happened(summary: dict[str, Any]) -> None:
    faults = {s["scenario"]: s["simulator"] for s in summary["sites"]}
    assert all(f["answers_corrupted"] > 0 for f in faults.values()), faults
    assert all(f["requests_to_dead_slaves"] > 0 for f in faults.values()), faults
    assert all(f["garbled_messages"] > 0 for f in faults.values()), faults
    assert site(summary, "tank_farm")["reboots"] == 1
    assert site(summary, "forest_tower")["reboots"] == 1
    for scenario in ("mine_slope", "tank_farm"):
        assert site(summary, scenario)["uplink"]["cuts"] == 1
    comm = {a["channel"].split("/")[1] for s in summary["sites"] for a in s["alarms"] if a["rule"] == "comm"}
    assert {"piezo-e2", "h2s-t103", "flame-south"} <= comm  # the dead slaves went offline, and came back


def test_the_demo_prints_how_to_log_in(summary: dict[str, Any]) -> None:
    out = summary["output"]
    assert "log in at http://127.0.0.1:" in out
    assert "  duty " in out
    assert out.count(".op ") == 3  # one operator per enterprise, one enterprise per site
