"""The project's RS-485 wire: timing model, faults and statistics, through its two pseudo-terminals.

The delivery checks are lower bounds (a frame never arrives before its line time); the wire guarantees
them whatever the machine's load, so they are not speed measurements (those live in bench/bus_rate.py).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocols import bustiming
from simulator import rs485wire
from simulator.rs485wire import Rs485Wire, WireSettings

REQUEST = bytes([5, 3, 0, 0, 0, 2, 0xC5, 0x8F])  # unit 5, read 2 holding registers from 0


class End:
    """One side of the wire, opened raw like a serial port."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)

    def send(self, data: bytes) -> float:
        os.write(self.fd, data)
        return time.perf_counter()

    def receive(self, timeout_s: float = 5.0) -> tuple[bytes, float]:
        ready, _, _ = select.select([self.fd], [], [], timeout_s)
        if not ready:
            return b"", time.perf_counter()
        return os.read(self.fd, 4096), time.perf_counter()

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def line(tmp_path: Path) -> Iterator[tuple[Rs485Wire, End, End]]:
    settings = WireSettings(baud=9600, bits_per_char=10, turnaround_s=0.005, dead_units=frozenset({9}))
    with Rs485Wire(tmp_path / "bus", settings) as wire:
        master, device = End(wire.master_path), End(wire.device_path)
        yield wire, master, device
        master.close()
        device.close()


@pytest.mark.parametrize(
    ("baud", "framing"), [(9600, "8N1"), (19200, "8E1"), (115200, "8N1"), (38400, "8N2")]
)
@pytest.mark.parametrize("registers", [1, 20, 125])
def test_theory_matches_the_project_bus_timing(baud: int, framing: str, registers: int) -> None:
    bits = rs485wire.bits_of_framing(framing)
    assert bits == (10 if framing == "8N1" else 11)
    assert rs485wire.transaction_s(baud, bits, registers, 0.005) == pytest.approx(
        bustiming.transaction_s(baud, bits, "holding", registers, 0.005), rel=1e-12
    )


def test_frames_take_their_line_time_and_answers_wait_for_the_turnaround(line) -> None:
    wire, master, device = line
    sent = master.send(REQUEST)
    request, arrived = device.receive()
    assert request == REQUEST
    char_s = 10 / 9600
    assert arrived - sent >= len(REQUEST) * char_s  # 8.3 ms at 9600 8N1
    answer = bytes([5, 3, 4, 0, 1, 0, 2, 0x2A, 0x32])
    device.send(answer)
    got, answered = master.receive()
    assert got == answer
    # request, t3.5, turnaround, answer: the master never hears back sooner
    assert answered - sent >= (len(REQUEST) + len(answer)) * char_s + 3.5 * char_s + 0.005
    stats = wire.statistics()
    assert (stats["requests"], stats["answers"], stats["delivered_answers"]) == (1, 1, 1)
    assert stats["requests_by_unit"] == {5: 1}
    assert stats["busy_s"] == pytest.approx((8 + 9) * char_s + 2 * 3.5 * char_s)


def test_a_dead_unit_never_hears_its_requests(line) -> None:
    wire, master, device = line
    master.send(bytes([9]) + REQUEST[1:])
    assert device.receive(timeout_s=0.2)[0] == b""
    wire.set_dead(set())
    master.send(bytes([9]) + REQUEST[1:])
    assert device.receive()[0][:1] == b"\x09"
    assert wire.statistics()["swallowed_dead"] == 1


def test_corrupted_dropped_and_truncated_answers(line) -> None:
    wire, master, device = line
    answer = bytes([5, 3, 4, 0, 1, 0, 2, 0x2A, 0x32])
    wire.corrupt_next(1)
    master.send(REQUEST)
    device.receive()
    device.send(answer)
    got, _ = master.receive()
    assert len(got) == len(answer)
    assert sum(bin(a ^ b).count("1") for a, b in zip(got, answer, strict=True)) == 1  # one bit flipped
    wire.drop_next(1)
    master.send(REQUEST)
    device.receive()
    device.send(answer)
    assert master.receive(timeout_s=0.2)[0] == b""
    wire.truncate_next(1)
    master.send(REQUEST)
    device.receive()
    device.send(answer)
    assert master.receive()[0] == answer[:4]
    stats = wire.statistics()
    assert (stats["corrupted"], stats["dropped"], stats["truncated"]) == (1, 1, 1)


def test_random_faults_follow_their_rates_reproducibly(tmp_path: Path) -> None:
    def run(seed: int) -> tuple[int, int]:
        settings = WireSettings(baud=115200, bits_per_char=10, corrupt_rate=0.3, drop_rate=0.2, seed=seed)
        with Rs485Wire(tmp_path / f"bus{seed}", settings) as wire:
            master, device = End(wire.master_path), End(wire.device_path)
            try:
                for _ in range(40):
                    master.send(REQUEST)
                    device.receive()
                    device.send(bytes([5, 3, 2, 0, 1, 0x49, 0x84]))
                    master.receive(timeout_s=0.05)
            finally:
                master.close()
                device.close()
            stats = wire.statistics()
        return stats["corrupted"], stats["dropped"]

    first = run(11)
    assert first == run(11)
    corrupted, dropped = first
    assert 3 <= dropped <= 16 and 4 <= corrupted <= 22


@pytest.mark.slow
def test_the_command_line_prints_the_theory_like_the_shared_tool() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "simulator.rs485wire", "--theory", "20", "--baud", "19200", "--framing", "8E1",
         "--turnaround-ms", "5"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    expected = 1 / bustiming.transaction_s(19200, 11, "holding", 20, 0.005)
    assert out.startswith(f"{expected:.2f} transactions/s")


@pytest.mark.slow
def test_the_command_line_runs_a_wire_until_terminated(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator.rs485wire", "--link-dir", str(tmp_path / "bus"), "--baud", "9600",
         "--bits", "10", "--dead-units", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("wire up:")
        master, device = End(str(tmp_path / "bus" / "master")), End(str(tmp_path / "bus" / "device"))
        master.send(REQUEST)
        assert device.receive()[0] == REQUEST
        master.close()
        device.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "requests=1 " in err and "delivered_requests=1 " in err
    assert not (tmp_path / "bus" / "master").exists()
