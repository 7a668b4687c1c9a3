"""The whole gateway agent's cost: CPU microseconds per value and peak memory, on a realistic load.

    .venv/bin/python bench/edge_cpu.py [--duration-s 60] [--baseline-s 20]

Load: 10 Modbus TCP slaves (``simulator.modbus_slaves``, 10 endpoints in one process of their own, values
changing on every read) x 50 holding registers, polled every 100 ms: 5000 values/s. The agent is the real
``fieldwatch-edge run SITE.yaml``, a process of its own: acquisition -> detection (the anomaly detector on
every channel) -> outbox (SQLite, WAL, synchronous=FULL, batched commits) -> forwarder -> HTTP uplink
(httpx, gzip, bearer token) to ``fieldwatch-central serve`` on SQLite, on the same machine, plus the
heartbeat. Its CPU is read from ``/proc/PID/stat`` (user + system) over the window after a warm-up, its
peak RSS from ``VmHWM``; values/s is the outbox's seq rate over the same window, and the central's count
shows they arrived.

Baseline, same run, same slaves: a bare pymodbus loop (one client per endpoint, one 50-register read every
100 ms, nothing done with the answer) in a process of its own: what polling alone costs in Python.

Targets: <= 6 us CPU per value (ThingsBoard IoT Gateway on the same load: 29 us with memory storage,
47 us with SQLite storage), peak RSS <= 200 MB (numba with LLVM is about 150 MB of it; the RSS at the end
is split into the process's own memory and mapped files, see ``proc_rss_parts_mib``). The machine has 2
cores shared with other work, and the slaves and the central run on it too: read the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _peers import PYTHON, ROOT, Peer, bare_tcp_poll, endpoints_of, load_average, site_file

RESULTS = ROOT / "bench" / "results" / "edge_cpu.json"
ENDPOINTS = 10
REGISTERS = 50
INTERVAL_S = 0.1
WARMUP_S = 10.0
TARGET_PER_S = ENDPOINTS * REGISTERS / INTERVAL_S
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
GATEWAY = "bench"  # _peers.site_file's gateway id
EDGE = [PYTHON, "-c", "import sys; from edge.cli import main; sys.exit(main(sys.argv[1:]))"]
CENTRAL = [PYTHON, "-c", "import sys; from central.cli import main; sys.exit(main(sys.argv[1:]))"]


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime (fields 14, 15)


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds by thread name (the event loop is the process's own name, ``python``)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the thread ended meanwhile
        name = "event loop" if task.name == str(pid) else name
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICKS_PER_S
    return out


def proc_peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def proc_rss_parts_mib(pid: int) -> dict[str, float]:
    """Resident memory now, by kind: ``RssAnon`` (the process's own) and ``RssFile`` (mapped files, mostly
    LLVM's 170 MB library: clean pages the kernel drops under pressure, and how many are resident varies
    from run to run with the page cache, 45 to 125 MiB seen for the same file)."""
    parts = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("RssAnon:", "RssFile:", "RssShmem:")):
            name, kib, _ = line.split()
            parts[name.rstrip(":")] = int(kib) / 1024
    return parts


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


# ---------------------------------------------------------------------- the baseline (a child process)


async def bare_poll(endpoints: list[tuple[str, int]], duration_s: float) -> dict[str, Any]:
    elapsed, cpu, values = await bare_tcp_poll(endpoints, REGISTERS, INTERVAL_S, duration_s)
    return {
        "elapsed_s": elapsed,
        "values": values,
        "cpu_s": cpu,
        "peak_rss_mib": proc_peak_rss_mib(os.getpid()),
    }


def baseline(endpoints: list[tuple[str, int]], duration_s: float) -> dict[str, Any]:
    spec = json.dumps({"endpoints": endpoints, "duration_s": duration_s})
    done = subprocess.run([PYTHON, __file__, "--baseline-child", spec], capture_output=True, text=True,
                          check=True, timeout=duration_s + 60)  # fmt: skip
    r: dict[str, Any] = json.loads(done.stdout)
    r["values_per_s"] = r["values"] / r["elapsed_s"]
    r["cpu_us_per_value"] = r["cpu_s"] / r["values"] * 1e6
    return r


# ---------------------------------------------------------------------- the agent


def central(folder: Path) -> tuple[subprocess.Popen[bytes], str, str, Path]:
    db = folder / "central.db"
    token = subprocess.run(
        [*CENTRAL, "token", "create", "--role", "gateway", "--gateway", GATEWAY, "--database", f"sqlite:///{db}"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    port = free_port()
    log = (folder / "central.log").open("wb")
    proc = subprocess.Popen([*CENTRAL, "serve", "--database", f"sqlite:///{db}", "--port", str(port)],
                            cwd=ROOT, stdout=log, stderr=log)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url, token, db
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("fieldwatch-central serve did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def agent_site(folder: Path, endpoints: list[tuple[str, int]], central_url: str) -> Path:
    buses: list[dict[str, object]] = [
        {"name": f"tcp{i}", "type": "tcp", "host": host, "port": port}
        for i, (host, port) in enumerate(endpoints)
    ]
    site = site_file(folder, buses=buses, units=[1], registers=REGISTERS,
                     poll_interval_ms=int(INTERVAL_S * 1000), timeout_ms=1000)  # fmt: skip
    text = site.read_text().replace(
        'uplink: {type: http, url: "http://127.0.0.1:9/"}', f'uplink: {{type: http, url: "{central_url}"}}'
    )
    text = text.replace("gateway: {id: bench}", "gateway: {id: bench, heartbeat_interval_s: 10}")
    site.write_text(text + f"outbox: {{path: {folder / 'outbox.db'}}}\n")
    return site


def run_agent(folder: Path, site: Path, token: str, central_db: Path, duration_s: float) -> dict[str, Any]:
    outbox = folder / "outbox.db"
    log = (folder / "edge.log").open("wb")
    proc = subprocess.Popen([*EDGE, "run", str(site)], cwd=ROOT, stdout=log, stderr=log,
                            env={**os.environ, "FIELDWATCH_TOKEN": token})  # fmt: skip
    try:
        time.sleep(WARMUP_S)
        assert proc.poll() is None, (folder / "edge.log").read_text()[-3000:]
        produced0 = count(outbox, "SELECT value - 1 FROM meta WHERE name = 'next_seq'")
        cpu0, t0, threads0 = proc_cpu_s(proc.pid), time.perf_counter(), thread_cpu_s(proc.pid)
        time.sleep(duration_s)
        produced1 = count(outbox, "SELECT value - 1 FROM meta WHERE name = 'next_seq'")
        cpu1, t1, threads1 = proc_cpu_s(proc.pid), time.perf_counter(), thread_cpu_s(proc.pid)
        peak, rss_parts = proc_peak_rss_mib(proc.pid), proc_rss_parts_mib(proc.pid)
        waiting = count(outbox, "SELECT coalesce(sum(rows), 0) FROM reading_blocks")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    delivered = count(central_db, "SELECT count(*) FROM readings")
    values = produced1 - produced0
    return {
        "elapsed_s": t1 - t0,
        "values": values,
        "values_per_s": values / (t1 - t0),
        "cpu_s": cpu1 - cpu0,
        "cpu_us_per_value": (cpu1 - cpu0) / values * 1e6,
        "cpu_share": (cpu1 - cpu0) / (t1 - t0),
        "cpu_us_per_value_by_thread": {
            name: (threads1[name] - threads0.get(name, 0.0)) / values * 1e6 for name in threads1
        },
        "peak_rss_mib": peak,
        "rss_at_end_mib": rss_parts,
        "produced_through": produced1,
        "waiting_in_outbox_at_end": waiting,
        "delivered_to_central": delivered,
        "exit_status": proc.returncode,
    }


def run(duration_s: float, baseline_s: float) -> dict[str, Any]:
    slaves = Peer(
        [PYTHON, "-m", "simulator.modbus_slaves", "tcp", "--port", "0", "--endpoints", str(ENDPOINTS),
         "--units", "1", "--registers", str(REGISTERS), "--changing"],
        "listening", output=True,
    )  # fmt: skip
    try:
        endpoints = endpoints_of(slaves.output)
        base = baseline(endpoints, baseline_s)
        with tempfile.TemporaryDirectory(prefix="edge_cpu_", dir=ROOT / "bench") as tmp:
            folder = Path(tmp)
            server, url, token, db = central(folder)
            try:
                agent = run_agent(folder, agent_site(folder, endpoints, url), token, db, duration_s)
            finally:
                server.terminate()
                server.wait(timeout=30)
    finally:
        slaves.stop()
    return {"target_values_per_s": TARGET_PER_S, "baseline_bare_pymodbus": base, "agent": agent}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration-s", type=float, default=60.0)
    ap.add_argument("--baseline-s", type=float, default=20.0)
    ap.add_argument("--baseline-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_child:
        spec = json.loads(args.baseline_child)
        endpoints = [(h, int(p)) for h, p in spec["endpoints"]]
        print(json.dumps(asyncio.run(bare_poll(endpoints, spec["duration_s"]))))
        return
    load_before = load_average()
    result = run(args.duration_s, args.baseline_s)
    result["load_average"] = [load_before, load_average()]
    result["cpus"] = os.cpu_count()
    b, a = result["baseline_bare_pymodbus"], result["agent"]
    print(f"{ENDPOINTS} TCP slaves x {REGISTERS} registers every {INTERVAL_S * 1000:.0f} ms "
          f"(target {TARGET_PER_S:.0f} values/s)")  # fmt: skip
    print(f"load average before {load_before}, after {load_average()}; {os.cpu_count()} CPUs")
    header = ("case", "s", "values/s", "CPU us/value", "CPU share", "peak RSS MiB")
    print("{:<34} {:>6} {:>9} {:>13} {:>10} {:>13}".format(*header))
    for label, r in (("baseline: bare pymodbus polling", b), ("agent: fieldwatch-edge run", a)):
        share = r["cpu_s"] / r["elapsed_s"]
        print(f"{label:<34} {r['elapsed_s']:>6.1f} {r['values_per_s']:>9.1f} {r['cpu_us_per_value']:>13.2f} "
              f"{share:>10.3f} {r['peak_rss_mib']:>13.1f}")  # fmt: skip
    by_thread = sorted(a["cpu_us_per_value_by_thread"].items(), key=lambda kv: -kv[1])
    print("agent CPU us/value by thread: " + ", ".join(f"{k} {v:.2f}" for k, v in by_thread if v >= 0.05))
    parts = a["rss_at_end_mib"]
    print("agent RSS at the end, MiB: " + ", ".join(f"{k} {v:.1f}" for k, v in parts.items()))
    ratio = a["cpu_us_per_value"] / b["cpu_us_per_value"]
    print(f"agent: {a['delivered_to_central']} readings at the central, {a['waiting_in_outbox_at_end']} "
          f"waiting in the outbox at the end (produced through seq {a['produced_through']})")  # fmt: skip
    print(f"agent / baseline CPU per value: {ratio:.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
