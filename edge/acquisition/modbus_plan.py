"""A device's read plan, compiled once into everything the poll loop needs per request.

``protocols.planner`` says which reads serve a device's points; this module adds, per read: the
``BlockDecoder`` for its numeric points, the channel index of each decoded value (a ready int32 array), the
string points (decoded only by ``probe``), and the fault flags that live in another read of the same
device. The poll loop then does one decode and one ``ReadingBlock`` per answer and never looks at the
profile again.

A fault flag (``fault_flag: sensor_fault``) normally sits in the same read as its point and the decoder
applies it. When the planner put it in another read (another register kind or poll interval), the flag's
last decoded value is kept per device and applied after decoding (``apply_external_flags``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from protocols.codecs import decode
from protocols.codecs_block import BlockDecoder, FieldSpec
from protocols.config import BoundDevice
from protocols.errors import RemoteProtocolError
from protocols.planner import ReadRequest, plan_device
from protocols.profile import BIT_KINDS, ModbusPoint, ModbusProfile, WordOrder
from protocols.quality import Quality, exception_text
from protocols.records import channel_key

SENSOR_FAULT = np.uint32(Quality.SENSOR_FAULT)
NOT_AVAILABLE = np.uint32(Quality.NOT_AVAILABLE)
ILLEGAL_DATA_VALUE = 3


@dataclass(frozen=True, slots=True)
class TextPoint:
    name: str
    offset: int
    count: int
    word_order: WordOrder


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    device_id: str
    request: ReadRequest
    interval_s: float
    decoder: BlockDecoder | None  # None when the read carries only string points
    point_names: tuple[str, ...]  # the decoder's fields, in order
    channels: npt.NDArray[np.int32]  # the channel index of each field
    text_points: tuple[TextPoint, ...]
    flag_names: tuple[tuple[int, str], ...]  # (field, point name) of fields other points use as fault flag
    external_flags: tuple[tuple[int, str], ...]  # (field, flag point name) for flags read elsewhere

    @property
    def unit_id(self) -> int:
        return self.request.unit_id

    def decode_text(self, words: list[int]) -> dict[str, str | None]:
        """The string points of an answer, as text (for ``probe``); None where the bytes are not ASCII."""
        out: dict[str, str | None] = {}
        for t in self.text_points:
            try:
                out[t.name] = str(decode(words[t.offset : t.offset + t.count], "string", t.word_order))
            except RemoteProtocolError:
                out[t.name] = None
        return out

    def apply_external_flags(
        self,
        values: npt.NDArray[np.float64],
        quality: npt.NDArray[np.uint32],
        flags: Mapping[str, float],
    ) -> None:
        """Void the values whose fault flag (read by another request) was last seen raised."""
        for field, flag in self.external_flags:
            if flags.get(flag) == 1.0:
                values[field] = np.nan
                quality[field] = (quality[field] & ~NOT_AVAILABLE) | SENSOR_FAULT


def compile_device(
    device: BoundDevice, channel_index: Mapping[str, int] | None = None, gateway_id: str = ""
) -> tuple[PreparedRequest, ...]:
    """Every read of a Modbus device, ready to poll. Without ``channel_index`` channels count from 0."""
    profile = device.profile
    if not isinstance(profile, ModbusProfile):
        raise TypeError(f"{device.device.id}: only Modbus devices have a read plan")
    points = {p.name: p for p in profile.points}
    flag_names = {p.fault_flag for p in profile.points if p.fault_flag is not None}
    prepared = []
    numeric_seen = 0
    for request in plan_device(device):
        fields: list[FieldSpec] = []
        names: list[str] = []
        texts: list[TextPoint] = []
        default_order = profile.modbus.word_order
        for planned in request.points:
            point = points[planned.name]
            order = point.word_order or default_order
            if point.type == "string":
                texts.append(TextPoint(point.name, planned.offset, planned.count, order))
                continue
            fields.append(_field(point, planned.offset, order))
            names.append(point.name)
        local = {name: i for i, name in enumerate(names)}
        external: list[tuple[int, str]] = []
        for i, name in enumerate(names):
            flag = points[name].fault_flag
            if flag is None:
                continue
            if flag in local:
                fields[i] = dataclasses.replace(fields[i], fault_flag=local[flag])
            else:
                external.append((i, flag))
        if channel_index is None:
            channels = np.arange(numeric_seen, numeric_seen + len(names), dtype=np.int32)
        else:
            keys = [channel_key(gateway_id, device.device.id, n) for n in names]
            channels = np.array([channel_index[k] for k in keys], dtype=np.int32)
        numeric_seen += len(names)
        channels.flags.writeable = False
        prepared.append(
            PreparedRequest(
                device_id=device.device.id,
                request=request,
                interval_s=request.poll_interval_ms / 1000.0,
                decoder=BlockDecoder(fields, bits=request.kind in BIT_KINDS) if fields else None,
                point_names=tuple(names),
                channels=channels,
                text_points=tuple(texts),
                flag_names=tuple((i, n) for i, n in enumerate(names) if n in flag_names),
                external_flags=tuple(external),
            )
        )
    return tuple(prepared)


def _field(point: ModbusPoint, offset: int, order: WordOrder) -> FieldSpec:
    return FieldSpec(
        offset=offset,
        data_type=point.type,
        word_order=order,
        bit=point.bit,
        scale=point.scale,
        value_offset=point.offset,
        nan_value=point.nan_value,
        physical_range=point.physical_range,
    )


def refused_read_hint(p: PreparedRequest, profile_name: str, profile: ModbusProfile) -> str | None:
    """What an exception 3 (illegal data value) to read ``p`` most likely means, and what to set.

    Devices answer it to a read longer than their buffer, which the planner makes by merging points; a
    read of one register is refused for another reason (None).
    """
    r = p.request
    if r.count <= 1:
        return None
    bits = r.kind in BIT_KINDS
    unit, key = ("bits", "max_bits_per_read") if bits else ("registers", "max_registers_per_read")
    now = profile.modbus.max_bits_per_read if bits else profile.modbus.max_registers_per_read
    return (
        f"{p.device_id}: the read of {r.count} {unit} from {r.kind} {r.address} answered "
        f"{exception_text(ILLEGAL_DATA_VALUE)}: devices answer this to a read longer than they support; "
        f"set modbus.{key} below {r.count} in profile {profile_name} "
        f"(now {now}; the datasheet gives the limit)"
    )
