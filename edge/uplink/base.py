"""What the forwarder needs from an uplink, and the errors an uplink may raise.

An uplink sends one encoded batch and returns the central's ``Ack`` (committed, or refused for good with
``error`` set). Everything else is an exception, and the forwarder's answer depends on which:

    UplinkError
    ├── TransientError   the network, a timeout, a 5xx, a broker that is away: retry with backoff
    │   └── NotDeliveredError   ... and the batch certainly never reached the central (no connection, 503)
    ├── AuthError        401/403, a refused MQTT login: configuration; log it once, retry slowly
    └── TooLargeError    413: send half as many rows

``run()`` keeps a connection up where the transport has one (MQTT) and returns at once where it does not
(HTTP). An ack that arrives for no batch in flight (MQTT: queued in the persistent session while the
gateway was down) goes to ``on_stray_ack``: its committed rows may be deleted like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from protocols.wire import Ack


class UplinkError(Exception):
    """Sending failed; the batch stays in the outbox."""


class TransientError(UplinkError):
    """The network, a timeout, a 5xx, a broker away: try again later."""


class NotDeliveredError(TransientError):
    """A transient failure after which the central certainly has not committed the batch (the connection
    was never made, or the central said it stored nothing): its rows are not in flight any more."""


class AuthError(UplinkError):
    """The central refuses our credentials (401/403): a configuration problem, not the batch's fault."""


class TooLargeError(UplinkError):
    """The central refuses the batch's size (413): send fewer rows."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One encoded batch, ready for the wire."""

    batch_id: int
    payload: bytes
    gzipped: bool
    rows: int
    seq_ranges: tuple[tuple[int, int], ...] = ()  # the seqs it carries (for logs; the payload says it too)


class Uplink(Protocol):
    name: str
    on_stray_ack: Callable[[Ack], None] | None

    async def run(self) -> None:
        """Keep the connection up (MQTT); return at once when there is none to keep (HTTP)."""

    async def send(self, batch: Outgoing) -> Ack:
        """The central's answer to ``batch``; an ``UplinkError`` when there is none."""

    def statistics(self) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...
