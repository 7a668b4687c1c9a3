"""Peers for the acquisition benchmarks, each in its own process so the edge's CPU is the edge's alone.

``Peer`` starts a command, waits for the line that says it is ready, and at the end stops it (SIGTERM) and
keeps what it printed on stderr (the wire and the slave servers print their statistics there at exit).
``site_file`` writes a site and a profile of N uint16 holding registers for the edge to load.
``bare_tcp_poll`` is the baseline of the TCP benchmarks: the same reads in a bare pymodbus loop.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parents[1]


class Peer:
    def __init__(self, args: list[str], ready: str, timeout_s: float = 15.0, *, output: bool = False) -> None:
        self.args = args
        self.output: list[str] = []  # stdout lines up to the ready line, with output=True
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if output:
                self.output.append(line.strip())
            if ready in line:
                return
            if not line and self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"{' '.join(args)} did not become ready: {self.stderr[-2000:]}")

    def stop(self) -> None:
        self.stderr = ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, self.stderr = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, self.stderr = self.proc.communicate()

    def last_stats(self) -> dict[str, str]:
        """The last ``key=value ...`` line the peer printed on stderr."""
        for line in reversed(self.stderr.splitlines()):
            stats = {}
            for word in line.split():
                key, equals, value = word.partition("=")
                if equals:
                    stats[key] = value
            if stats:
                return stats
        return {}


def endpoints_of(peer_output: list[str]) -> list[tuple[str, int]]:
    """The ``endpoint HOST:PORT`` lines a slaves peer printed."""
    out = []
    for line in peer_output:
        if line.startswith("endpoint "):
            host, _, port = line.split()[1].rpartition(":")
            out.append((host, int(port)))
    return out


async def bare_tcp_poll(
    endpoints: list[tuple[str, int]], registers: int, interval_s: float, duration_s: float
) -> tuple[float, float, int]:
    """One bare pymodbus loop per endpoint reading ``registers`` holding registers every ``interval_s``:
    no schedule, no decode, no blocks. Returns (elapsed_s, cpu_s, values)."""
    from pymodbus.client import AsyncModbusTcpClient  # noqa: PLC0415 - only the TCP benchmarks need it

    counts = [0] * len(endpoints)

    async def poll(i: int, host: str, port: int, stop_at: float) -> None:
        client = AsyncModbusTcpClient(host, port=port, retries=0, timeout=1.0, reconnect_delay=0)
        await client.connect()
        next_s = time.monotonic()
        try:
            while (now := time.monotonic()) < stop_at:
                if next_s > now:
                    await asyncio.sleep(next_s - now)
                response = await client.read_holding_registers(0, count=registers, device_id=1)
                counts[i] += len(response.registers)
                next_s += interval_s
        finally:
            client.close()

    cpu0, t0 = cpu_s(), time.perf_counter()
    stop_at = time.monotonic() + duration_s
    async with asyncio.TaskGroup() as group:
        for i, (host, port) in enumerate(endpoints):
            group.create_task(poll(i, host, port, stop_at))
    return time.perf_counter() - t0, cpu_s() - cpu0, sum(counts)


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def site_file(
    folder: Path,
    *,
    buses: list[dict[str, object]],
    units: list[int],
    registers: int,
    poll_interval_ms: int,
    timeout_ms: int,
    offline_retry_s: float = 5.0,
) -> Path:
    """A site whose buses (each given by its keys besides the polling ones) carry one device per unit,
    named ``BUS-uUNIT``, each reading ``registers`` holding registers in one request."""
    profile = folder / "bench_block.yaml"
    points = "\n".join(f"  - {{name: r{i}, address: {i}, type: uint16}}" for i in range(registers))
    profile.write_text(
        f"model: bench_block\npoll_interval_ms: {poll_interval_ms}\nprotocol: modbus\npoints:\n{points}\n"
    )
    text = (
        "gateway: {id: bench}\n"
        "site: {id: bench, name: bench, type: other, latitude_deg: 30, longitude_deg: 117}\n"
        'uplink: {type: http, url: "http://127.0.0.1:9/"}\n'
        'profiles_dirs: ["."]\n'
        "buses:\n"
    )
    for bus in buses:
        devices = "\n".join(
            f"      - {{id: {bus['name']}-u{u}, profile: bench_block, unit_id: {u}}}" for u in units
        )
        text += (
            "  - " + "\n    ".join(f"{k}: {v}" for k, v in bus.items()) + "\n"
            f"    timeout_ms: {timeout_ms}\n"
            "    retries: 0\n"
            "    offline_after_failures: 3\n"
            f"    offline_retry_s: {offline_retry_s}\n"
            "    devices:\n"
            f"{devices}\n"
        )
    site = folder / "site.yaml"
    site.write_text(text)
    return site
