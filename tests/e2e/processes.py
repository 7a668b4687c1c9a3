"""The real parts of the end-to-end tests, each a process of its own: Modbus slaves, the central, the edge.

``Service`` starts a command with its output in a log file, waits (bounded) until ``ready()`` says so,
and stops it with SIGTERM (a clean stop) or SIGKILL (a crash). Every wait has a deadline, and a failure
shows the tail of the log.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.support.ports import port_open

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CENTRAL = [PYTHON, "-c", "import sys; from central.cli import main; sys.exit(main(sys.argv[1:]))"]
EDGE = [PYTHON, "-c", "import sys; from edge.cli import main; sys.exit(main(sys.argv[1:]))"]
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0


class Service:
    def __init__(
        self, name: str, args: list[str], log_dir: Path, *, env: Mapping[str, str] | None = None,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:  # fmt: skip
        self.name = name
        self.args = args
        self.log_path = log_dir / f"{name}.log"
        self.env = {**os.environ, "PYTHONFAULTHANDLER": "1", **(env or {})}
        self.ready = ready
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is already running"
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {self.starts + 1}: {' '.join(self.args)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{self.name} did not become ready:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM and wait: the process's own clean stop. Returns its exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack into the log
            self.proc.wait(timeout=STOP_TIMEOUT_S)
            raise AssertionError(f"{self.name} did not stop on SIGTERM:\n{self.log_tail(12000)}") from None

    def kill(self) -> None:
        """SIGKILL: a crash, a power cut of the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT_S)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def slaves(log_dir: Path, port: int, units: str, registers: int) -> Service:
    """A Modbus TCP server whose registers move by one at every read (``simulator.modbus_slaves``)."""
    args = [PYTHON, "-m", "simulator.modbus_slaves", "tcp", "--port", str(port), "--units", units,
            "--registers", str(registers), "--changing"]  # fmt: skip
    return Service("slaves", args, log_dir, ready=lambda: port_open(port))


def central(
    log_dir: Path, db: Path, port: int, *, mqtt: str | None = None, env: Mapping[str, str] | None = None
) -> Service:
    args = [*CENTRAL, "serve", "--database", f"sqlite:///{db}", "--port", str(port)]
    if mqtt:
        args += ["--mqtt", mqtt]

    def healthy() -> bool:
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)
        except httpx.HTTPError:
            return False
        return r.status_code == 200 and (mqtt is None or r.json().get("mqtt") == "connected")

    return Service("central", args, log_dir, env=env, ready=healthy)


def gateway_token(db: Path, gateway: str) -> str:
    done = subprocess.run(
        [*CENTRAL, "token", "create", "--role", "gateway", "--gateway", gateway,
         "--database", f"sqlite:///{db}"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout.strip()


def edge(
    log_dir: Path,
    site: Path,
    outbox: Path,
    *,
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Service:
    """``fieldwatch-edge run [args]``; ready once it has opened its outbox for this start (``boots``
    counted: a new outbox file needs a new ``Service``)."""
    service: Service

    def started() -> bool:
        return int(outbox_meta(outbox).get("boots", 0)) >= service.starts

    service = Service("edge", [*EDGE, "-v", "run", *args, str(site)], log_dir, env=env, ready=started)
    return service


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        conn.close()


def outbox_meta(outbox: Path) -> dict[str, Any]:
    return dict(query(outbox, "SELECT name, value FROM meta"))
