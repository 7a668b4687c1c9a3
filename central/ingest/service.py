"""From batch bytes to a committed batch and its acknowledgement: the one path HTTP and MQTT share.

``Ingestor.ingest(payload, allowed_gateway=..., transport=...)`` decodes the batch (gzip detected by its
magic), refuses it if it belongs to another gateway than the caller may write for, commits it through
the store (decode and commit run together on a store thread, off the event loop), publishes the alarm
and gateway changes to the live feed, and returns the ``Ack``. A malformed batch gets an ``Ack`` whose
``error`` names the problem (HTTP answers it with 422; MQTT publishes it on the ack topic), so the edge
dead-letters it instead of resending it forever.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from central.changes import ChangeHub
from central.store.base import Store
from central.store.records import IngestOutcome
from protocols.errors import WireError
from protocols.wire import Ack, Batch, decode_batch, decompress

logger = logging.getLogger(__name__)


class GatewayMismatchError(Exception):
    """The batch belongs to a gateway the sender may not write for (HTTP 403; MQTT: a refused ack)."""


def peek(payload: bytes, max_bytes: int) -> tuple[str, int]:
    """The gateway and batch id of a payload that failed to decode, as far as they can be read."""
    try:
        obj = orjson.loads(decompress(payload, max_bytes))
    except (WireError, orjson.JSONDecodeError):
        return "", 0
    if not isinstance(obj, dict):
        return "", 0
    gateway, batch_id = obj.get("gateway"), obj.get("batch_id")
    return (
        gateway if isinstance(gateway, str) else "",
        batch_id if isinstance(batch_id, int) and not isinstance(batch_id, bool) else 0,
    )


def _check_text(batch: Batch) -> None:
    """Refuse NUL characters: PostgreSQL cannot store them in text, and no real device sends them."""
    texts = [batch.gateway, *batch.keys]
    texts += [t for e in batch.events for t in (e.rule, e.message)]
    if batch.site is not None:
        texts += [batch.site.id, batch.site.name, batch.site.type]
    texts += [t for c in batch.channels for t in (c.unit, c.profile)]
    if any("\x00" in t for t in texts):
        raise WireError("text fields must not contain NUL characters")


class Ingestor:
    def __init__(
        self,
        store: Store,
        hub: ChangeHub,
        clock_ms: Callable[[], int],
        max_batch_bytes: int,
        *,
        max_channels_per_gateway: int | None = None,
    ) -> None:
        self.store = store
        self.hub = hub
        self.clock_ms = clock_ms
        self.max_batch_bytes = max_batch_bytes
        self.max_channels = max_channels_per_gateway
        self.counters: Counter[tuple[str, str]] = Counter()

    async def ingest(self, payload: bytes, *, allowed_gateway: Callable[[str], bool], transport: str) -> Ack:
        self.counters["bytes_received", transport] += len(payload)
        run = self.store.query if transport == "http" else self.store.call  # a request may be turned away
        try:
            outcome, batch = await run(self._commit, payload, allowed_gateway)
        except WireError as e:
            self.counters["batches_refused", transport] += 1
            gateway, batch_id = peek(payload, self.max_batch_bytes)
            logger.info("refused a batch from %r over %s: %s", gateway or "?", transport, e)
            return Ack(gateway, batch_id, 0, (), str(e))
        except GatewayMismatchError:
            self.counters["batches_forbidden", transport] += 1
            raise
        self._count(outcome, transport)
        await self.hub.announce(outcome.alarm_changes, outcome.gateway_changes)
        return Ack(batch.gateway, batch.batch_id, outcome.acked_through, outcome.committed)

    def _commit(self, payload: bytes, allowed_gateway: Callable[[str], bool]) -> tuple[IngestOutcome, Batch]:
        batch = decode_batch(payload, self.max_batch_bytes)
        if not allowed_gateway(batch.gateway):
            raise GatewayMismatchError(batch.gateway)
        _check_text(batch)
        return self.store.ingest(batch, self.clock_ms(), max_channels=self.max_channels), batch

    def _count(self, outcome: IngestOutcome, transport: str) -> None:
        c = self.counters
        c["batches_committed", transport] += 1
        c["readings_added", transport] += outcome.readings_added
        c["readings_repeated", transport] += outcome.readings_repeated
        c["events_added", transport] += outcome.events_added
        c["events_repeated", transport] += outcome.events_repeated
        if outcome.site_refused:
            c["site_metadata_refused", transport] += 1

    def statistics(self) -> dict[str, Any]:
        """Counters by (name, transport), e.g. ``{"readings_added": {"http": 1000, "mqtt": 0}}``."""
        out: dict[str, dict[str, int]] = {}
        for (name, transport), n in sorted(self.counters.items()):
            out.setdefault(name, {})[transport] = n
        return out
