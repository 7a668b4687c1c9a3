"""RTU bus timing: hand-computed vectors, the t3.5 boundary at 19200 baud, bit kinds, bus load, errors,
and agreement with the independent wire emulator in ``shared/tools/serial_wire.py``."""

from __future__ import annotations

import importlib.util
import itertools
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from protocols.bustiming import (
    bus_load,
    char_time_s,
    max_transactions_per_s,
    request_bytes,
    response_bytes,
    silence_s,
    transaction_s,
)
from protocols.errors import LocalProtocolError
from protocols.planner import PointSlot, ReadRequest, plan

SERIAL_WIRE = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "serial_wire.py"
MS = 1e-3
BAD_KIND: Any = "register"


def test_9600_8n1_twenty_registers_by_hand() -> None:
    # one character: 10 bits / 9600 baud = 1.0417 ms
    assert char_time_s(9600, 10) == pytest.approx(1.041_667 * MS, rel=1e-6)
    assert request_bytes("holding") * char_time_s(9600, 10) == pytest.approx(8.333_333 * MS, rel=1e-6)
    assert response_bytes("holding", 20) == 45
    assert 45 * char_time_s(9600, 10) == pytest.approx(46.875 * MS)
    assert silence_s(9600, 10) == pytest.approx(3.645_833 * MS, rel=1e-6)
    # 8.333 + 3.646 + 46.875 + 3.646 = 62.5 ms: 60 characters in all
    assert transaction_s(9600, 10, "holding", 20) == pytest.approx(62.5 * MS)
    assert max_transactions_per_s(9600, 10, "holding", 20) == pytest.approx(16.0)


VECTORS: list[Any] = [
    # baud, bits, kind, count, turnaround_s, expected ms
    pytest.param(9600, 10, "holding", 20, 0.0, 62.5, id="9600 8N1 20 registers"),
    pytest.param(9600, 10, "input", 20, 0.0, 62.5, id="input registers cost the same"),
    pytest.param(9600, 10, "holding", 20, 5 * MS, 67.5, id="turnaround adds once"),
    pytest.param(9600, 11, "holding", 1, 0.0, (8 + 7 + 7) * 11 / 9.6, id="9600 8E1 one register"),
    pytest.param(19200, 11, "holding", 2, 0.0, (8 + 9 + 7) * 11 / 19.2, id="19200 8E1 float32: 3.5 chars"),
    pytest.param(38400, 11, "holding", 2, 0.0, 17 * 11 / 38.4 + 3.5, id="38400 8E1: fixed 1.75 ms silences"),
    pytest.param(115200, 10, "holding", 125, 0.0, 263 * 10 / 115.2 + 3.5, id="115200 8N1 full read"),
    pytest.param(19200, 11, "coil", 16, 0.0, (8 + 7 + 7) * 11 / 19.2, id="16 coils are 2 data bytes"),
    pytest.param(19200, 11, "discrete", 17, 0.0, (8 + 8 + 7) * 11 / 19.2, id="17 inputs are 3 data bytes"),
    pytest.param(9600, 10, "coil", 2000, 0.0, (8 + 255 + 7) * 10 / 9.6, id="2000 coils"),
]


@pytest.mark.parametrize(("baud", "bits", "kind", "count", "turnaround_s", "expected_ms"), VECTORS)
def test_transaction_vectors(
    baud: int, bits: int, kind: Any, count: int, turnaround_s: float, expected_ms: float
) -> None:
    assert transaction_s(baud, bits, kind, count, turnaround_s) == pytest.approx(expected_ms * MS)
    assert max_transactions_per_s(baud, bits, kind, count, turnaround_s) == pytest.approx(
        1 / (expected_ms * MS)
    )


@pytest.mark.parametrize(
    ("baud", "bits", "expected_ms"),
    [
        (1200, 11, 3.5 * 11 / 1.2),
        (9600, 11, 4.010_417),
        (19200, 11, 2.005_208),  # the last rate with a silence of 3.5 characters
        (19200, 10, 1.822_917),
        (19201, 11, 1.75),  # above 19200 the silence is fixed
        (38400, 11, 1.75),
        (115200, 10, 1.75),
        (230400, 12, 1.75),
    ],
)
def test_silence_boundary_at_19200(baud: int, bits: int, expected_ms: float) -> None:
    assert silence_s(baud, bits) == pytest.approx(expected_ms * MS, rel=1e-6)


@pytest.mark.parametrize(
    ("kind", "count", "expected"),
    [
        ("holding", 1, 7),
        ("input", 125, 255),
        ("coil", 1, 6),
        ("coil", 8, 6),
        ("coil", 9, 7),
        ("discrete", 16, 7),
        ("discrete", 2000, 255),
    ],
)
def test_response_bytes(kind: Any, count: int, expected: int) -> None:
    assert response_bytes(kind, count) == expected
    assert request_bytes(kind) == 8


def test_bus_load_sums_each_request_over_its_interval() -> None:
    requests = [
        ReadRequest(1, "holding", 0, 20, 1000, ()),  # 62.5 ms each second
        ReadRequest(2, "coil", 0, 16, 500, ()),  # (8 + 7) x 1.0417 + 2 x 3.6458 = 22.917 ms twice a second
    ]
    assert bus_load(requests, 9600, 10) == pytest.approx(0.0625 + 2 * 22.916_667 * MS, rel=1e-6)
    with_turnaround = bus_load(requests, 9600, 10, turnaround_s=10 * MS)
    assert with_turnaround == pytest.approx(bus_load(requests, 9600, 10) + 0.010 + 0.020)
    assert bus_load([], 9600, 10) == 0.0


def test_bus_load_of_a_plan_can_exceed_the_line() -> None:
    slots = [PointSlot("block", "holding", 0, 125, 100)]
    requests = plan(1, slots)
    assert bus_load(requests, 9600, 10) == pytest.approx(2.8125)  # 281.25 ms of line every 100 ms
    assert bus_load(requests, 115200, 10) == pytest.approx(0.263_299, rel=1e-5)


ERRORS: list[Any] = [
    pytest.param(lambda: char_time_s(0, 10), "baud must be > 0", id="no baud"),
    pytest.param(lambda: silence_s(38400, 8), "bits_per_char counts start, data", id="8 bits a char"),
    pytest.param(lambda: char_time_s(9600, 13), "9-12 (got 13)", id="13 bits a char"),
    pytest.param(lambda: response_bytes("holding", 0), "1-125 registers (got 0)", id="no registers"),
    pytest.param(lambda: response_bytes("input", 126), "1-125 registers (got 126)", id="126 registers"),
    pytest.param(lambda: response_bytes("coil", 2001), "1-2000 bits (got 2001)", id="2001 coils"),
    pytest.param(lambda: request_bytes(BAD_KIND), "unknown register kind 'register'", id="bad kind"),
    pytest.param(lambda: transaction_s(9600, 10, "holding", 1, -0.001), "turnaround_s", id="negative pause"),
    pytest.param(
        lambda: bus_load([ReadRequest(1, "holding", 0, 1, 0, ())], 9600, 10), "poll_interval_ms", id="no rate"
    ),
]


@pytest.mark.parametrize(("call", "message"), ERRORS)
def test_errors(call: Any, message: str) -> None:
    with pytest.raises(LocalProtocolError, match=re.escape(message)):
        call()


def serial_wire() -> ModuleType:
    if not SERIAL_WIRE.exists():
        pytest.skip(f"the shared wire emulator is not at {SERIAL_WIRE} (it lives beside the project in CI)")
    spec = importlib.util.spec_from_file_location("serial_wire", SERIAL_WIRE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_agrees_with_the_wire_emulator() -> None:
    wire = serial_wire()
    bauds = (1200, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
    for baud, bits, registers, turnaround_s in itertools.product(
        bauds, (10, 11), (1, 2, 20, 125), (0.0, 0.004)
    ):
        ours = transaction_s(baud, bits, "holding", registers, turnaround_s)
        theirs = wire.transaction_s(baud, bits, registers, turnaround_s)
        assert ours == pytest.approx(theirs, rel=1e-12), (baud, bits, registers, turnaround_s)
        assert silence_s(baud, bits) == pytest.approx(wire.silence_s(baud, bits), rel=1e-12)
