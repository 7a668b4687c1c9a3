"""The read planner: a device's points become the fewest Modbus read requests.

Pure and deterministic, compiled once when a site loads (the poll loop never looks at the profile again).
The input is a list of ``PointSlot`` (name, register kind, zero-based address, how many registers or bits
the point spans, its poll interval), independent of the pydantic models; ``plan_device`` is the adapter
from a ``protocols.config.BoundDevice``.

How requests are formed:

1. Points are grouped by (poll interval, register kind): one request reads one kind at one rate.
2. Within a group, points that share registers (several ``bit`` points of one status register, or any
   overlap) form one block: they are always served by the same request, each at its own offset.
3. Blocks, in address order, are merged into a request while the request's span stays within the limit
   (``max_registers_per_read`` for holding/input, ``max_bits_per_read`` for coil/discrete) and the unused
   addresses between the request so far and the next block are at most ``max_gap_registers`` (counted in
   the kind's own addresses: registers, or bits for coils and discrete inputs).

Greedy merging is minimal here: the blocks are disjoint and sorted, so whichever request serves the lowest
block cannot reach further than the greedy one does, and dropping the lowest blocks from any other plan
leaves its remaining requests valid (tests check this against a brute force on small inputs).

``one_request_per_point`` (a device workaround for firmware that answers only exact register blocks) gives
each distinct (address, count) its own request; points with the same (address, count) still share one.

Output order: poll interval, then kind (coil, discrete, holding, input), then address. Points inside a
request are ordered by offset, then count, then name, so the plan does not depend on the input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from protocols.config import BoundDevice
from protocols.errors import LocalProtocolError
from protocols.profile import BIT_KINDS, MAX_ADDRESS, ModbusProfile, RegisterKind

# The protocol's own ceilings: the answer's byte count is one byte (Modbus application protocol 6.1-6.4).
MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000
KIND_ORDER: dict[str, int] = {"coil": 0, "discrete": 1, "holding": 2, "input": 3}
FUNCTION_CODES: dict[str, int] = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
MIN_UNIT_ID, MAX_UNIT_ID = 1, 247


@dataclass(frozen=True, slots=True)
class PointSlot:
    """One point as the planner sees it."""

    name: str
    kind: RegisterKind  # "holding" | "input" | "coil" | "discrete"
    address: int  # zero-based
    count: int  # registers (bits for coil/discrete) the point spans
    poll_interval_ms: int

    @property
    def end(self) -> int:
        """The first address after the point."""
        return self.address + self.count


@dataclass(frozen=True, slots=True)
class PlannedPoint:
    """Where one point sits in the answer of its request."""

    name: str
    offset: int  # from the request's start address, in registers (bits for coil/discrete)
    count: int


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One read of ``count`` consecutive registers (or bits) from ``address`` on slave ``unit_id``."""

    unit_id: int
    kind: RegisterKind
    address: int
    count: int
    poll_interval_ms: int
    points: tuple[PlannedPoint, ...]

    @property
    def function_code(self) -> int:
        """The Modbus function: 1 read coils, 2 read discrete inputs, 3 holding, 4 input registers."""
        return FUNCTION_CODES[self.kind]


@dataclass(slots=True)
class _Block:
    """Points whose registers overlap, read as one unit. Mutable while the plan is built."""

    address: int
    end: int
    slots: list[PointSlot] = field(default_factory=list)


def plan(
    unit_id: int,
    slots: Sequence[PointSlot],
    *,
    max_registers_per_read: int = MAX_REGISTERS_PER_READ,
    max_bits_per_read: int = MAX_BITS_PER_READ,
    max_gap_registers: int = 8,
    one_request_per_point: bool = False,
) -> tuple[ReadRequest, ...]:
    """The fewest read requests that serve every slot; ``LocalProtocolError`` naming every bad input."""
    _check_arguments(unit_id, max_registers_per_read, max_bits_per_read, max_gap_registers)
    limits = {"registers": max_registers_per_read, "bits": max_bits_per_read}
    _check_slots(slots, limits)
    groups: dict[tuple[int, RegisterKind], list[PointSlot]] = {}
    for slot in slots:
        groups.setdefault((slot.poll_interval_ms, slot.kind), []).append(slot)
    requests: list[ReadRequest] = []
    for (interval_ms, kind), members in groups.items():
        limit = limits[_unit_of(kind)]
        if one_request_per_point:
            runs = [[b] for b in _exact_blocks(members)]
        else:
            runs = _merge(_overlap_blocks(members, limit), limit, max_gap_registers)
        requests += (_request(unit_id, kind, interval_ms, run) for run in runs)
    requests.sort(key=lambda r: (r.poll_interval_ms, KIND_ORDER[r.kind], r.address, r.count))
    return tuple(requests)


def plan_device(device: BoundDevice) -> tuple[ReadRequest, ...]:
    """The read plan of one Modbus device, with its effective unit id, intervals, limits and workarounds.

    String points are planned too (probe reads them). Disabled devices are planned like any other: the
    caller decides whether to poll them.
    """
    profile = device.profile
    if not isinstance(profile, ModbusProfile):
        raise LocalProtocolError(
            f"device {device.device.id!r} uses profile {device.profile_name!r}, which speaks "
            f"{profile.protocol}: only Modbus devices have a read plan"
        )
    slots = [
        PointSlot(p.name, p.kind, p.address, p.register_count, device.poll_interval_ms(p))
        for p in profile.points
    ]
    settings = profile.modbus
    return plan(
        device.unit_id,
        slots,
        max_registers_per_read=settings.max_registers_per_read,
        max_bits_per_read=settings.max_bits_per_read,
        max_gap_registers=settings.max_gap_registers,
        one_request_per_point=settings.workarounds.one_request_per_point,
    )


def _unit_of(kind: str) -> str:
    return "bits" if kind in BIT_KINDS else "registers"


def _check_arguments(unit_id: int, max_registers: int, max_bits: int, max_gap: int) -> None:
    problems = []
    if not MIN_UNIT_ID <= unit_id <= MAX_UNIT_ID:
        problems.append(f"unit_id must be {MIN_UNIT_ID}-{MAX_UNIT_ID} (got {unit_id})")
    if not 1 <= max_registers <= MAX_REGISTERS_PER_READ:
        problems.append(f"max_registers_per_read must be 1-{MAX_REGISTERS_PER_READ} (got {max_registers})")
    if not 1 <= max_bits <= MAX_BITS_PER_READ:
        problems.append(f"max_bits_per_read must be 1-{MAX_BITS_PER_READ} (got {max_bits})")
    if max_gap < 0:
        problems.append(f"max_gap_registers must be >= 0 (got {max_gap})")
    if problems:
        raise LocalProtocolError("; ".join(problems))


def _check_slots(slots: Sequence[PointSlot], limits: dict[str, int]) -> None:
    problems = []
    seen: set[str] = set()
    for s in slots:
        if s.name in seen:
            problems.append(f"point {s.name!r}: the name is used twice")
        seen.add(s.name)
        if s.kind not in KIND_ORDER:
            problems.append(f"point {s.name!r}: unknown register kind {s.kind!r}")
            continue
        unit = _unit_of(s.kind)
        if s.count < 1:
            problems.append(f"point {s.name!r}: count must be >= 1 (got {s.count})")
        elif s.count > limits[unit]:
            problems.append(
                f"point {s.name!r}: {s.count} {unit} do not fit in one read (the limit is {limits[unit]})"
            )
        if s.address < 0 or s.address + max(s.count, 1) - 1 > MAX_ADDRESS:
            problems.append(
                f"point {s.name!r}: {s.count} {unit} at {s.address} leave the address range 0-{MAX_ADDRESS}"
            )
        if s.poll_interval_ms < 1:
            problems.append(f"point {s.name!r}: poll_interval_ms must be >= 1 (got {s.poll_interval_ms})")
    if problems:
        raise LocalProtocolError("\n".join(problems))


def _in_order(slots: list[PointSlot]) -> list[PointSlot]:
    return sorted(slots, key=lambda s: (s.address, s.count, s.name))


def _exact_blocks(slots: list[PointSlot]) -> list[_Block]:
    """One block per distinct (address, count)."""
    blocks: dict[tuple[int, int], _Block] = {}
    for s in _in_order(slots):
        blocks.setdefault((s.address, s.count), _Block(s.address, s.end)).slots.append(s)
    return list(blocks.values())


def _overlap_blocks(slots: list[PointSlot], limit: int) -> list[_Block]:
    """Disjoint blocks in address order; overlapping points share one. Too wide a block is an error."""
    blocks: list[_Block] = []
    for s in _in_order(slots):
        if blocks and s.address < blocks[-1].end:
            blocks[-1].end = max(blocks[-1].end, s.end)
            blocks[-1].slots.append(s)
        else:
            blocks.append(_Block(s.address, s.end, [s]))
    for b in blocks:
        if b.end - b.address > limit:
            names = ", ".join(s.name for s in b.slots)
            raise LocalProtocolError(
                f"points {names} overlap and must be read together, but span {b.end - b.address} "
                f"addresses from {b.address}, more than one read allows ({limit})"
            )
    return blocks


def _merge(blocks: list[_Block], limit: int, max_gap: int) -> list[list[_Block]]:
    """Greedy: extend the current request by the next block while span and gap allow."""
    runs: list[list[_Block]] = []
    for b in blocks:
        if runs and b.address - runs[-1][-1].end <= max_gap and b.end - runs[-1][0].address <= limit:
            runs[-1].append(b)
        else:
            runs.append([b])
    return runs


def _request(unit_id: int, kind: RegisterKind, interval_ms: int, run: list[_Block]) -> ReadRequest:
    start = run[0].address
    end = max(b.end for b in run)
    points = tuple(
        PlannedPoint(s.name, s.address - start, s.count) for s in _in_order([s for b in run for s in b.slots])
    )
    return ReadRequest(unit_id, kind, start, end - start, interval_ms, points)
