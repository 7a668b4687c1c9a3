"""The demo's child processes: each in its own session, with its own log, stopped in order.

A child runs in a new session, so Ctrl-C in the terminal reaches only the demo, which then stops
everything in the right order (gateways before the central they report to). Each child also asks the
kernel for SIGTERM when the demo dies (``PR_SET_PDEATHSIG``), so a killed demo leaves no orphans. Its
stderr (and stdout, unless the demo reads it) goes to ``log_path``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT_S = 20.0


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        read_stdout: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.read_stdout = read_stdout
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if self.read_stdout else log,
                stderr=log,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only prctl between fork and exec: no locks touched
            )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    async def lines(self) -> AsyncIterator[str]:
        """The child's stdout, line by line, until it closes (``read_stdout=True`` only)."""
        assert self.proc is not None
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            yield line.decode(errors="replace").rstrip("\n")

    def signal(self, sig: int) -> None:
        if self.running and self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: the power cut of a gateway (nothing flushed, nothing saved)."""
        self.signal(signal.SIGKILL)

    async def wait(self) -> int | None:
        if self.proc is None:
            return None
        return await self.proc.wait()

    async def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout_s``; the exit status (negative: the killing signal)."""
        if self.proc is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            self.kill()
            return await self.proc.wait()


async def run_once(
    argv: Sequence[str],
    *,
    timeout_s: float = 60.0,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
) -> str:
    """Run a command to its end and return its stdout; RuntimeError with its stderr when it fails.
    ``stdin_text``: what it reads on stdin (a password: never an argument)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL if stdin_text is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    try:
        given = None if stdin_text is None else stdin_text.encode()
        out, err = await asyncio.wait_for(proc.communicate(given), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"{' '.join(argv[:3])}: no answer in {timeout_s:g} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed ({proc.returncode}): {err.decode().strip()[-800:]}")
    return out.decode()
