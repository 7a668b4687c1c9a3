"""The hand-over between acquisition and what follows it (detection, outbox).

Acquisition tasks produce blocks of decoded readings and device events and hand them to a ``Sink``.
``put_*`` never blocks and never awaits: a bus task must not stall on a slow consumer. The agent's real
sink runs detection and appends to the outbox; ``ListSink`` collects, for ``poll`` and for tests.
"""

from __future__ import annotations

from typing import Protocol

from protocols.records import Event, ReadingBlock


class Sink(Protocol):
    def put_readings(self, block: ReadingBlock) -> None: ...

    def put_event(self, event: Event) -> None: ...


class ListSink:
    """Keeps everything it is given, in order."""

    def __init__(self) -> None:
        self.blocks: list[ReadingBlock] = []
        self.events: list[Event] = []

    def put_readings(self, block: ReadingBlock) -> None:
        self.blocks.append(block)

    def put_event(self, event: Event) -> None:
        self.events.append(event)

    def readings(self) -> ReadingBlock:
        return ReadingBlock.concat(self.blocks)
