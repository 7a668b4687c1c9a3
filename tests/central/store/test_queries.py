"""The command center's reads on both stores: history buckets, latest values, channels, sites, tokens."""

from __future__ import annotations

import math

import numpy as np
import pytest

from central.store.base import NotFoundError, Store
from central.store.records import Token
from protocols.records import ReadingBlock
from protocols.wire import Batch, SiteMeta
from tests.central.builders import SITE, T0, key, readings_batch

HOUR_MS = 3_600_000


def one_channel_batch(gateway: str, ts_ms: np.ndarray, values: np.ndarray, first_seq: int = 1) -> Batch:
    n = len(ts_ms)
    seq = np.arange(first_seq, first_seq + n, dtype=np.int64)
    block = ReadingBlock.of(np.zeros(n), ts_ms, values, np.where(np.isnan(values), 1, 0))
    return Batch(gateway, 1, T0, [key(gateway)], block, seq)


def reference_buckets(
    ts: np.ndarray, values: np.ndarray, width: int
) -> list[tuple[int, float, float, float, float, int]]:
    """The obvious computation the store must agree with (readings without a value are skipped)."""
    out = []
    for b in sorted(set((ts // width).tolist())):
        sel = (ts // width == b) & ~np.isnan(values)
        if not sel.any():
            continue  # a bucket with no value is left out
        v, t = values[sel], ts[sel]
        out.append((b * width, v.min(), v.max(), v.mean(), v[np.argmax(t)], int(sel.sum())))
    return out


def test_history_buckets_match_a_reference(store: Store) -> None:
    rng = np.random.default_rng(11)
    ts = np.sort(rng.integers(T0, T0 + 10 * HOUR_MS, 3000)) // 1000 * 1000 + np.arange(3000) % 1000
    values = rng.normal(5.0, 2.0, 3000)
    values[rng.random(3000) < 0.05] = math.nan
    store.ingest(one_channel_batch("gw-1", ts, values), T0)
    for bucket_ms in (60_000, 600_000, HOUR_MS, 86_400_000):
        got = store.history(key("gw-1"), T0, T0 + 10 * HOUR_MS, bucket_ms)
        want = reference_buckets(ts, values, bucket_ms)
        got_rows = [(b.start_ms, b.min, b.max, b.mean, b.last, b.count) for b in got]
        assert len(got_rows) == len(want)
        for g, w in zip(got_rows, want, strict=True):
            assert g[0] == w[0] and g[5] == w[5]
            assert np.allclose(np.array(g[1:5], dtype=float), w[1:5])


def test_history_window_is_half_open_and_unknown_channels_are_not_found(store: Store) -> None:
    ts = T0 // HOUR_MS * HOUR_MS + np.arange(0, 3 * HOUR_MS, 600_000)
    store.ingest(one_channel_batch("gw-1", ts, np.arange(len(ts), dtype=np.float64)), T0)
    got = store.history(key("gw-1"), int(ts[6]), int(ts[12]), HOUR_MS)  # exactly the second hour
    assert [(b.count, b.min, b.max, b.last) for b in got] == [(6, 6.0, 11.0, 11.0)]
    with pytest.raises(NotFoundError):
        store.history("gw-1/nope/p", 0, 1, HOUR_MS)
    with pytest.raises(NotFoundError):
        store.readings("gw-1/nope/p", 0, 1, 10)


def test_readings_are_oldest_first_and_limited(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(1, 41)), T0)
    got = store.readings(key("gw-1", "dev-1", "p1"), 0, 1 << 62, 5)
    assert [r.seq for r in got] == [1, 3, 5, 7, 9]


def test_latest_filters(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(1, 5), site=SITE), T0)
    store.ingest(readings_batch("gw-2", range(1, 5), n_channels=3), T0)
    assert len(store.latest()) == 5
    assert {r.channel for r in store.latest(site_id=SITE.id)} == {
        key("gw-1", "dev-1", "p0"),
        key("gw-1", "dev-1", "p1"),
    }
    assert len(store.latest(gateway_id="gw-2")) == 3
    assert len(store.latest(gateway_id="gw-2", device="dev-1")) == 3
    assert store.latest(gateway_id="gw-2", device="other") == []
    picked = store.latest(keys=(key("gw-2", "dev-1", "p2"), key("gw-1", "dev-1", "p0")))
    assert sorted((r.channel, r.seq) for r in picked) == [
        (key("gw-1", "dev-1", "p0"), 4),
        (key("gw-2", "dev-1", "p2"), 2),
    ]


def test_admin_site_and_gateway_site(store: Store) -> None:
    site = store.put_site(SiteMeta("tank-farm-2", "Tank farm 2", "tank_farm", 31.0, 111.0), T0)
    assert (site.id, site.worst_level, site.gateways) == ("tank-farm-2", 0, [])
    store.ingest(readings_batch("gw-1", [1], site=SITE), T0)
    assert [s.id for s in store.sites()] == sorted([SITE.id, "tank-farm-2"])
    assert store.gateway("gw-1").site_id == SITE.id  # type: ignore[union-attr]
    assert store.gateway("nope") is None
    assert [c.site_id for c in store.channels(site_id=SITE.id)] == [SITE.id, SITE.id]


def test_tokens_are_stored_with_their_hash_and_revoked(store: Store) -> None:
    store.add_token(Token("0123456789ab", "alice", "operator", None, T0, None, "f" * 64))
    found = store.token("0123456789ab")
    assert found is not None and found.secret_hash == "f" * 64 and found.revoked_ms is None
    assert store.revoke_token("0123456789ab", T0 + 5).revoked_ms == T0 + 5
    assert store.revoke_token("0123456789ab", T0 + 9).revoked_ms == T0 + 5  # the first revocation stands
    assert [t.id for t in store.tokens()] == ["0123456789ab"]
    assert store.token("nope") is None
    with pytest.raises(NotFoundError):
        store.revoke_token("nope", T0)


def test_ping(store: Store) -> None:
    store.ping()


def test_migrate_twice_applies_nothing(store: Store) -> None:
    assert store.migrate() == []


def test_history_in_any_arrival_order_matches_one_batch(store: Store) -> None:
    """Rollups add up batch by batch, in any order, and a resend adds nothing."""
    rng = np.random.default_rng(5)
    ts = T0 + np.arange(0, 50 * HOUR_MS, 20_000)
    values = rng.normal(0, 1, len(ts))
    store.ingest(one_channel_batch("gw-1", ts, values), T0)
    order = rng.permutation(len(ts) // 500 + 1)
    for i in [*order, order[0]]:  # the first chunk twice
        part = slice(i * 500, (i + 1) * 500)
        if len(ts[part]):
            store.ingest(one_channel_batch("gw-2", ts[part], values[part], first_seq=1 + i * 500), T0)
    for bucket_ms in (HOUR_MS, 86_400_000):
        one = store.history(key("gw-1"), T0, T0 + 50 * HOUR_MS, bucket_ms)
        pieces = store.history(key("gw-2"), T0, T0 + 50 * HOUR_MS, bucket_ms)
        assert [(b.start_ms, b.min, b.max, b.last, b.count) for b in pieces] == [
            (b.start_ms, b.min, b.max, b.last, b.count) for b in one
        ]
        assert np.allclose(
            np.array([b.mean for b in pieces], dtype=float), np.array([b.mean for b in one], dtype=float)
        )


def test_hourly_history_outlives_raw_retention(store: Store) -> None:
    ts = T0 // HOUR_MS * HOUR_MS + np.arange(0, 3 * HOUR_MS, 60_000)
    store.ingest(one_channel_batch("gw-1", ts, np.arange(len(ts), dtype=np.float64)), T0)
    before = store.history(key("gw-1"), int(ts[0]), int(ts[-1]) + 1, HOUR_MS)
    assert store.purge_readings(int(ts[-1]) + 1) == len(ts)
    assert store.history(key("gw-1"), int(ts[0]), int(ts[-1]) + 1, 60_000) == []
    assert store.history(key("gw-1"), int(ts[0]), int(ts[-1]) + 1, HOUR_MS) == before
    assert [(b.count, b.last) for b in before] == [(60, 59.0), (60, 119.0), (60, 179.0)]


def test_history_widens_the_window_to_whole_buckets(store: Store) -> None:
    hour0 = T0 // HOUR_MS * HOUR_MS
    ts = hour0 + np.arange(0, 2 * HOUR_MS, 600_000)
    store.ingest(one_channel_batch("gw-1", ts, np.ones(len(ts))), T0)
    for bucket_ms in (600_000, HOUR_MS):
        got = store.history(key("gw-1"), hour0 + 1, hour0 + HOUR_MS + 1, bucket_ms)
        assert sum(b.count for b in got) == (12 if bucket_ms == HOUR_MS else 7), bucket_ms
