"""A simulated Modbus device: a profile's register map filled from its physical models at every read.

``ModbusDevice(device_id, profile, model, unit_id, now_s)`` owns one ``SlaveMemory``
(``simulator.modbus_slaves``) sized for the profile's map. Its ``on_read`` hook computes every point's value
at the simulated instant of the read and writes it the way the datasheet says:

- numbers are unscaled (``raw = (value - offset) / scale``), rounded and clipped to the register type,
  and encoded in the point's word order (``protocols.codecs``), so the edge decodes exactly what a real
  device of that model would send; a NaN becomes the point's ``nan_value`` sentinel;
- ``bit`` points that share a status register are OR-ed into it; ``bool`` points set coils and discrete
  inputs; strings are written once.

Values that do not fit their register (a negative gas reading in a uint16) are clipped and counted in
``statistics()["clipped"]``: real transmitters saturate at their range the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from protocols.codecs import INTEGER_LIMITS, encode, unscale
from protocols.profile import BIT_KINDS, ModbusPoint, ModbusProfile
from simulator.modbus_slaves import Kind, SlaveMemory
from simulator.models import DeviceModel

MIN_REGISTERS = 16
BITS_ROUNDING = 16


class ModbusDevice:
    def __init__(
        self,
        device_id: str,
        profile: ModbusProfile,
        model: DeviceModel,
        unit_id: int,
        now_s: Callable[[], float],
    ) -> None:
        self.device_id = device_id
        self.profile = profile
        self.model = model
        self.now_s = now_s
        registers = max(
            [p.address + p.register_count for p in profile.points if p.kind not in BIT_KINDS]
            + [MIN_REGISTERS]
        )
        bits = max([p.address + 1 for p in profile.points if p.kind in BIT_KINDS] + [BITS_ROUNDING])
        bits = -(-bits // BITS_ROUNDING) * BITS_ROUNDING
        self.memory = SlaveMemory(unit_id, registers=registers, bits=bits)
        self.memory.on_read = self._on_read
        self.counts = {"refreshes": 0, "clipped": 0}
        self._write_text()
        self.refresh(0.0)

    @property
    def unit_id(self) -> int:
        return self.memory.unit_id

    def _on_read(self, _slave: SlaveMemory, _kind: Kind, _address: int, _count: int) -> None:
        self.refresh(self.now_s())

    def refresh(self, t_s: float) -> None:
        """Write every point's value at ``t_s`` into the device's registers and bits."""
        self.counts["refreshes"] += 1
        status: dict[tuple[Kind, int], int] = {}
        for p in self.profile.points:
            if p.type == "string":
                continue
            value = self.model.value(p.name, t_s)
            kind: Kind = p.kind
            if p.kind in BIT_KINDS:
                self.memory.set_bits(kind, p.address, [value >= 0.5])
            elif p.type == "bit":
                word = status.get((kind, p.address), 0)
                status[(kind, p.address)] = word | ((1 << (p.bit or 0)) if value >= 0.5 else 0)
            else:
                self.memory.set_registers(kind, p.address, self._registers(p, value))
        for (kind, address), word in status.items():
            self.memory.set_registers(kind, address, [word])

    def _registers(self, p: ModbusPoint, value: float) -> list[int]:
        order = p.word_order or self.profile.modbus.word_order
        if math.isnan(value) and p.nan_value is not None:
            return encode(p.nan_value, p.type, order)
        raw = unscale(value, p.scale, p.offset, p.type) if math.isfinite(value) else value
        limits = INTEGER_LIMITS.get(p.type)
        if limits is not None:
            if not math.isfinite(raw):
                raw = limits[0]
            clipped = min(max(int(raw), limits[0]), limits[1])
            if p.nan_value is not None and clipped == p.nan_value:  # a value must not read as "no reading"
                clipped += -1 if clipped == limits[1] else 1
            if clipped != raw:
                self.counts["clipped"] += 1
            raw = clipped
        return encode(raw, p.type, order)

    def _write_text(self) -> None:
        for p in self.profile.points:
            if p.type == "string" and p.kind not in BIT_KINDS:
                order = p.word_order or self.profile.modbus.word_order
                count = p.length_registers or 1
                text = self.model.text(p.name)[: 2 * count]
                self.memory.set_registers(
                    p.kind, p.address, encode(text, "string", order, length_registers=count)
                )

    def statistics(self) -> dict[str, int]:
        return {**self.counts, "reads": self.memory.reads, "unit_id": self.unit_id}
