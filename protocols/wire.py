"""The edge -> central wire schema, version 1: batches up, acknowledgements down.

A batch is one JSON object (orjson), gzip-compressed when that pays::

    {"v": 1, "gateway": "gw-slope-01", "batch_id": 17, "sent_ms": 1764370000000,
     "seq_ranges": [[1001, 1500]],                      # exactly the seqs this batch carries
     "keys": ["gw-slope-01/gnss-01/north_mm", ...],      # channel keys the readings refer to by index
     "readings": {"seq": [...], "channel": [...], "ts_ms": [...], "value": [...], "quality": [...]},
     "events": [{"seq": 1002, "channel": "gw-slope-01/gnss-01/north_mm", "ts_ms": ..., "rule": "velocity",
                 "level": 2, "previous_level": 1, "value": 12.5, "message": "...",
                 "forecast": {"failure_ts_ms": ..., "r2": 0.93, "points": 40} | null,
                 "rule_kind": "slope", "criterion": "velocity", "unit": "mm/h", "threshold": 10.0,
                 "direction": "rising"}],                # optional (protocols.event_fields)
     "site": {"id", "name", "type", "latitude_deg", "longitude_deg",
              "contact_person"?, "contact_phone"?, "time_zone"?} | null,   # optional: sent when set
     "channels": [{"key", "unit", "profile", "latitude_deg", "longitude_deg",
                   "physical_range": [min, max] | null}],           # device and point: from the key
     "heartbeat": {...} | null,
     "incarnations": [{"id", "first_seq", "parent"}, ...]}   # optional: which outbox life numbered each row

Readings travel as columns; a NaN value travels as null. ``quality`` is ``protocols.quality``'s bit flags
(0 good; 256 ``not_available``: the device had no value, not a fault; the Modbus exception code in bits
16-23), passed through and stored as sent. ``heartbeat`` is the gateway's own snapshot (``edge.heartbeat``),
stored as sent; the central reads one thing from it: ``buses.<bus>.devices.<device>.attributes``, a
device's text points (``{"model_name": "GLM-4", "firmware": "2.1.7"}``), served as the device's attributes
(``GET /api/v1/devices``). ``seq_ranges`` lists the maximal runs of
consecutive seqs the batch carries (readings and events together, events first in priority but not in
seq); a batch whose rows do not match its declared ranges is refused as malformed (a gap: something was
lost between the outbox and the wire, so the edge must resend). The central ingests idempotently on
(gateway, incarnation, seq) and answers with an ``Ack``: the batch's committed ranges and ``acked_through``,
the highest seq it has committed of the batch's outbox (its current incarnation's epoch). The edge deletes
exactly the acknowledged rows.

``incarnations`` (``protocols.incarnations``) says which life of which outbox numbered each row; a batch
without it is a legacy batch, all of whose rows belong to the legacy incarnation ``""``: it is accepted
as before. Bounds: every seq is below 2^53 (exact in JSON numbers everywhere); coordinates are degrees
within -90..90 and -180..180; a heartbeat's ``heartbeat_interval_s`` is 1..3600 seconds.

Sans-I/O: bytes in, ``Batch``/``Ack`` out, and back.

Over 400 lines because the reference above, the encoder and the strict decoder of one format belong
together: a field changes in all three at once.
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from protocols import event_fields
from protocols import incarnations as inc
from protocols.errors import WireError
from protocols.incarnations import Incarnation
from protocols.records import Event, Forecast, ReadingBlock, split_channel_key

VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
GZIP_MIN_BYTES = 1024  # below this gzip costs more than it saves
MAX_DECODED_BYTES = 64 << 20  # a hostile gzip body stops here
MIN_TS_MS = 946_684_800_000  # 2000-01-01
MAX_TS_MS = 4_102_444_800_000  # 2100-01-01
MAX_SEQ = (1 << 53) - 1  # exact in a JSON number (a double) everywhere
MAX_LATITUDE_DEG = 90.0
MAX_LONGITUDE_DEG = 180.0
HEARTBEAT_INTERVAL_S = (1.0, 3600.0)


@dataclass(frozen=True, slots=True)
class SiteMeta:
    id: str
    name: str
    type: str
    latitude_deg: float
    longitude_deg: float
    contact_person: str | None = None  # optional on the wire (sent when set)
    contact_phone: str | None = None
    time_zone: str | None = None


SITE_EXTRAS = ("contact_person", "contact_phone", "time_zone")


@dataclass(frozen=True, slots=True)
class ChannelMeta:
    key: str
    unit: str
    profile: str
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    physical_range: tuple[float, float] | None = None

    @property
    def device(self) -> str:
        return split_channel_key(self.key)[1]

    @property
    def point(self) -> str:
        return split_channel_key(self.key)[2]


@dataclass(slots=True)
class Batch:
    """One batch from one gateway. ``readings.channel`` indexes ``keys``."""

    gateway: str
    batch_id: int
    sent_ms: int
    keys: list[str] = field(default_factory=list)
    readings: ReadingBlock = field(default_factory=ReadingBlock)
    reading_seq: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    events: list[Event] = field(default_factory=list)
    site: SiteMeta | None = None
    channels: list[ChannelMeta] = field(default_factory=list)
    heartbeat: dict[str, Any] | None = None
    incarnations: list[Incarnation] = field(default_factory=list)  # empty: a legacy batch

    @property
    def row_count(self) -> int:
        return len(self.readings) + len(self.events)

    def seqs(self) -> npt.NDArray[np.int64]:
        """Every seq the batch carries, sorted."""
        ev = np.fromiter((e.seq for e in self.events), dtype=np.int64, count=len(self.events))
        return np.sort(np.concatenate([self.reading_seq, ev]))

    def seq_ranges(self) -> list[tuple[int, int]]:
        return seq_ranges(self.seqs())


@dataclass(frozen=True, slots=True)
class Ack:
    """The central's answer to one batch."""

    gateway: str
    batch_id: int
    acked_through: int  # the highest seq the central has committed for this gateway (0: none)
    committed: tuple[tuple[int, int], ...] = ()  # the batch's ranges, now committed
    error: str | None = None  # set when the batch was refused as malformed: do not resend it

    @property
    def refused(self) -> bool:
        return self.error is not None


def seq_ranges(sorted_seqs: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive values: [1, 2, 3, 7, 8] -> [(1, 3), (7, 8)]."""
    if len(sorted_seqs) == 0:
        return []
    breaks = np.flatnonzero(np.diff(sorted_seqs) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(sorted_seqs) - 1]])
    return [(int(sorted_seqs[s]), int(sorted_seqs[e])) for s, e in zip(starts, ends, strict=True)]


# ---------------------------------------------------------------- encoding


def _event_dict(e: Event) -> dict[str, Any]:
    f = e.forecast
    return {
        "seq": e.seq, "channel": e.channel, "ts_ms": e.ts_ms, "rule": e.rule, "level": e.level,
        "previous_level": e.previous_level, "value": e.value if math.isfinite(e.value) else None,
        "message": e.message,
        "forecast": None if f is None else {"failure_ts_ms": f.failure_ts_ms, "r2": f.r2, "points": f.points},
        **event_fields.detail(e),
    }  # fmt: skip


def batch_to_dict(b: Batch) -> dict[str, Any]:
    out = {
        "v": VERSION,
        "gateway": b.gateway,
        "batch_id": b.batch_id,
        "sent_ms": b.sent_ms,
        "seq_ranges": b.seq_ranges(),
        "keys": b.keys,
        "readings": {
            "seq": b.reading_seq,
            "channel": b.readings.channel,
            "ts_ms": b.readings.ts_ms,
            "value": b.readings.value,
            "quality": b.readings.quality,
        },
        "events": [_event_dict(e) for e in b.events],
        "site": None if b.site is None else {
            "id": b.site.id, "name": b.site.name, "type": b.site.type,
            "latitude_deg": b.site.latitude_deg, "longitude_deg": b.site.longitude_deg,
            **{k: getattr(b.site, k) for k in SITE_EXTRAS if getattr(b.site, k) is not None},
        },
        "channels": [
            {"key": c.key, "unit": c.unit, "profile": c.profile, "latitude_deg": c.latitude_deg,
             "longitude_deg": c.longitude_deg,
             "physical_range": None if c.physical_range is None else list(c.physical_range)}
            for c in b.channels
        ],
        "heartbeat": b.heartbeat,
    }  # fmt: skip
    if b.incarnations:
        out["incarnations"] = inc.to_wire(b.incarnations)
    return out


def encode_batch(b: Batch) -> bytes:
    """The batch as JSON bytes (uncompressed)."""
    return orjson.dumps(batch_to_dict(b), option=orjson.OPT_SERIALIZE_NUMPY)


def compress(body: bytes, level: int = 6, min_bytes: int = GZIP_MIN_BYTES) -> tuple[bytes, bool]:
    """``(payload, gzipped?)``: gzip at ``level`` when the body is large enough for it to pay."""
    if len(body) < min_bytes:
        return body, False
    packed = gzip.compress(body, compresslevel=level, mtime=0)
    return (packed, True) if len(packed) < len(body) else (body, False)


def decompress(payload: bytes, max_bytes: int = MAX_DECODED_BYTES) -> bytes:
    """The body of a payload that may be gzip (detected by its magic); WireError past ``max_bytes``."""
    if not payload.startswith(GZIP_MAGIC):
        if len(payload) > max_bytes:
            raise WireError(f"body of {len(payload)} bytes is over the limit of {max_bytes}")
        return payload
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(payload, max_bytes + 1)
    except zlib.error as e:
        raise WireError(f"gzip body is corrupt: {e}") from None
    if len(out) > max_bytes:
        raise WireError(f"gzip body inflates past the limit of {max_bytes} bytes")
    if not inflater.eof:
        raise WireError("gzip body is truncated")
    return out


# ---------------------------------------------------------------- decoding with precise rejection


def _req(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise WireError(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise WireError(f"{where}.{key}: expected {_kind_name(kind)} (got {type(value).__name__})")
    return value


def _opt(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if obj.get(key) is None:
        return None
    return _req(obj, key, kind, where)


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _as_tuple(kind))


def _int_column(values: Any, name: str, lo: int, hi: int) -> npt.NDArray[np.int64]:
    if not isinstance(values, list):
        raise WireError(f"readings.{name}: expected a list of integers")
    if not values:
        return np.empty(0, dtype=np.int64)
    try:
        arr = np.array(values)
    except (ValueError, OverflowError):
        arr = np.array([], dtype=object)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise WireError(f"readings.{name}: expected a list of 64-bit integers")
    if arr.min() < lo or arr.max() > hi:
        bad = int(arr[(arr < lo) | (arr > hi)][0])
        raise WireError(f"readings.{name}: {bad} is outside {lo}..{hi}")
    return arr.astype(np.int64, copy=False)


def _float_column(values: Any) -> npt.NDArray[np.float64]:
    if not isinstance(values, list):
        raise WireError("readings.value: expected a list of numbers or nulls")
    arr = np.array(values)
    if arr.dtype.kind in "iuf" and arr.ndim == 1:
        return arr.astype(np.float64, copy=False)
    if arr.dtype == object and arr.ndim == 1:  # nulls (NaN on the edge) among the numbers
        try:
            return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        except (TypeError, ValueError):
            pass
    if len(values) == 0:
        return np.empty(0, dtype=np.float64)
    raise WireError("readings.value: expected a list of numbers or nulls")


def _readings(obj: Any, nkeys: int) -> tuple[ReadingBlock, npt.NDArray[np.int64]]:
    if not isinstance(obj, dict):
        raise WireError("readings: expected an object of columns")
    cols = ("seq", "channel", "ts_ms", "value", "quality")
    for c in cols:
        if c not in obj:
            raise WireError(f"readings: missing column {c!r}")
    seq = _int_column(obj["seq"], "seq", 1, MAX_SEQ)
    channel = _int_column(obj["channel"], "channel", 0, max(nkeys - 1, 0))
    if len(channel) and nkeys == 0:
        raise WireError("readings.channel: refers to keys, but keys is empty")
    ts = _int_column(obj["ts_ms"], "ts_ms", MIN_TS_MS, MAX_TS_MS)
    quality = _int_column(obj["quality"], "quality", 0, 0xFFFFFFFF)
    value = _float_column(obj["value"])
    lengths = {c: len(a) for c, a in zip(cols, (seq, channel, ts, value, quality), strict=True)}
    if len(set(lengths.values())) != 1:
        raise WireError(f"readings: columns differ in length: {lengths}")
    return ReadingBlock.of(channel, ts, value, quality), seq


def _event(obj: Any, i: int, gateway: str) -> Event:
    where = f"events[{i}]"
    if not isinstance(obj, dict):
        raise WireError(f"{where}: expected an object")
    seq = _req(obj, "seq", int, where)
    channel = _req(obj, "channel", str, where)
    _check_key(channel, gateway, f"{where}.channel")
    ts = _req(obj, "ts_ms", int, where)
    level = _req(obj, "level", int, where)
    prev = _req(obj, "previous_level", int, where)
    if not 1 <= seq <= MAX_SEQ:
        raise WireError(f"{where}.seq: {seq} is outside 1..{MAX_SEQ}")
    if not MIN_TS_MS <= ts <= MAX_TS_MS:
        raise WireError(f"{where}.ts_ms: {ts} is not a time between 2000 and 2100")
    if not (0 <= level <= 4 and 0 <= prev <= 4) or level == prev:
        raise WireError(f"{where}: levels must be 0-4 and differ (got {prev} -> {level})")
    value = _opt(obj, "value", (int, float), where)
    fc = _opt(obj, "forecast", dict, where)
    forecast = None
    if fc is not None:
        forecast = Forecast(
            _req(fc, "failure_ts_ms", int, f"{where}.forecast"),
            float(_req(fc, "r2", (int, float), f"{where}.forecast")),
            _req(fc, "points", int, f"{where}.forecast"),
        )
    bad = event_fields.problems(obj)
    if bad:
        raise WireError(f"{where}.{bad[0]}")
    event = Event(
        channel=channel, ts_ms=ts, rule=_req(obj, "rule", str, where), level=level, previous_level=prev,
        value=math.nan if value is None else float(value), message=_req(obj, "message", str, where),
        forecast=forecast, seq=seq,
    )  # fmt: skip
    return event_fields.with_detail(event, obj)


def _check_key(key: str, gateway: str, where: str) -> None:
    try:
        gw, _, _ = split_channel_key(key)
    except ValueError as e:
        raise WireError(f"{where}: {e}") from None
    if gw != gateway:
        raise WireError(f"{where}: channel {key!r} belongs to gateway {gw!r}, not {gateway!r}")


def _channels(objs: Any, gateway: str) -> list[ChannelMeta]:
    if not isinstance(objs, list):
        raise WireError("channels: expected a list")
    out = []
    for i, c in enumerate(objs):
        where = f"channels[{i}]"
        if not isinstance(c, dict):
            raise WireError(f"{where}: expected an object")
        key = _req(c, "key", str, where)
        _check_key(key, gateway, f"{where}.key")
        rng = _opt(c, "physical_range", list, where)
        if rng is not None and (len(rng) != 2 or not all(isinstance(v, int | float) for v in rng)):
            raise WireError(f"{where}.physical_range: expected [min, max]")
        lat = _opt(c, "latitude_deg", (int, float), where)
        lon = _opt(c, "longitude_deg", (int, float), where)
        if lat is not None:
            _check_degrees(lat, MAX_LATITUDE_DEG, f"{where}.latitude_deg")
        if lon is not None:
            _check_degrees(lon, MAX_LONGITUDE_DEG, f"{where}.longitude_deg")
        out.append(
            ChannelMeta(
                key,
                _req(c, "unit", str, where),
                _req(c, "profile", str, where),
                None if lat is None else float(lat),
                None if lon is None else float(lon),
                None if rng is None else (float(rng[0]), float(rng[1])),
            )
        )
    return out


def _site(obj: Any) -> SiteMeta | None:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise WireError("site: expected an object or null")
    lat = _check_degrees(
        _req(obj, "latitude_deg", (int, float), "site"), MAX_LATITUDE_DEG, "site.latitude_deg"
    )
    lon = _check_degrees(
        _req(obj, "longitude_deg", (int, float), "site"), MAX_LONGITUDE_DEG, "site.longitude_deg"
    )
    extras = {k: _opt(obj, k, str, "site") for k in SITE_EXTRAS}
    return SiteMeta(
        _req(obj, "id", str, "site"), _req(obj, "name", str, "site"), _req(obj, "type", str, "site"),
        lat, lon, **extras,
    )  # fmt: skip


def _check_degrees(value: float, limit: float, where: str) -> float:
    """A coordinate in degrees within -limit..limit (latitude 90, longitude 180); NaN is outside too."""
    if not -limit <= value <= limit:
        raise WireError(f"{where}: {value} is outside -{limit:g}..{limit:g} degrees")
    return float(value)


def _heartbeat(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """The heartbeat as sent; the one figure the central acts on (the silence timer) must be sane."""
    if obj is None or "heartbeat_interval_s" not in obj:
        return obj
    interval = obj["heartbeat_interval_s"]
    lo, hi = HEARTBEAT_INTERVAL_S
    if isinstance(interval, bool) or not isinstance(interval, int | float) or not lo <= interval <= hi:
        raise WireError(
            f"heartbeat.heartbeat_interval_s: expected seconds in {lo:g}..{hi:g} (got {interval!r})"
        )
    return obj


def decode_batch(payload: bytes, max_bytes: int = MAX_DECODED_BYTES) -> Batch:
    """A batch from wire bytes (gzip or not); ``WireError`` naming exactly what is malformed."""
    body = decompress(payload, max_bytes)
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise WireError(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise WireError("a batch is a JSON object")
    version = obj.get("v")
    if version != VERSION:
        raise WireError(f"v: this central speaks wire version {VERSION} (got {version!r})")
    gateway = _req(obj, "gateway", str, "batch")
    if not gateway:
        raise WireError("batch.gateway: empty")
    keys = _req(obj, "keys", list, "batch")
    prefix = gateway + "/"
    for i, k in enumerate(keys):
        # the common case in one cheap test; anything else gets the precise check and its message
        plain = type(k) is str and k.startswith(prefix) and k.count("/") == 2
        if not (plain and "//" not in k and k[-1] != "/"):
            if not isinstance(k, str):
                raise WireError(f"keys[{i}]: expected a string")
            _check_key(k, gateway, f"keys[{i}]")
    readings, reading_seq = _readings(
        obj.get("readings", {"seq": [], "channel": [], "ts_ms": [], "value": [], "quality": []}), len(keys)
    )
    events_raw = _req(obj, "events", list, "batch") if "events" in obj else []
    hb = _heartbeat(_opt(obj, "heartbeat", dict, "batch"))
    batch = Batch(
        gateway=gateway, batch_id=_req(obj, "batch_id", int, "batch"),
        sent_ms=_req(obj, "sent_ms", int, "batch"),
        keys=keys, readings=readings, reading_seq=reading_seq,
        events=[_event(e, i, gateway) for i, e in enumerate(events_raw)],
        site=_site(obj.get("site")), channels=_channels(obj.get("channels") or [], gateway), heartbeat=hb,
        incarnations=inc.from_wire(obj.get("incarnations"), MAX_SEQ),
    )  # fmt: skip
    _check_ranges(batch, _req(obj, "seq_ranges", list, "batch"))
    return batch


def _check_ranges(batch: Batch, declared_raw: list[Any]) -> None:
    declared: list[tuple[int, int]] = []
    for i, r in enumerate(declared_raw):
        if not (isinstance(r, list) and len(r) == 2 and all(type(v) is int for v in r)) or not (
            1 <= r[0] <= r[1] <= MAX_SEQ
        ):
            raise WireError(
                f"seq_ranges[{i}]: expected [first, last] with 1 <= first <= last < 2^53 (got {r!r})"
            )
        declared.append((r[0], r[1]))
    seqs = batch.seqs()
    if len(seqs) and seqs[0] < batch.incarnations[0].first_seq:
        raise WireError(f"seq {int(seqs[0])} is below the first listed incarnation's first_seq")
    if len(seqs) > 1 and (dup := seqs[1:][np.diff(seqs) == 0]).size:
        raise WireError(f"seq {int(dup[0])} appears twice in the batch")
    carried = seq_ranges(seqs)
    if carried != sorted(declared):
        missing = _first_missing(sorted(declared), seqs)
        detail = f"; seq {missing} is missing" if missing is not None else ""
        raise WireError(
            f"gap: the batch declares seq ranges {_fmt(sorted(declared))} but carries {_fmt(carried)}{detail}"
        )


def _first_missing(declared: list[tuple[int, int]], seqs: npt.NDArray[np.int64]) -> int | None:
    have = set(seqs.tolist()) if len(seqs) < 1_000_000 else None
    for lo, hi in declared:
        for s in range(lo, min(hi, lo + 1_000_000) + 1):
            if have is not None and s not in have:
                return s
    return None


def _fmt(ranges: list[tuple[int, int]]) -> str:
    shown = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges[:5])
    return f"[{shown}{', ...' if len(ranges) > 5 else ''}]"


# ---------------------------------------------------------------- acknowledgements


def encode_ack(ack: Ack) -> bytes:
    return orjson.dumps(
        {
            "v": VERSION,
            "gateway": ack.gateway,
            "batch_id": ack.batch_id,
            "acked_through": ack.acked_through,
            "committed": [list(r) for r in ack.committed],
            "error": ack.error,
        }
    )


def decode_ack(payload: bytes) -> Ack:
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise WireError(f"ack is not JSON: {e}") from None
    if not isinstance(obj, dict) or obj.get("v") != VERSION:
        raise WireError(f"ack: expected a version {VERSION} object")
    committed = _req(obj, "committed", list, "ack")
    ranges = []
    for r in committed:
        if not (isinstance(r, list) and len(r) == 2 and all(type(v) is int for v in r) and r[0] <= r[1]):
            raise WireError(f"ack.committed: bad range {r!r}")
        ranges.append((r[0], r[1]))
    return Ack(
        _req(obj, "gateway", str, "ack"),
        _req(obj, "batch_id", int, "ack"),
        _req(obj, "acked_through", int, "ack"),
        tuple(ranges),
        _opt(obj, "error", str, "ack"),
    )
