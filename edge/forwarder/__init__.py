"""The forwarder: what leaves the outbox for the central, and what the central's acks delete.

- ``forwarder.Forwarder``: what to send next, delete on ack, dead letters, backoff, the backlog's rate budget;
- ``batches.BatchBuilder``: outbox rows to one wire batch (readings, events, metadata, heartbeat), gzipped.

``docs/durability.md`` is the contract it keeps with the outbox.
"""

from edge.forwarder.forwarder import Forwarder

__all__ = ["Forwarder"]
