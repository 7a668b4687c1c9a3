from __future__ import annotations

import gzip
import itertools
import math

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.errors import WireError
from protocols.incarnations import LEGACY, Incarnation, owners
from protocols.records import Event, Forecast, ReadingBlock
from protocols.wire import (
    Ack,
    Batch,
    ChannelMeta,
    SiteMeta,
    batch_to_dict,
    compress,
    decode_ack,
    decode_batch,
    decompress,
    encode_ack,
    encode_batch,
    seq_ranges,
)

T0 = 1_764_370_000_000
GW = "gw-1"


def make_batch(n: int = 5, first_seq: int = 1, with_event: bool = True) -> Batch:
    keys = [f"{GW}/dev-1/a", f"{GW}/dev-1/b"]
    seqs = np.arange(first_seq, first_seq + n, dtype=np.int64)
    values = np.linspace(0.5, 2.5, n)
    if n > 2:
        values[2] = math.nan
    block = ReadingBlock.of(np.arange(n) % 2, T0 + np.arange(n) * 1000, values, np.zeros(n))
    events = []
    if with_event:
        events.append(
            Event(f"{GW}/dev-1/a", T0, "high", 2, 0, 31.5, "gas above 25 %LEL", Forecast(T0 + 3_600_000, 0.9, 12),
                  seq=first_seq + n)
        )  # fmt: skip
    return Batch(
        gateway=GW, batch_id=7, sent_ms=T0, keys=keys, readings=block, reading_seq=seqs, events=events,
        site=SiteMeta("site-1", "North slope", "mine_slope", 30.1, 110.2),
        channels=[ChannelMeta(keys[0], "%LEL", "gas_lel_catalytic", 30.1, 110.2, (0.0, 100.0))],
        heartbeat={"uptime_s": 12.5},
    )  # fmt: skip


def raw(batch: Batch) -> dict:
    return orjson.loads(encode_batch(batch))


def refuse(obj: dict, match: str) -> None:
    with pytest.raises(WireError, match=match):
        decode_batch(orjson.dumps(obj))


def test_round_trip_keeps_every_field() -> None:
    b = make_batch()
    d = decode_batch(encode_batch(b))
    assert (d.gateway, d.batch_id, d.sent_ms, d.keys) == (b.gateway, b.batch_id, b.sent_ms, b.keys)
    np.testing.assert_array_equal(d.reading_seq, b.reading_seq)
    np.testing.assert_array_equal(d.readings.channel, b.readings.channel)
    np.testing.assert_array_equal(d.readings.ts_ms, b.readings.ts_ms)
    np.testing.assert_array_equal(d.readings.value, b.readings.value)  # NaN travels as null and back
    np.testing.assert_array_equal(d.readings.quality, b.readings.quality)
    assert d.events == b.events
    assert d.site == b.site and d.channels == b.channels and d.heartbeat == b.heartbeat
    assert d.seq_ranges() == [(1, 6)]


def test_nan_is_null_on_the_wire() -> None:
    assert raw(make_batch())["readings"]["value"][2] is None


def test_gzip_is_detected_by_its_magic() -> None:
    body = encode_batch(make_batch(n=400))
    packed, zipped = compress(body)
    assert zipped and packed[:2] == b"\x1f\x8b" and len(packed) < len(body)
    assert decode_batch(packed).row_count == 401


def test_small_bodies_are_not_compressed() -> None:
    body = encode_batch(make_batch(n=1, with_event=False))
    assert compress(body) == (body, False)


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"0" * 2_000_000)
    with pytest.raises(WireError, match="inflates past the limit"):
        decompress(bomb, max_bytes=1_000_000)


def test_truncated_gzip_is_refused() -> None:
    packed = gzip.compress(encode_batch(make_batch(n=200)))
    with pytest.raises(WireError, match=r"truncated|corrupt"):
        decompress(packed[: len(packed) // 2])


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda o: o.update(v=2), "wire version 1"),
        (lambda o: o.pop("gateway"), "missing 'gateway'"),
        (lambda o: o.update(gateway=""), "gateway: empty"),
        (lambda o: o["readings"]["seq"].pop(), "columns differ in length"),
        (lambda o: o["readings"]["seq"].__setitem__(0, 0), r"readings.seq: 0 is outside"),
        (lambda o: o["readings"]["channel"].__setitem__(0, 5), r"readings.channel: 5 is outside 0..1"),
        (lambda o: o["readings"]["ts_ms"].__setitem__(1, 12), r"readings.ts_ms: 12 is outside"),
        (lambda o: o["readings"]["quality"].__setitem__(1, -1), r"readings.quality: -1 is outside"),
        (lambda o: o["readings"]["seq"].__setitem__(1, 1.5), "expected a list of 64-bit integers"),
        (lambda o: o["readings"]["value"].__setitem__(1, "x"), "numbers or nulls"),
        (lambda o: o["readings"].pop("quality"), "missing column 'quality'"),
        (lambda o: o["keys"].__setitem__(0, "other-gw/dev/p"), "belongs to gateway 'other-gw'"),
        (lambda o: o["keys"].__setitem__(0, "no-slashes"), "gateway/device/point"),
        (lambda o: o["events"][0].update(level=7), "levels must be 0-4"),
        (lambda o: o["events"][0].update(level=0, previous_level=0), "must be 0-4 and differ"),
        (lambda o: o["events"][0].pop("rule"), r"events\[0\]: missing 'rule'"),
        (lambda o: o["events"][0]["forecast"].pop("r2"), r"events\[0\].forecast: missing 'r2'"),
        (lambda o: o["channels"][0].update(physical_range=[1]), r"expected \[min, max\]"),
        (lambda o: o.update(seq_ranges=[[1, 7]]), r"gap: .* declares seq ranges \[1-7\] .* seq 7 is missing"),
        (lambda o: o.update(seq_ranges=[[2, 1]]), "1 <= first <= last"),
        (lambda o: o["readings"]["seq"].__setitem__(1, 1), "seq 1 appears twice"),
        (
            lambda o: o["readings"]["seq"].__setitem__(4, 2**63 - 1),
            r"readings.seq: 9223372036854775807 is outside",
        ),
        (lambda o: o["readings"]["seq"].__setitem__(4, 2**53), r"readings.seq: 9007199254740992 is outside"),
        (lambda o: o["events"][0].update(seq=2**53), r"events\[0\].seq: 9007199254740992 is outside"),
        (lambda o: o.update(seq_ranges=[[1, 2**53]]), "< 2\\^53"),
        (lambda o: o["site"].update(latitude_deg=999), r"site.latitude_deg: 999 is outside -90..90"),
        (
            lambda o: o["site"].update(longitude_deg=-180.5),
            r"site.longitude_deg: -180.5 is outside -180..180",
        ),
        (lambda o: o["channels"][0].update(latitude_deg=91), r"channels\[0\].latitude_deg: 91 is outside"),
        (
            lambda o: o["heartbeat"].update(heartbeat_interval_s=1e300),
            "heartbeat_interval_s: expected seconds",
        ),
        (lambda o: o["heartbeat"].update(heartbeat_interval_s=0.5), "heartbeat_interval_s: expected seconds"),
        (
            lambda o: o["heartbeat"].update(heartbeat_interval_s="60"),
            "heartbeat_interval_s: expected seconds",
        ),
        (lambda o: o.update(incarnations=[]), "incarnations: expected a non-empty list"),
        (
            lambda o: o.update(incarnations=[{"id": "XYZ", "first_seq": 1, "parent": None}]),
            "id: expected up to 64",
        ),
        (
            lambda o: o.update(incarnations=[{"id": "ab", "first_seq": 0, "parent": None}]),
            r"first_seq: expected",
        ),
        (lambda o: o.update(incarnations=[{"id": "ab", "first_seq": 3, "parent": None}]), "seq 1 is below"),
        (
            lambda o: o.update(incarnations=[{"id": "ab", "first_seq": 3}, {"id": "cd", "first_seq": 1}]),
            r"incarnations\[1\].first_seq: 1 is below the one before it",
        ),
        (lambda o: o.update(incarnations=[{"id": "ab", "first_seq": 1}] * 2), "an id is listed twice"),
    ],
)
def test_malformed_batches_are_refused_with_the_reason(mutate, match) -> None:
    obj = raw(make_batch())
    mutate(obj)
    refuse(obj, match)


def test_not_json_and_not_an_object() -> None:
    with pytest.raises(WireError, match="not JSON"):
        decode_batch(b"{nope")
    with pytest.raises(WireError, match="a batch is a JSON object"):
        decode_batch(b"[1, 2]")


def test_a_heartbeat_only_batch_is_valid() -> None:
    b = Batch(gateway=GW, batch_id=1, sent_ms=T0, heartbeat={"uptime_s": 1})
    d = decode_batch(encode_batch(b))
    assert d.row_count == 0 and d.heartbeat == {"uptime_s": 1} and d.seq_ranges() == []


def test_events_first_batches_carry_several_ranges() -> None:
    b = make_batch(n=3, first_seq=10, with_event=False)
    b.events.append(Event(f"{GW}/dev-1/a", T0, "high", 1, 0, 1.0, "m", seq=20))
    assert batch_to_dict(b)["seq_ranges"] == [(10, 12), (20, 20)]
    assert decode_batch(encode_batch(b)).seq_ranges() == [(10, 12), (20, 20)]


@given(st.lists(st.integers(1, 200), unique=True))
def test_seq_ranges_are_maximal_runs(values: list[int]) -> None:
    ranges = seq_ranges(np.array(sorted(values), dtype=np.int64))
    covered = [s for lo, hi in ranges for s in range(lo, hi + 1)]
    assert covered == sorted(values)
    assert all(b[0] > a[1] + 1 for a, b in itertools.pairwise(ranges))


def test_ack_round_trip_and_refusal() -> None:
    ack = Ack(GW, 7, 120, ((100, 120),))
    assert decode_ack(encode_ack(ack)) == ack and not ack.refused
    refused = Ack(GW, 8, 120, (), error="gap: ...")
    assert decode_ack(encode_ack(refused)).refused
    with pytest.raises(WireError):
        decode_ack(b'{"v": 1, "gateway": "g", "batch_id": 1, "acked_through": 0, "committed": [[3, 1]]}')


def test_incarnations_travel_and_a_batch_without_them_is_legacy() -> None:
    b = make_batch()
    assert "incarnations" not in raw(b)  # an edge from before incarnations sends exactly this
    assert decode_batch(encode_batch(b)).incarnations == [LEGACY]
    b.incarnations = [Incarnation("ab" * 16, 1, None), Incarnation("cd" * 16, 4, "ab" * 16)]
    assert raw(b)["incarnations"] == [
        {"id": "ab" * 16, "first_seq": 1, "parent": None},
        {"id": "cd" * 16, "first_seq": 4, "parent": "ab" * 16},
    ]
    decoded = decode_batch(encode_batch(b))
    assert decoded.incarnations == b.incarnations
    assert owners(decoded.incarnations, decoded.seqs()).tolist() == [0, 0, 0, 1, 1, 1]


def test_the_largest_seq_is_below_2_to_the_53() -> None:
    b = make_batch(first_seq=2**53 - 6)
    assert decode_batch(encode_batch(b)).seq_ranges() == [(2**53 - 6, 2**53 - 1)]
