"""One site of the demo: its simulator, its gateway, the gateway's cuttable uplink, and their faults.

``SiteRun.start_simulator`` starts ``fieldwatch-sim run --hold`` and reads its ``ready`` report (the
site file it wrote for the gateway); ``start_gateway`` starts ``fieldwatch-edge run`` on that file,
with the site's token and the demo's shared clock origin, its uplink pointed at the proxy. Faults the
simulator announces are done here: ``cut``/``restore`` the uplink, ``reboot`` the gateway (SIGKILL, a
pause, a new process: a power cut, nothing flushed).

At the end, ``stop_gateway`` sends SIGTERM: the gateway runs with ``--drain-s``, so it stops polling and
delivers what its outbox still holds before it exits (``fieldwatch-edge status --json`` then reads what
is left, normally nothing).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from simulator.demo.procs import Child, run_once
from simulator.demo.proxy import UplinkProxy
from simulator.scenario import Loaded

READY_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 90.0
STATUS_TIMEOUT_S = 30.0


def tool(name: str) -> str:
    """A FieldWatch command next to this Python (the virtualenv's bin), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed (run ./scripts/bootstrap.sh)")
    return found


class SiteRun:
    def __init__(self, loaded: Loaded, *, workdir: Path, token: str, seed: int, speed: float) -> None:
        self.loaded = loaded
        self.name = loaded.scenario.name
        self.gateway = loaded.bound.gateway_id
        self.workdir = workdir / self.name
        self.token = token
        self.seed = seed
        self.speed = speed
        self.proxy: UplinkProxy | None = None
        self.simulator: Child | None = None
        self.edge: Child | None = None
        self.site_file: Path | None = None
        self.ready: dict[str, Any] = {}
        self.reboots = 0
        self.rebooting = False
        self.edge_exits: list[int | None] = []

    async def start_simulator(self, central_port: int) -> dict[str, Any]:
        self.proxy = UplinkProxy("127.0.0.1", central_port)
        port = await self.proxy.start()
        self.simulator = Child(
            f"sim {self.name}",
            [tool("fieldwatch-sim"), "run", "--scenario", self.name, "--seed", str(self.seed),
             "--speed", f"{self.speed:g}", "--workdir", str(self.workdir), "--hold", "--json",
             "--uplink-url", f"http://127.0.0.1:{port}/"],
            log_path=self.workdir / "simulator.log",
            read_stdout=True,
        )  # fmt: skip
        await self.simulator.start()
        line = await asyncio.wait_for(anext(aiter(self.simulator.lines()), ""), READY_TIMEOUT_S)
        report = json.loads(line) if line.startswith("{") else {}
        if report.get("event") != "ready":
            raise RuntimeError(f"{self.name}: the simulator did not start (see {self.simulator.log_path})")
        self.ready = report
        self.site_file = Path(report["site_file"])
        return report

    def _edge(self, site_file: Path, origin_ms: int, label: str) -> Child:
        return Child(
            f"{label} {self.gateway}",
            [tool("fieldwatch-edge"), "run", str(site_file), "--speed", f"{self.speed:g}",
             "--clock-origin-ms", str(origin_ms), "--drain-s", f"{DRAIN_TIMEOUT_S:g}"],
            log_path=self.workdir / "gateway.log",
            env={"FIELDWATCH_TOKEN": self.token},
            cwd=self.workdir,
        )  # fmt: skip

    async def start_gateway(self, origin_ms: int) -> None:
        assert self.site_file is not None
        self.edge = self._edge(self.site_file, origin_ms, "gateway")
        await self.edge.start()

    def cut(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()

    def restore(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()

    async def reboot(self, down_s: float) -> None:
        """A power cut: SIGKILL, ``down_s`` real seconds off, then the same gateway again."""
        if self.edge is None or not self.edge.running:
            return
        self.rebooting = True
        self.reboots += 1
        self.edge.kill()
        self.edge_exits.append(await self.edge.wait())
        await asyncio.sleep(down_s)
        await self.edge.start()
        self.rebooting = False

    async def stop_gateway(self) -> int | None:
        """SIGTERM: the gateway stops polling, drains its outbox (at most ``DRAIN_TIMEOUT_S``) and exits."""
        if self.edge is None:
            return None
        status = await self.edge.stop(timeout_s=DRAIN_TIMEOUT_S + 15.0)
        self.edge_exits.append(status)
        return status

    async def status(self) -> dict[str, Any]:
        """``fieldwatch-edge status --json``: the gateway's outbox and uplink, read from its file."""
        assert self.site_file is not None
        out = await run_once([tool("fieldwatch-edge"), "status", str(self.site_file), "--json"],
                             timeout_s=STATUS_TIMEOUT_S)  # fmt: skip
        return dict(json.loads(out))

    async def stop_simulator(self) -> dict[str, Any]:
        """Stop the simulator; its statistics (the last line it wrote to its log)."""
        if self.simulator is None:
            return {}
        await self.simulator.stop()
        try:
            last = self.simulator.log_path.read_text(encoding="utf-8").strip().splitlines()[-1]
            return dict(json.loads(last)) if last.startswith("{") else {}
        except (OSError, IndexError, ValueError):
            return {}

    async def close(self) -> None:
        for child in (self.edge, self.simulator):
            if child is not None and child.running:
                await child.stop()
        if self.proxy is not None:
            await self.proxy.close()
