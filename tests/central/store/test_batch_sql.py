"""Ingest, the same suite on both stores: idempotent on (gateway, seq), any order, metadata, heartbeats."""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.store import batch_sql
from central.store.base import Store
from protocols.wire import ChannelMeta
from tests.central.builders import SITE, STEP_MS, T0, event, key, readings_batch

ALL_TIME = (0, 1 << 62)
EXAMPLES = itertools.count()


def stored_seqs(store: Store, gateway: str, n_channels: int = 2) -> list[int]:
    out: list[int] = []
    for c in range(n_channels):
        with contextlib.suppress(LookupError):  # a channel that never had a reading
            out += [r.seq for r in store.readings(key(gateway, "dev-1", f"p{c}"), *ALL_TIME, 1_000_000)]
    return sorted(out)


def test_a_batch_is_committed_and_acknowledged(store: Store) -> None:
    outcome = store.ingest(readings_batch("gw-1", range(1, 101)), T0)
    assert outcome.committed == ((1, 100),)
    assert outcome.acked_through == 100
    assert (outcome.readings_added, outcome.readings_repeated) == (100, 0)
    assert stored_seqs(store, "gw-1") == list(range(1, 101))


def test_a_resent_batch_adds_nothing(store: Store) -> None:
    batch = readings_batch("gw-1", range(1, 51), events=[event("gw-1", 51, 2, 0)])
    store.ingest(batch, T0)
    again = store.ingest(batch, T0 + 1000)
    assert (again.readings_added, again.readings_repeated) == (0, 50)
    assert (again.events_added, again.events_repeated) == (0, 1)
    assert again.committed == ((1, 51),)  # committed again (idempotent), so the edge deletes them
    assert again.acked_through == 51
    assert stored_seqs(store, "gw-1") == list(range(1, 51))
    assert store.alarm(1).timeline[0].kind == "raised" and len(store.alarm(1).timeline) == 1


def test_an_overlapping_batch_adds_only_what_is_new(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(1, 11)), T0)
    outcome = store.ingest(readings_batch("gw-1", range(6, 16), batch_id=2), T0)
    assert (outcome.readings_added, outcome.readings_repeated) == (5, 5)
    assert stored_seqs(store, "gw-1") == list(range(1, 16))


def test_acked_through_is_the_highest_committed_seq_even_with_a_hole(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(21, 31)), T0)
    outcome = store.ingest(readings_batch("gw-1", range(1, 11), batch_id=2), T0)
    assert outcome.acked_through == 30
    assert outcome.committed == ((1, 10),)
    assert store.gateway("gw-1").acked_through == 30  # type: ignore[union-attr]


def test_gateways_are_independent(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(1, 11)), T0)
    outcome = store.ingest(readings_batch("gw-2", range(1, 11)), T0)
    assert outcome.readings_added == 10
    assert stored_seqs(store, "gw-2") == list(range(1, 11))


@st.composite
def overlapping_batches(draw: st.DrawFn) -> list[tuple[int, int]]:
    n = draw(st.integers(1, 8))
    spans = [
        (a, a + draw(st.integers(0, 25))) for a in draw(st.lists(st.integers(1, 60), min_size=n, max_size=n))
    ]
    spans += draw(st.lists(st.sampled_from(spans), max_size=4))  # some sent twice
    return draw(st.permutations(spans))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overlapping_batches())
def test_any_order_stores_each_seq_exactly_once(store: Store, spans: list[tuple[int, int]]) -> None:
    gateway = f"gw-h{next(EXAMPLES)}"  # the store outlives the examples: a fresh gateway for each
    for i, (a, b) in enumerate(spans):
        store.ingest(readings_batch(gateway, range(a, b + 1), batch_id=i), T0)
    expected = sorted({s for a, b in spans for s in range(a, b + 1)})
    assert stored_seqs(store, gateway) == expected
    assert store.gateway(gateway).acked_through == max(expected)  # type: ignore[union-attr]


def test_concurrent_ingests_of_one_gateway_store_each_seq_once(store: Store) -> None:
    spans = [(a, a + 40) for a in range(1, 400, 20)]  # every seq in two batches
    random.Random(5).shuffle(spans)
    errors: list[BaseException] = []

    def send(part: list[tuple[int, int]]) -> None:
        try:
            for i, (a, b) in enumerate(part):
                store.ingest(readings_batch("gw-c", range(a, b + 1), batch_id=i), T0)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=send, args=(spans[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert stored_seqs(store, "gw-c") == list(range(1, 422))


def test_channels_register_on_first_sight_with_their_metadata(store: Store) -> None:
    meta = ChannelMeta(key("gw-1", "dev-1", "p0"), "mm", "gnss_nmea_rtk", 30.51, 110.31, (-500.0, 500.0))
    device_event = event("gw-1", 11, 2, 0, rule="comm", channel="gw-1/incl-03/_device")
    store.ingest(readings_batch("gw-1", range(1, 11), channels=[meta], site=SITE, events=[device_event]), T0)
    by_key = {c.key: c for c in store.channels()}
    assert set(by_key) == {"gw-1/dev-1/p0", "gw-1/dev-1/p1", "gw-1/incl-03/_device"}
    p0 = by_key["gw-1/dev-1/p0"]
    assert (p0.unit, p0.profile, p0.physical_range, p0.site_id) == (
        "mm",
        "gnss_nmea_rtk",
        (-500.0, 500.0),
        SITE.id,
    )
    assert (p0.latitude_deg, p0.longitude_deg) == (30.51, 110.31)
    assert (by_key["gw-1/incl-03/_device"].device, by_key["gw-1/incl-03/_device"].point) == (
        "incl-03",
        "_device",
    )
    # metadata sent again later updates the channel
    store.ingest(readings_batch("gw-1", [12], channels=[ChannelMeta(meta.key, "m", "other")], batch_id=2), T0)
    assert [c.unit for c in store.channels(gateway_id="gw-1", device="dev-1")] == ["m", ""]


def test_heartbeat_updates_gateway_health(store: Store) -> None:
    hb = {"version": "0.3.1", "heartbeat_interval_s": 30, "clock_synchronised": True,
          "outbox": {"rows": 12, "bytes": 3400, "oldest_unacked_ms": T0, "events": 0}, "drops": {"full": 2},
          "dead_letters": 0, "buses": {"rs485-1": {"requests": 100, "timeouts": 1}}, "produced_through": 77}  # fmt: skip
    outcome = store.ingest(readings_batch("gw-1", [], heartbeat=hb), T0 + 5000)
    assert outcome.committed == () and outcome.acked_through == 0
    gw = store.gateway("gw-1")
    assert gw is not None
    assert (gw.version, gw.heartbeat_interval_s, gw.last_heartbeat_ms, gw.status) == (
        "0.3.1",
        30.0,
        T0 + 5000,
        "online",
    )
    assert gw.heartbeat == hb


def test_void_readings_keep_their_quality_and_a_null_value(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(1, 11), nan_every=5), T0)
    rows = {r.seq: r for r in store.readings(key("gw-1", "dev-1", "p0"), *ALL_TIME, 100)}
    assert rows[10].value is None and rows[10].quality == 1
    assert rows[8].value == 8.0 and rows[8].quality == 0
    latest = {r.channel: r for r in store.latest()}
    assert latest[key("gw-1", "dev-1", "p0")].value is None  # seq 10 is the newest of p0, and void


def test_latest_is_the_newest_reading_whatever_the_arrival_order(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(11, 21)), T0)
    store.ingest(readings_batch("gw-1", range(1, 11), batch_id=2), T0)
    latest = {r.channel: (r.seq, r.ts_ms) for r in store.latest()}
    assert latest == {
        key("gw-1", "dev-1", "p0"): (20, T0 + 20 * STEP_MS),
        key("gw-1", "dev-1", "p1"): (19, T0 + 19 * STEP_MS),
    }


def test_purge_keeps_latest_and_recent_readings(store: Store) -> None:
    store.ingest(readings_batch("gw-1", range(1, 21)), T0)
    removed = store.purge_readings(T0 + 10 * STEP_MS + 1)
    assert removed == 10
    assert stored_seqs(store, "gw-1") == list(range(11, 21))
    assert len(store.latest()) == 2
    # purged seqs stay committed: resending them adds nothing
    assert store.ingest(readings_batch("gw-1", range(1, 11), batch_id=2), T0).readings_added == 0


def test_large_batch_values_round_trip(store: Store) -> None:
    rng = np.random.default_rng(3)
    batch = readings_batch("gw-1", range(1, 5001), n_channels=50)
    batch.readings.value[:] = rng.normal(0, 1e6, 5000)
    store.ingest(batch, T0)
    got = store.readings(key("gw-1", "dev-1", "p7"), *ALL_TIME, 10_000)
    want = batch.readings.value[batch.readings.channel == 7]
    assert np.array_equal(np.array([r.value for r in got]), want)


def test_sqlite_group_commit_isolates_a_failing_batch(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches waiting for the writer are committed together; one that fails is rolled back alone."""
    real = batch_sql.ingest

    def failing(db: Any, batch: Any, *args: Any, **kwargs: Any) -> Any:
        outcome = real(
            db, batch, *args, **kwargs
        )  # writes its rows, then fails: the savepoint must undo them
        if batch.gateway == "gw-bad":
            raise RuntimeError("disk on fire")
        return outcome

    monkeypatch.setattr(batch_sql, "ingest", failing)
    results: dict[str, object] = {}

    def send(gateway: str) -> None:
        try:
            results[gateway] = sqlite_store.ingest(readings_batch(gateway, range(1, 501)), T0)
        except RuntimeError as e:
            results[gateway] = e

    gateways = [f"gw-{i}" for i in range(6)] + ["gw-bad"]
    threads = [threading.Thread(target=send, args=(g,)) for g in gateways * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert isinstance(results["gw-bad"], RuntimeError)
    assert sqlite_store.gateway("gw-bad") is None and stored_seqs(sqlite_store, "gw-bad") == []
    for g in gateways[:-1]:
        assert stored_seqs(sqlite_store, g) == list(range(1, 501))
    assert sqlite_store.groups["batches"] == len(threads) - 3  # type: ignore[attr-defined]  # gw-bad x3 failed
