"""``fieldwatch-sim``: list, check, and run as a real process (ready report, SIGUSR1 start, SIGTERM stop)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edge.siteconfig import load_site

SIM = [sys.executable, "-m", "simulator.cli"]


def sim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SIM, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_list_names_every_shipped_scenario() -> None:
    result = sim("list", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["name"] for r in rows] == ["forest_tower", "mine_slope", "tank_farm"]
    assert all(r["length_s"] > 0 and r["gateway"] for r in rows)


@pytest.mark.slow
def test_check_reports_problems_with_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntitle: t\nlength: soon\nsite: {}\n")
    result = sim("check", str(bad))
    assert result.returncode == 2
    assert f"{bad}:3: length: expected a duration" in result.stderr
    assert result.stderr.rstrip().endswith("1 problem found")
    assert sim("check", "tank_farm").returncode == 0


@pytest.mark.slow
def test_run_reports_ready_holds_starts_on_sigusr1_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*SIM, "run", "--scenario", "forest_tower", "--speed", "3600", "--workdir", str(tmp_path), "--hold",
         "--json", "--uplink-url", "http://127.0.0.1:9/"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        ready = json.loads(proc.stdout.readline())
        assert ready["event"] == "ready"
        assert ready["held"] is True
        assert ready["gateway"] == "qs-laoying-gw01"
        site = load_site(ready["site_file"])
        assert site.site.uplink.url == "http://127.0.0.1:9/"
        for bus, where in ready["buses"].items():
            assert where.startswith("127.0.0.1:") or os.path.exists(where), bus
        os.kill(proc.pid, signal.SIGUSR1)
        reports = []
        for _ in range(100):  # at 3600x the 4 h story takes 4 s
            line = proc.stdout.readline()
            if not line:
                break
            reports.append(json.loads(line))
            if reports[-1]["event"] == "story_end":
                break
        kinds = [(r["event"], r.get("fault"), r.get("phase")) for r in reports]
        assert kinds[0] == ("started", None, None)
        assert ("fault", "dead_slave", "start") in kinds
        assert ("fault", "dead_slave", "end") in kinds
        assert ("fault", "gateway_reboot", "start") in kinds
        reboot = next(r for r in reports if r.get("fault") == "gateway_reboot")
        assert reboot["by"] == "demo"
        assert reboot["down_s"] == 180
        times = [r["t_s"] for r in reports]
        assert times == sorted(times)
        assert reports[-1]["event"] == "story_end"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    stats = json.loads(err.strip().splitlines()[-1])
    assert stats["event"] == "statistics"
    assert set(stats["wires"]) == {"rs485-ridge", "ridge-radio"}
