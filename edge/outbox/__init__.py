"""The edge outbox: every reading and event, in one SQLite file, until the central has committed it.

- ``outbox.Outbox``: open, append (never blocks), acknowledge, dead-letter, flush, close;
- ``writer.Writer``: the one thread that writes, in batched commits, and keeps the byte budget;
- ``budget``: what the file uses and what it gives up first (thin, then drop; events never);
- ``reader.OutboxReader``: read connections for the forwarder and ``fieldwatch-edge status``;
- ``schema``: pragmas and the sqlite-utils migrations;
- ``lineage``: the incarnations (one per open) that tell the central which life numbered a row;
- ``salvage``: a corrupt file moved aside and what still reads of it salvaged into a new one.

``docs/durability.md`` is the contract: what is promised, under which settings, and what is counted
when it cannot be kept.
"""

from edge.outbox.opening import meta_hash
from edge.outbox.outbox import Outbox, OutboxError
from edge.outbox.reader import OutboxReader, StoredReadings, open_reader

__all__ = ["Outbox", "OutboxError", "OutboxReader", "StoredReadings", "meta_hash", "open_reader"]
