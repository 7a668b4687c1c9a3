"""An RS-485 wire between two pseudo-terminals, with the timing and the faults of a real bus.

A pseudo-terminal pair moves bytes instantly, whatever the baud rate, so it cannot show how a Modbus RTU
master behaves on a real bus. This module makes two pseudo-terminal pairs and joins them like one
half-duplex line::

    master (edge) <-> LINK_DIR/master ==== wire ==== LINK_DIR/device <-> slave(s) (simulator)

The line model, one frame at a time (each read from a side is one frame: masters and pymodbus's server
write a frame with one ``write``):

- a frame occupies the line for its serialisation time, ``bytes x bits_per_char / baud``, and is
  delivered to the other side when its last byte has arrived;
- the line then stays silent for t3.5 (3.5 character times up to 19200 baud, 1.75 ms above: Modbus over
  serial line, 2.5.1.1); a frame written earlier waits for the line;
- a slave's answer starts no sooner than ``turnaround_s`` after that silence (its processing time);
- requests to ``dead_units`` occupy the line and are never delivered (a dead slave never answers);
- ``corrupt_rate`` flips one bit in that share of answers (the master sees a CRC error), ``drop_rate``
  loses that share of answers whole; ``corrupt_next``/``drop_next`` do it deterministically for tests,
  and ``truncate_next`` cuts answers short (a frame that never completes).

One thread runs the line (a half-duplex bus carries one frame at a time, so one thread is the model).
It sleeps until a frame is due and spins the last fraction of a millisecond, so delivery is accurate to
tens of microseconds on an idle machine; ``statistics()["late_max_us"]`` says how late it ever was.

Importable (``Rs485Wire(...).start()`` / ``.stop()``, or ``with Rs485Wire(...) as wire``) and runnable::

    python -m simulator.rs485wire --link-dir /tmp/bus1 --baud 19200 --framing 8E1 --turnaround-ms 5 \
        --dead-units 9
    python -m simulator.rs485wire --theory 20 --baud 9600 --framing 8N1 --turnaround-ms 5

The command line takes the same options as the independent ``shared/tools/serial_wire.py`` (``--bits``
works as well as ``--framing``), so a benchmark can run against either.

Over 400 lines because the line model is one state machine (``Rs485Wire``), with its program
(``python -m simulator.rs485wire``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import select
import signal
import sys
import threading
import time
import tty
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

SPIN_S = 300e-6  # sleep until this close to a deadline, then spin: sleep() overshoots by ~50-100 us
POLL_S = 0.05  # how often the line thread looks at the stop flag when idle
MAX_FRAME_BYTES = 4096


def char_time_s(baud: int, bits_per_char: int) -> float:
    return bits_per_char / baud


def silence_s(baud: int, bits_per_char: int) -> float:
    """t3.5: 3.5 character times, fixed at 1.75 ms above 19200 baud (Modbus over serial line 2.5.1.1)."""
    return 3.5 * char_time_s(baud, bits_per_char) if baud <= 19200 else 1.75e-3


def transaction_s(baud: int, bits_per_char: int, registers: int, turnaround_s: float = 0.0) -> float:
    """One read of ``registers`` registers: 8-byte request, (5 + 2N)-byte answer, t3.5 after each."""
    ch = char_time_s(baud, bits_per_char)
    t35 = silence_s(baud, bits_per_char)
    return 8 * ch + t35 + turnaround_s + (5 + 2 * registers) * ch + t35


def bits_of_framing(framing: str) -> int:
    """``8E1`` -> 11: start bit + data bits + parity bit + stop bits."""
    if len(framing) != 3 or framing[0] not in "78" or framing[1] not in "NEO" or framing[2] not in "12":
        raise ValueError(f"framing is data bits, parity, stop bits, like 8N1 or 8E1 (got {framing!r})")
    return 1 + int(framing[0]) + (0 if framing[1] == "N" else 1) + int(framing[2])


@dataclass(frozen=True)
class WireSettings:
    baud: int = 19200
    bits_per_char: int = 11
    turnaround_s: float = 0.0
    dead_units: frozenset[int] = frozenset()
    corrupt_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.baud <= 0 or not 7 <= self.bits_per_char <= 12:
            raise ValueError(f"need baud > 0 and 7-12 bits per char (got {self.baud}, {self.bits_per_char})")
        if not (0 <= self.corrupt_rate <= 1 and 0 <= self.drop_rate <= 1 and self.turnaround_s >= 0):
            raise ValueError("corrupt_rate and drop_rate are shares 0-1; turnaround_s is >= 0")


@dataclass
class _Counters:
    requests: int = 0
    answers: int = 0
    delivered_requests: int = 0
    delivered_answers: int = 0
    swallowed_dead: int = 0
    corrupted: int = 0
    truncated: int = 0
    dropped: int = 0
    collisions: int = 0  # a frame written while the other side's frame still held the line
    request_bytes: int = 0
    answer_bytes: int = 0
    busy_s: float = 0.0
    master_idle_s: float = 0.0  # line idle because the master sent later than the line allowed
    slave_idle_s: float = 0.0  # line idle because a slave answered later than its turnaround
    late_max_us: float = 0.0
    by_unit: dict[int, int] = field(default_factory=dict)


class _Pty:
    """One pseudo-terminal pair: the wire holds the master end; ``link`` points at the slave end."""

    def __init__(self, link: Path) -> None:
        self.master_fd, self.slave_fd = os.openpty()
        for fd in (self.master_fd, self.slave_fd):
            tty.setraw(fd)  # no echo, no line discipline
        os.set_blocking(self.master_fd, False)
        self.link = link
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(os.ttyname(self.slave_fd))
        # The wire keeps the slave end open, so the master end never reads a hang-up while the simulator
        # or the edge reopens the port.

    def read_frame(self) -> bytes:
        chunks = []
        while True:
            try:
                chunk = os.read(self.master_fd, MAX_FRAME_BYTES)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # nobody listening: the bytes are lost, as on a real line
            os.write(self.master_fd, data)

    def close(self) -> None:
        for fd in (self.master_fd, self.slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()


class Rs485Wire:
    """A half-duplex RS-485 line between ``master_path`` and ``device_path`` (see the module docstring)."""

    def __init__(self, link_dir: str | Path, settings: WireSettings | None = None) -> None:
        self.link_dir = Path(link_dir)
        self.settings = settings or WireSettings()
        s = self.settings
        self._char_s = char_time_s(s.baud, s.bits_per_char)
        self._t35_s = silence_s(s.baud, s.bits_per_char)
        self._rng = random.Random(s.seed)
        self._lock = threading.Lock()
        self._dead = set(s.dead_units)
        self._corrupt_next = 0
        self._drop_next = 0
        self._truncate_next = 0
        self._counters = _Counters()
        self._line_free_at = 0.0
        self._last_from_master = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: _Pty | None = None
        self._device: _Pty | None = None
        self._started_at = 0.0

    @property
    def master_path(self) -> str:
        return str(self.link_dir / "master")

    @property
    def device_path(self) -> str:
        return str(self.link_dir / "device")

    # ------------------------------------------------------------------ control

    def start(self) -> Rs485Wire:
        if self._thread is not None:
            raise RuntimeError("the wire is already running")
        self.link_dir.mkdir(parents=True, exist_ok=True)
        self._master = _Pty(Path(self.master_path))
        self._device = _Pty(Path(self.device_path))
        self._stop.clear()
        self._started_at = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name=f"rs485wire {self.link_dir}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        for side in (self._master, self._device):
            if side is not None:
                side.close()
        self._master = self._device = None

    def __enter__(self) -> Rs485Wire:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def set_dead(self, units: set[int] | frozenset[int]) -> None:
        """From now on, requests to these unit ids are never answered (and others are)."""
        with self._lock:
            self._dead = set(units)

    def corrupt_next(self, answers: int = 1) -> None:
        """Flip one bit in each of the next ``answers`` answers."""
        with self._lock:
            self._corrupt_next += answers

    def drop_next(self, answers: int = 1) -> None:
        """Lose the next ``answers`` answers whole."""
        with self._lock:
            self._drop_next += answers

    def truncate_next(self, answers: int = 1) -> None:
        """Deliver only the first half of each of the next ``answers`` answers."""
        with self._lock:
            self._truncate_next += answers

    def statistics(self) -> dict[str, Any]:
        with self._lock:
            stats = asdict(self._counters)
            booked_until = max(time.perf_counter(), self._line_free_at)  # busy_s includes booked line time
        elapsed = booked_until - self._started_at if self._started_at else 0.0
        by_unit = stats.pop("by_unit")
        for key in ("busy_s", "master_idle_s", "slave_idle_s"):
            stats[key] = round(stats[key], 6)
        stats["late_max_us"] = round(stats["late_max_us"], 1)
        stats["utilisation"] = round(stats["busy_s"] / elapsed, 4) if elapsed > 0 else 0.0
        stats["requests_by_unit"] = dict(sorted(by_unit.items()))
        return stats

    # ------------------------------------------------------------------ the line

    def _run(self) -> None:
        assert self._master is not None
        assert self._device is not None
        master, device = self._master, self._device
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master.master_fd, device.master_fd], [], [], POLL_S)
            except (OSError, ValueError):
                return
            for fd in ready:
                from_master = fd == master.master_fd
                src, dst = (master, device) if from_master else (device, master)
                frame = src.read_frame()
                if frame:
                    self._carry(frame, from_master, dst)

    def _carry(self, frame: bytes, from_master: bool, dst: _Pty) -> None:
        """Hold ``frame`` on the line for its serialisation time, then deliver it (or not)."""
        now = time.perf_counter()
        with self._lock:
            c = self._counters
            direction_changed = from_master != self._last_from_master
            self._last_from_master = from_master
            extra_s = self.settings.turnaround_s if not from_master else 0.0
            if direction_changed and now < self._line_free_at - self._t35_s:
                c.collisions += 1  # written while the other side's frame was still on the line
            start = max(now, self._line_free_at + extra_s)
            if direction_changed and self._line_free_at > 0:
                idle_s = max(0.0, now - (self._line_free_at + extra_s))
                if from_master:
                    c.master_idle_s += idle_s
                else:
                    c.slave_idle_s += idle_s
            on_line_s = len(frame) * self._char_s
            done = start + on_line_s
            self._line_free_at = done + self._t35_s
            c.busy_s += on_line_s + self._t35_s
            out = self._fault(frame, from_master, c)
        self._wait_until(done)
        if out is not None:
            with self._lock:  # counted before the write: a reader that got the frame sees it counted
                if from_master:
                    c.delivered_requests += 1
                else:
                    c.delivered_answers += 1
            dst.write(out)

    def _fault(self, frame: bytes, from_master: bool, c: _Counters) -> bytes | None:
        """The frame as it reaches the other side, or None when it never does (called under the lock)."""
        if from_master:
            c.requests += 1
            c.request_bytes += len(frame)
            unit = frame[0]
            c.by_unit[unit] = c.by_unit.get(unit, 0) + 1
            if unit in self._dead:
                c.swallowed_dead += 1
                return None
            return frame
        c.answers += 1
        c.answer_bytes += len(frame)
        if self._drop_next > 0 or self._rng.random() < self.settings.drop_rate:
            self._drop_next = max(0, self._drop_next - 1)
            c.dropped += 1
            return None
        if self._truncate_next > 0:
            self._truncate_next -= 1
            c.truncated += 1
            return frame[: len(frame) // 2]
        if self._corrupt_next > 0 or self._rng.random() < self.settings.corrupt_rate:
            self._corrupt_next = max(0, self._corrupt_next - 1)
            c.corrupted += 1
            i = self._rng.randrange(len(frame))
            return frame[:i] + bytes([frame[i] ^ (1 << self._rng.randrange(8))]) + frame[i + 1 :]
        return frame

    def _wait_until(self, deadline: float) -> None:
        left = deadline - time.perf_counter()
        if left > SPIN_S:
            time.sleep(left - SPIN_S)
        while (now := time.perf_counter()) < deadline:
            pass
        late_us = (now - deadline) * 1e6
        self._counters.late_max_us = max(self._counters.late_max_us, late_us)


# ---------------------------------------------------------------------- command line


def _parse_units(text: str) -> frozenset[int]:
    return frozenset(int(u) for u in text.split(",") if u.strip())


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m simulator.rs485wire", description="an RS-485 line between two pseudo-terminals"
    )
    ap.add_argument("--link-dir", help="folder for the two links: master and device")
    ap.add_argument("--baud", type=int, default=19200)
    ap.add_argument("--framing", help="data bits, parity, stop bits: 8N1, 8E1, 8N2 ... (sets --bits)")
    ap.add_argument("--bits", type=int, default=None, help="bits per character (10 for 8N1, 11 for 8E1)")
    ap.add_argument("--turnaround-ms", type=float, default=0.0, help="slave time before it answers")
    ap.add_argument("--dead-units", default="", help="comma-separated unit ids that never answer")
    ap.add_argument("--corrupt-rate", type=float, default=0.0, help="share of answers with one bit flipped")
    ap.add_argument("--drop-rate", type=float, default=0.0, help="share of answers lost")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stats-s", type=float, default=0.0, help="print statistics every this many seconds")
    ap.add_argument("--theory", type=int, metavar="N", help="print the theoretical rate for N registers")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    bits = bits_of_framing(args.framing) if args.framing else (args.bits or 10)
    if args.theory is not None:
        t = transaction_s(args.baud, bits, args.theory, args.turnaround_ms / 1e3)
        print(
            f"{1 / t:.2f} transactions/s, {args.theory / t:.1f} registers/s "
            f"({t * 1e3:.3f} ms per transaction)"
        )
        return 0
    if not args.link_dir:
        ap.error("--link-dir is required")
    settings = WireSettings(
        baud=args.baud,
        bits_per_char=bits,
        turnaround_s=args.turnaround_ms / 1e3,
        dead_units=_parse_units(args.dead_units),
        corrupt_rate=args.corrupt_rate,
        drop_rate=args.drop_rate,
        seed=args.seed,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Rs485Wire(args.link_dir, settings) as wire:
        print(f"wire up: {wire.master_path} <-> {wire.device_path} at {args.baud} baud", flush=True)
        while not stop.wait(args.stats_s or 3600):
            if args.stats_s:
                print(_stats_line(wire), file=sys.stderr, flush=True)
        print(_stats_line(wire), file=sys.stderr, flush=True)
    return 0


def _stats_line(wire: Rs485Wire) -> str:
    return " ".join(f"{k}={v}" for k, v in wire.statistics().items())


if __name__ == "__main__":
    sys.exit(main())
