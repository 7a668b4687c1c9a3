"""Helpers for the acquisition tests: site files with small profiles, and bounded waits.

Every peer is real: pymodbus's own servers (``simulator.modbus_slaves``), the project's RS-485 wire
between pseudo-terminals (``simulator.rs485wire``), NMEA and text written into pseudo-terminals.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.clock import Clock
from tests.support import sites as support_sites

# Every kind of point the acquisition decodes, at known addresses (zero-based).
TYPED_PROFILE = """
model: test_typed
protocol: modbus
poll_interval_ms: 50
modbus: {unit_id: 1, word_order: ABCD}
points:
  - {name: temp, address: 0, type: int16, scale: 0.1, unit: degC}
  - {name: level, address: 1, type: float32, word_order: CDAB, unit: m, physical_range: [0, 20]}
  - {name: count, address: 3, type: uint32, word_order: DCBA, unit: count}
  - {name: gas, address: 5, type: uint16, scale: 0.1, nan_value: 65535, unit: "%LEL", fault_flag: fault}
  - {name: fault, address: 6, type: bit, bit: 2}
  - {name: serial, address: 7, type: string, length_registers: 4}
  - {name: relay, register: coil, address: 0, type: bool}
"""

# Ten uint16 holding registers in one read.
BLOCK_PROFILE = """
model: test_block
protocol: modbus
poll_interval_ms: 20
points:
""" + "".join(f"  - {{name: r{i}, address: {i}, type: uint16}}\n" for i in range(10))


def write_site(folder: Path, buses: str, profiles: dict[str, str] | None = None) -> Path:
    """A site file in ``folder`` with the test profiles beside it; ``buses`` is the YAML list body."""
    return support_sites.write_site(
        folder, buses, {"test_typed": TYPED_PROFILE, "test_block": BLOCK_PROFILE, **(profiles or {})}
    )


class UnsyncedClock(Clock):
    """The gateway's clock as it is before NTP has synchronised it."""

    def synchronised(self) -> bool:
        return False


class SyncedClock(Clock):
    """A clock that reports NTP synchronisation (containers often are not)."""

    def synchronised(self) -> bool:
        return True


@pytest.fixture
def clock() -> Clock:
    return SyncedClock()
