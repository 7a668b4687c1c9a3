"""``fieldwatch-edge warm``: the site's kernels compiled into NUMBA_CACHE_DIR, then loaded from there.

Each run is a fresh process (numba reads NUMBA_CACHE_DIR when it starts), with a cache folder of its own,
so the first run compiles whatever the other tests cached elsewhere.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.e2e.processes import EDGE, ROOT
from tests.edge.agent.sites import POINTS, write_site


def warm(site: Path, cache: Path) -> str:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    result = subprocess.run(
        [*EDGE, "warm", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
@pytest.mark.timeout(1000)  # a cold compile: seconds here, minutes on a Pi or under emulation
def test_warm_compiles_into_the_cache_and_the_next_start_loads_from_it(tmp_path: Path) -> None:
    site = write_site(tmp_path, modbus_port=1, uplink='{type: http, url: "http://127.0.0.1:9"}')
    cache = tmp_path / "numba-cache"
    first = warm(site, cache)
    assert "detection kernels compiled in" in first and "(anomaly_step, rules_step;" in first, first
    assert f"cached in {cache}/" in first and f"for {POINTS} channels" in first, first
    assert any(cache.rglob("*.nbi")) and any(cache.rglob("*.nbc")), "nothing in numba's cache"
    second = warm(site, cache)
    assert "detection kernels ready in" in second and f"(loaded from numba's cache in {cache}/" in second, (
        second
    )
    assert "NUMBA_CACHE_DIR is not set" not in first + second


def test_warm_reports_a_bad_site_file(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("gateway: {id: gw}\nbusses: []\n")
    result = run_cli(["warm", str(site)])
    assert result.status == 2
    assert f"{site}:" in result.stderr
