from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.acquisition.modbus_plan import compile_device
from edge.siteconfig import load_site
from protocols.codecs import encode
from protocols.quality import Quality
from tests.edge.acquisition.conftest import write_site

EXTERNAL_FLAG = """
model: test_flag_elsewhere
protocol: modbus
poll_interval_ms: 1000
points:
  - {name: level, address: 0, type: uint16, fault_flag: fault, nan_value: 0xFFFF}
  - {name: fault, register: coil, address: 0, type: bool}
"""


def typed_site(tmp_path: Path):
    return load_site(write_site(tmp_path, """
  - name: tcp
    type: tcp
    host: 127.0.0.1
    devices:
      - {id: dev, profile: test_typed, unit_id: 4}
      - {id: other, profile: test_flag_elsewhere, unit_id: 5}
""", {"test_flag_elsewhere": EXTERNAL_FLAG}))  # fmt: skip


def test_reads_are_compiled_with_channels_decoders_and_text_points(tmp_path: Path) -> None:
    site = typed_site(tmp_path)
    index = site.channel_index()
    reads = compile_device(site.devices[0], index, site.gateway_id)
    assert [(r.request.kind, r.request.address, r.request.count, r.unit_id) for r in reads] == [
        ("coil", 0, 1, 4),
        ("holding", 0, 11, 4),
    ]
    holding = reads[1]
    assert holding.point_names == ("temp", "level", "count", "gas", "fault")
    assert holding.channels.tolist() == [index[f"gw/dev/{n}"] for n in holding.point_names]
    assert not holding.channels.flags.writeable
    assert [t.name for t in holding.text_points] == ["serial"]
    assert holding.interval_s == 0.05
    assert "gw/dev/serial" not in index  # text is for probe, not a channel


def test_one_block_decodes_every_type_word_order_scale_and_flag(tmp_path: Path) -> None:
    site = typed_site(tmp_path)
    holding = compile_device(site.devices[0], site.channel_index(), site.gateway_id)[1]
    words = [*encode(-123, "int16"), *encode(12.5, "float32", "CDAB"), *encode(70000, "uint32", "DCBA"),
             *encode(455, "uint16"), 0b100, *encode("SN42", "string", length_registers=4)]  # fmt: skip
    assert holding.decoder is not None
    values, quality = holding.decoder.decode(words)
    assert values[:3].tolist() == [-12.3, 12.5, 70000.0]
    assert np.isnan(values[3])  # gas is voided by its fault flag (bit 2 of register 6)
    assert quality.tolist() == [0, 0, 0, Quality.SENSOR_FAULT, 0]
    assert holding.decode_text(words) == {"serial": "SN42"}


def test_a_fault_flag_read_by_another_request_is_applied_from_its_last_value(tmp_path: Path) -> None:
    site = typed_site(tmp_path)
    coil, holding = compile_device(site.devices[1], site.channel_index(), site.gateway_id)
    assert coil.flag_names == ((0, "fault"),)
    assert holding.external_flags == ((0, "fault"),)
    assert holding.decoder is not None
    values, quality = holding.decoder.decode([42])
    holding.apply_external_flags(values, quality, {"fault": 0.0})
    assert values.tolist() == [42.0] and quality.tolist() == [0]
    holding.apply_external_flags(values, quality, {"fault": 1.0})
    assert np.isnan(values[0]) and quality.tolist() == [Quality.SENSOR_FAULT]
    values, quality = holding.decoder.decode(
        [0xFFFF]
    )  # its sentinel: not available, until the flag says more
    assert quality.tolist() == [Quality.NOT_AVAILABLE]
    holding.apply_external_flags(values, quality, {"fault": 1.0})
    assert quality.tolist() == [Quality.SENSOR_FAULT]


def test_without_a_site_channels_count_from_zero(tmp_path: Path) -> None:
    site = typed_site(tmp_path)
    reads = compile_device(site.devices[0])
    assert [r.channels.tolist() for r in reads] == [[0], [1, 2, 3, 4, 5]]
