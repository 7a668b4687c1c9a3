"""Lost and duplicated rows: what each gateway produced against what the central holds.

Every row (reading or event) gets a per-gateway ``seq`` in the gateway's outbox. At the end of the demo:

- the gateway says (``fieldwatch-edge status --json``) how far it produced (``produced_through``), what
  it dropped on purpose and why (``drops``: a full outbox thins old readings, never events), what waits
  in its outbox, and what the central refused as malformed (dead letters);
- the central holds readings (``/api/v1/readings``, each with its seq) and events (each alarm timeline
  entry an event made carries its ``event_seq``).

``lost`` is every seq the gateway produced that the central does not hold and that the gateway does not
account for (dropped, waiting, refused): it must be 0. ``duplicated`` is every stored row beyond one per
seq: it must be 0 too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Delivery:
    gateway: str
    produced: int  # rows (readings and events) the gateway produced: seqs 1..produced
    readings_stored: int
    events_stored: int
    dropped: int  # rows the gateway dropped on purpose (counted by reason in its drops)
    waiting: int  # rows still in the gateway's outbox
    refused: int  # rows in batches the central refused as malformed (dead letters)
    lost: int
    duplicated: int
    unexpected: int  # stored seqs the gateway never produced (must be 0)

    @property
    def stored(self) -> int:
        return self.readings_stored + self.events_stored

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stored": self.stored}


def account(
    gateway: str,
    status: Mapping[str, Any],
    reading_seqs: Iterable[int],
    event_seqs: Iterable[int],
) -> Delivery:
    """The delivery of one gateway (see the module docstring)."""
    produced = int(status.get("produced_through") or 0)
    readings, events = list(reading_seqs), list(event_seqs)
    held = set(readings) | set(events)
    dropped = sum(int(n) for n in dict(status.get("drops") or {}).values())
    waiting = int(status.get("readings") or 0) + int(status.get("events") or 0)
    refused = int(status.get("dead_letter_rows") or 0)
    held_produced = sum(1 for s in held if 1 <= s <= produced)
    return Delivery(
        gateway=gateway,
        produced=produced,
        readings_stored=len(readings),
        events_stored=len(events),
        dropped=dropped,
        waiting=waiting,
        refused=refused,
        lost=max(0, produced - held_produced - dropped - waiting - refused),
        duplicated=len(readings) + len(events) - len(held),
        unexpected=len(held) - held_produced,
    )
