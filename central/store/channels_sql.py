"""Channels are registered on first sight: a key ``gateway/device/point`` gets an integer id for life."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocols.errors import WireError
from protocols.records import split_channel_key
from protocols.wire import ChannelMeta

if TYPE_CHECKING:
    from central.store.handle import Db

IN_CHUNK = 500  # keys per IN (...) list


class ChannelLimitError(WireError):
    """A batch would register more channels for its gateway than the limit: refused (422) as it is."""


def ensure_channels(
    db: Db,
    keys: list[str],
    *,
    cache: dict[str, int],
    added: dict[str, int],
    now_ms: int,
    meta: dict[str, ChannelMeta] | None = None,
    limit: int | None = None,
    gateway: str = "",
) -> dict[str, int]:
    """key -> channel id for ``keys`` (and every key in ``meta``), registering unknown channels, at most
    ``limit`` of ``gateway``'s in all (``ChannelLimitError``).

    New ids go into ``added``, not ``cache``: the caller adds them once the transaction has committed.
    """
    meta = meta or {}
    wanted = list(dict.fromkeys([*keys, *meta]))
    ids = {k: cache[k] for k in wanted if k in cache}
    missing = [k for k in wanted if k not in ids]
    if missing:
        ids.update(_select_ids(db, missing))
    unknown = [k for k in missing if k not in ids]
    if unknown and limit is not None:
        row = db.one("SELECT count(*) FROM channels WHERE gateway_id = ?", (gateway,))
        having = int(row[0]) if row else 0
        if having + len(unknown) > limit:
            raise ChannelLimitError(
                f"gateway {gateway} would have {having + len(unknown)} channels, more than the limit of "
                f"{limit} (the central's max_channels_per_gateway)"
            )
    if unknown:
        db.many(
            "INSERT INTO channels (key, gateway_id, device, point, unit, profile, first_seen_ms) "
            "VALUES (?, ?, ?, ?, '', '', ?) ON CONFLICT (key) DO NOTHING",
            [(k, *split_channel_key(k), now_ms) for k in unknown],
        )
        ids.update(_select_ids(db, unknown))
    for k in missing:
        added[k] = ids[k]
    if meta:
        db.many(
            "UPDATE channels SET unit = ?, profile = ?, latitude_deg = ?, longitude_deg = ?, range_min = ?, "
            "range_max = ? WHERE id = ?",
            [_meta_row(m, ids[m.key]) for m in meta.values()],
        )
    return ids


def _meta_row(m: ChannelMeta, channel_id: int) -> tuple[Any, ...]:
    lo, hi = m.physical_range if m.physical_range is not None else (None, None)
    return (m.unit, m.profile, m.latitude_deg, m.longitude_deg, lo, hi, channel_id)


def _select_ids(db: Db, keys: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in range(0, len(keys), IN_CHUNK):
        chunk = keys[i : i + IN_CHUNK]
        marks = ", ".join("?" * len(chunk))
        found = db.all(f"SELECT id, key FROM channels WHERE key IN ({marks})", chunk)  # noqa: S608
        out.update((str(key), int(channel_id)) for channel_id, key in found)
    return out
