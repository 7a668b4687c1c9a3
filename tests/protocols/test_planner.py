"""The read planner: table rows (input slots, limits, expected requests), errors and the device adapter.
The hypothesis properties and the brute-force reference are in ``test_planner_properties.py``."""

from __future__ import annotations

from typing import Any

import pytest

from protocols.config import BoundDevice
from protocols.errors import LocalProtocolError
from protocols.planner import PlannedPoint, PointSlot, ReadRequest, plan, plan_device
from protocols.profile import ModbusProfile, NmeaProfile
from protocols.site import Device, RtuBus, SerialLineBus

# ---------------------------------------------------------------- helpers for the table


def H(name: str, address: int, count: int = 1, ms: int = 1000) -> PointSlot:
    return PointSlot(name, "holding", address, count, ms)


def I(name: str, address: int, count: int = 1, ms: int = 1000) -> PointSlot:  # noqa: E743
    return PointSlot(name, "input", address, count, ms)


def C(name: str, address: int, ms: int = 1000) -> PointSlot:
    return PointSlot(name, "coil", address, 1, ms)


def D(name: str, address: int, ms: int = 1000) -> PointSlot:
    return PointSlot(name, "discrete", address, 1, ms)


Summary = tuple[int, str, int, int, str]


def R(kind: str, address: int, count: int, points: str, ms: int = 1000) -> Summary:
    """An expected request: ``points`` is ``"name@offset ..."`` in the request's point order."""
    return (ms, kind, address, count, points)


def summary(r: ReadRequest) -> Summary:
    return (
        r.poll_interval_ms,
        r.kind,
        r.address,
        r.count,
        " ".join(f"{p.name}@{p.offset}" for p in r.points),
    )


TABLE: list[Any] = [
    pytest.param([], {}, [], id="no points, no requests"),
    pytest.param([H("a", 0)], {}, [R("holding", 0, 1, "a@0")], id="one register"),
    pytest.param([H("a", 100, 2)], {}, [R("holding", 100, 2, "a@0")], id="one float32"),
    pytest.param(
        [H("a", 0, 2), H("b", 2, 2)], {}, [R("holding", 0, 4, "a@0 b@2")], id="contiguous points merge"
    ),
    pytest.param(
        [H("b", 2, 2), H("a", 0, 2)], {}, [R("holding", 0, 4, "a@0 b@2")], id="input order does not matter"
    ),
    pytest.param(
        [H("a", 0), H("b", 9)], {}, [R("holding", 0, 10, "a@0 b@9")], id="gap of 8 (the default) merges"
    ),
    pytest.param(
        [H("a", 0), H("b", 10)],
        {},
        [R("holding", 0, 1, "a@0"), R("holding", 10, 1, "b@0")],
        id="gap of 9 splits",
    ),
    pytest.param(
        [H("a", 0), H("b", 1), H("c", 3)],
        {"max_gap_registers": 0},
        [R("holding", 0, 2, "a@0 b@1"), R("holding", 3, 1, "c@0")],
        id="gap 0: only touching points merge",
    ),
    pytest.param(
        [H(f"p{a}", a) for a in (1, 2, 3, 5, 6, 10, 11, 12, 14)],
        {"max_gap_registers": 0},
        [
            R("holding", 1, 3, "p1@0 p2@1 p3@2"),
            R("holding", 5, 2, "p5@0 p6@1"),
            R("holding", 10, 3, "p10@0 p11@1 p12@2"),
            R("holding", 14, 1, "p14@0"),
        ],
        id="telegraf's consecutive chunks",
    ),
    pytest.param(
        [H(f"p{a}", a) for a in (1, 2, 3, 5, 6, 10, 11, 12, 14)],
        {"max_gap_registers": 1},
        [R("holding", 1, 6, "p1@0 p2@1 p3@2 p5@4 p6@5"), R("holding", 10, 5, "p10@0 p11@1 p12@2 p14@4")],
        id="gap 1 bridges single holes only",
    ),
    pytest.param(
        [H("a", 0, 62), H("b", 62, 63)],
        {},
        [R("holding", 0, 125, "a@0 b@62")],
        id="exactly 125 registers is one read",
    ),
    pytest.param(
        [H("a", 0, 62), H("b", 62, 64)],
        {},
        [R("holding", 0, 62, "a@0"), R("holding", 62, 64, "b@0")],
        id="126 registers is two reads",
    ),
    pytest.param(
        [H("a", 0, 60), H("b", 65, 60)],
        {},
        [R("holding", 0, 125, "a@0 b@65")],
        id="the gap counts toward the limit, at the limit",
    ),
    pytest.param(
        [H("a", 0, 60), H("b", 66, 60)],
        {},
        [R("holding", 0, 60, "a@0"), R("holding", 66, 60, "b@0")],
        id="the gap counts toward the limit, one past",
    ),
    pytest.param([H("a", 0, 125)], {}, [R("holding", 0, 125, "a@0")], id="a point as large as the limit"),
    pytest.param(
        [H(f"p{i}", i) for i in range(7)],
        {"max_registers_per_read": 3},
        [
            R("holding", 0, 3, "p0@0 p1@1 p2@2"),
            R("holding", 3, 3, "p3@0 p4@1 p5@2"),
            R("holding", 6, 1, "p6@0"),
        ],
        id="a small device limit cuts greedily",
    ),
    pytest.param(
        [H("a", 0), H("b", 1), H("c", 2)],
        {"max_registers_per_read": 1},
        [R("holding", 0, 1, "a@0"), R("holding", 1, 1, "b@0"), R("holding", 2, 1, "c@0")],
        id="limit 1: one register per read",
    ),
    pytest.param(
        [H("a", 0, 2), H("b", 2, 4), H("c", 6, 1)],
        {"max_registers_per_read": 4},
        [R("holding", 0, 2, "a@0"), R("holding", 2, 4, "b@0"), R("holding", 6, 1, "c@0")],
        id="a point is never split across reads",
    ),
    pytest.param(
        [H("alarm", 10, 1), H("fault", 10, 1), H("ready", 10, 1)],
        {},
        [R("holding", 10, 1, "alarm@0 fault@0 ready@0")],
        id="bit points share their status register",
    ),
    pytest.param(
        [H("level", 0, 2), H("hi", 2), H("lo", 2), H("temp", 3, 2)],
        {},
        [R("holding", 0, 5, "level@0 hi@2 lo@2 temp@3")],
        id="a shared status register between values",
    ),
    pytest.param(
        [H("serial", 0, 10), H("model", 3)],
        {},
        [R("holding", 0, 10, "serial@0 model@3")],
        id="a point inside another is read with it",
    ),
    pytest.param(
        [H("a", 0, 4), H("b", 2, 4)],
        {"max_registers_per_read": 6, "max_gap_registers": 0},
        [R("holding", 0, 6, "a@0 b@2")],
        id="partly overlapping points are one block",
    ),
    pytest.param(
        [H("a", 0, 4), H("b", 2, 4), H("c", 6)],
        {"max_registers_per_read": 6, "max_gap_registers": 0},
        [R("holding", 0, 6, "a@0 b@2"), R("holding", 6, 1, "c@0")],
        id="an overlap block that fills a read",
    ),
    pytest.param(
        [H("serial", 0, 16), H("firmware", 16, 4), H("value", 100, 2)],
        {},
        [R("holding", 0, 20, "serial@0 firmware@16"), R("holding", 100, 2, "value@0")],
        id="string points are planned",
    ),
    pytest.param(
        [H("a", 0), I("b", 0), C("c", 0), D("d", 0)],
        {},
        [
            R("coil", 0, 1, "c@0"),
            R("discrete", 0, 1, "d@0"),
            R("holding", 0, 1, "a@0"),
            R("input", 0, 1, "b@0"),
        ],
        id="each kind its own read, coil discrete holding input",
    ),
    pytest.param(
        [H("slow", 0, ms=60_000), H("fast", 1, ms=1000), I("mid", 0, ms=5000)],
        {},
        [
            R("holding", 1, 1, "fast@0"),
            R("input", 0, 1, "mid@0", ms=5000),
            R("holding", 0, 1, "slow@0", ms=60_000),
        ],
        id="each poll interval its own reads, fastest first",
    ),
    pytest.param(
        [H("a1", 0, ms=500), H("b1", 1, ms=1000), H("a2", 2, ms=500)],
        {},
        [R("holding", 0, 3, "a1@0 a2@2", ms=500), R("holding", 1, 1, "b1@0")],
        id="an interval group reads over the other group's register",
    ),
    pytest.param(
        [C(f"c{a}", a) for a in (0, 1, 2, 7, 20)],
        {},
        [R("coil", 0, 8, "c0@0 c1@1 c2@2 c7@7"), R("coil", 20, 1, "c20@0")],
        id="coils merge with gaps counted in bits",
    ),
    pytest.param(
        [C("first", 0), C("last", 1999)],
        {"max_gap_registers": 2000},
        [R("coil", 0, 2000, "first@0 last@1999")],
        id="2000 coils is one read",
    ),
    pytest.param(
        [D("first", 0), D("last", 2000)],
        {"max_gap_registers": 2000},
        [R("discrete", 0, 1, "first@0"), R("discrete", 2000, 1, "last@0")],
        id="2001 discrete inputs is two reads",
    ),
    pytest.param(
        [D(f"d{a}", a) for a in range(10)],
        {"max_bits_per_read": 4},
        [
            R("discrete", 0, 4, "d0@0 d1@1 d2@2 d3@3"),
            R("discrete", 4, 4, "d4@0 d5@1 d6@2 d7@3"),
            R("discrete", 8, 2, "d8@0 d9@1"),
        ],
        id="a device bit limit",
    ),
    pytest.param(
        [C("c", 0), H("h", 0, 125)],
        {"max_bits_per_read": 1},
        [R("coil", 0, 1, "c@0"), R("holding", 0, 125, "h@0")],
        id="the bit limit does not bind registers",
    ),
    pytest.param([H("top", 65535)], {}, [R("holding", 65535, 1, "top@0")], id="the last address"),
    pytest.param(
        [H("a", 65530, 2), H("b", 65534, 2)],
        {},
        [R("holding", 65530, 6, "a@0 b@4")],
        id="up to the end of the address space",
    ),
    pytest.param(
        [H("a", 0, 2), H("b", 2, 2)],
        {"one_request_per_point": True},
        [R("holding", 0, 2, "a@0"), R("holding", 2, 2, "b@0")],
        id="one request per point keeps touching points apart",
    ),
    pytest.param(
        [H("alarm", 5), H("fault", 5), H("value", 6, 2)],
        {"one_request_per_point": True},
        [R("holding", 5, 1, "alarm@0 fault@0"), R("holding", 6, 2, "value@0")],
        id="one request per point still shares a status register",
    ),
    pytest.param(
        [H("serial", 0, 10), H("model", 0, 1)],
        {"one_request_per_point": True},
        [R("holding", 0, 1, "model@0"), R("holding", 0, 10, "serial@0")],
        id="one request per point: same address, different counts",
    ),
    pytest.param(
        [C("c", 0), C("d", 1), I("v", 0, 2)],
        {"one_request_per_point": True},
        [R("coil", 0, 1, "c@0"), R("coil", 1, 1, "d@0"), R("input", 0, 2, "v@0")],
        id="one request per point for bits too",
    ),
    pytest.param(
        [I("t1", 0, 2), I("t2", 2, 2), I("t3", 4, 2), I("h1", 40, 2), I("h2", 42, 2), I("st", 99)],
        {},
        [R("input", 0, 6, "t1@0 t2@2 t3@4"), R("input", 40, 4, "h1@0 h2@2"), R("input", 99, 1, "st@0")],
        id="a weather station's input map",
    ),
    pytest.param(
        [H("a", 0), H("b", 9), H("c", 18), H("d", 27)],
        {"max_registers_per_read": 20},
        [R("holding", 0, 19, "a@0 b@9 c@18"), R("holding", 27, 1, "d@0")],
        id="a chain of gaps until the limit",
    ),
]


@pytest.mark.parametrize(("slots", "options", "expected"), TABLE)
def test_plan_table(slots: list[PointSlot], options: dict[str, Any], expected: list[Summary]) -> None:
    assert [summary(r) for r in plan(7, slots, **options)] == expected


def test_requests_carry_unit_id_function_code_and_point_counts() -> None:
    requests = plan(42, [C("run", 3), D("door", 0), H("level", 10, 2), H("flag", 12), I("temp", 0, 4)])
    assert [(r.unit_id, r.kind, r.function_code) for r in requests] == [
        (42, "coil", 1),
        (42, "discrete", 2),
        (42, "holding", 3),
        (42, "input", 4),
    ]
    assert requests[2].points == (PlannedPoint("level", 0, 2), PlannedPoint("flag", 2, 1))
    assert requests[3].points == (PlannedPoint("temp", 0, 4),)


def test_plan_is_immutable() -> None:
    (request,) = plan(1, [H("a", 0)])
    with pytest.raises(AttributeError):
        request.count = 2  # type: ignore[misc]


# ---------------------------------------------------------------- errors


ERRORS: list[Any] = [
    pytest.param(1, [H("big", 0, 126)], {}, "point 'big': 126 registers do not fit", id="point over 125"),
    pytest.param(
        1, [H("big", 0, 5)], {"max_registers_per_read": 4}, "the limit is 4", id="point over the device limit"
    ),
    pytest.param(
        1, [PointSlot("c", "coil", 0, 2, 1000)], {"max_bits_per_read": 1}, "2 bits", id="bits over the limit"
    ),
    pytest.param(1, [H("zero", 0, 0)], {}, "point 'zero': count must be >= 1", id="empty point"),
    pytest.param(1, [H("neg", -1)], {}, "point 'neg': 1 registers at -1", id="negative address"),
    pytest.param(1, [H("end", 65535, 2)], {}, "leave the address range 0-65535", id="past the last address"),
    pytest.param(1, [H("a", 0, ms=0)], {}, "point 'a': poll_interval_ms must be >= 1", id="no interval"),
    pytest.param(1, [H("a", 0), I("a", 5)], {}, "point 'a': the name is used twice", id="duplicate name"),
    pytest.param(
        1, [PointSlot("x", "register", 0, 1, 1000)], {}, "unknown register kind 'register'", id="bad kind"  # type: ignore[arg-type]
    ),
    pytest.param(0, [], {}, "unit_id must be 1-247 (got 0)", id="unit 0 is broadcast"),
    pytest.param(248, [], {}, "unit_id must be 1-247 (got 248)", id="unit 248"),
    pytest.param(1, [], {"max_registers_per_read": 126}, "max_registers_per_read must be 1-125", id="126 limit"),
    pytest.param(1, [], {"max_registers_per_read": 0}, "max_registers_per_read must be 1-125", id="0 limit"),
    pytest.param(1, [], {"max_bits_per_read": 2001}, "max_bits_per_read must be 1-2000", id="2001 bits"),
    pytest.param(1, [], {"max_gap_registers": -1}, "max_gap_registers must be >= 0", id="negative gap"),
    pytest.param(
        1,
        [H("a", 0, 4), H("b", 3, 4)],
        {"max_registers_per_read": 6},
        "points a, b overlap and must be read together, but span 7",
        id="an overlap wider than one read",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("unit_id", "slots", "options", "message"), ERRORS)
def test_plan_errors(unit_id: int, slots: list[PointSlot], options: dict[str, Any], message: str) -> None:
    with pytest.raises(LocalProtocolError) as caught:
        plan(unit_id, slots, **options)
    assert message in str(caught.value)


def test_every_bad_point_is_reported_at_once() -> None:
    with pytest.raises(LocalProtocolError) as caught:
        plan(1, [H("big", 0, 200), H("ok", 300), H("neg", -5), H("slow", 400, ms=0)])
    text = str(caught.value)
    assert "'big'" in text
    assert "'neg'" in text
    assert "'slow'" in text
    assert "'ok'" not in text


# ---------------------------------------------------------------- the device adapter


def modbus_profile(points: list[dict[str, Any]], **extra: Any) -> ModbusProfile:
    return ModbusProfile.model_validate({"model": "test", "protocol": "modbus", "points": points, **extra})


def bound(profile: Any, **device: Any) -> BoundDevice:
    bus = RtuBus.model_validate({"type": "rtu", "name": "bus1", "port": "/dev/ttyUSB0",
                                 "devices": [{"id": "dev1", "profile": "test", **device}]})  # fmt: skip
    return BoundDevice(bus, bus.devices[0], "test", profile)


def test_plan_device_uses_the_profile_unit_id_and_intervals() -> None:
    profile = modbus_profile(
        [
            {"name": "level", "address": 0, "type": "float32"},
            {"name": "fast", "address": 2, "poll_interval_ms": 500},
            {"name": "temp", "register": "input", "address": 0, "type": "int16"},
        ],
        modbus={"unit_id": 9},
        poll_interval_ms=5000,
    )
    requests = plan_device(bound(profile))
    assert [summary(r) for r in requests] == [
        R("holding", 2, 1, "fast@0", ms=500),
        R("holding", 0, 2, "level@0", ms=5000),
        R("input", 0, 1, "temp@0", ms=5000),
    ]
    assert {r.unit_id for r in requests} == {9}


def test_plan_device_applies_the_site_overrides() -> None:
    profile = modbus_profile(
        [{"name": "a", "address": 0}, {"name": "b", "address": 1, "poll_interval_ms": 100}],
        modbus={"unit_id": 9},
    )
    requests = plan_device(bound(profile, unit_id=17, poll_interval_ms=2000))
    assert [(r.unit_id, summary(r)) for r in requests] == [
        (17, R("holding", 1, 1, "b@0", ms=100)),  # the point's own interval beats the device's
        (17, R("holding", 0, 1, "a@0", ms=2000)),
    ]


def test_plan_device_uses_the_profile_limits() -> None:
    points = [{"name": f"r{i}", "address": i * 3, "type": "uint32"} for i in range(4)]  # 0-1, 3-4, 6-7, 9-10
    assert len(plan_device(bound(modbus_profile(points)))) == 1
    tight = {"max_registers_per_read": 5, "max_gap_registers": 1}
    assert [summary(r) for r in plan_device(bound(modbus_profile(points, modbus=tight)))] == [
        R("holding", 0, 5, "r0@0 r1@3", ms=10_000),
        R("holding", 6, 5, "r2@0 r3@3", ms=10_000),
    ]
    no_gap = {"max_gap_registers": 0}
    assert len(plan_device(bound(modbus_profile(points, modbus=no_gap)))) == 4


def test_plan_device_honours_one_request_per_point() -> None:
    points = [{"name": "a", "address": 0, "type": "int32"}, {"name": "b", "address": 2, "type": "int32"}]
    quirky = {"workarounds": {"one_request_per_point": True}}
    assert [summary(r) for r in plan_device(bound(modbus_profile(points, modbus=quirky)))] == [
        R("holding", 0, 2, "a@0", ms=10_000),
        R("holding", 2, 2, "b@0", ms=10_000),
    ]


def test_plan_device_plans_strings_bits_and_coils() -> None:
    profile = modbus_profile(
        [
            {"name": "serial", "address": 100, "type": "string", "length_registers": 8},
            {"name": "alarm", "address": 108, "type": "bit", "bit": 0},
            {"name": "fault", "address": 108, "type": "bit", "bit": 1},
            {"name": "pump", "register": "coil", "address": 4, "type": "bool"},
        ]
    )
    assert [summary(r) for r in plan_device(bound(profile))] == [
        R("coil", 4, 1, "pump@0", ms=10_000),
        R("holding", 100, 9, "serial@0 alarm@8 fault@8", ms=10_000),
    ]


def test_plan_device_refuses_a_serial_line_profile() -> None:
    profile = NmeaProfile.model_validate(
        {"model": "gnss", "protocol": "nmea", "points": [{"name": "fix", "field": "fix_quality"}]}
    )
    bus = SerialLineBus.model_validate(
        {
            "type": "serial_line",
            "name": "gnss",
            "port": "/dev/ttyS0",
            "devices": [{"id": "rx", "profile": "g"}],
        }
    )
    device = BoundDevice(bus, Device(id="rx", profile="g"), "g", profile)
    with pytest.raises(LocalProtocolError, match="'g', which speaks nmea: only Modbus devices"):
        plan_device(device)
