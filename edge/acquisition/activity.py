"""Whether the Modbus bus tasks are polling or all asleep: the moment to act on what they brought."""

from __future__ import annotations

from collections.abc import Callable


class BusActivity:
    """How many Modbus bus tasks are awake; ``on_idle()`` runs when the last of them goes to sleep.

    The buses share one poll grid, so they wake together, poll, and go back to sleep within a few
    milliseconds. The moment the last one sleeps, everything this instant's polls brought is in the
    sink: the agent detects and stores it then (one flush, in the same wake-up as the polls, with nothing
    left to run on the event loop while the outbox writer commits it) instead of waiting for a timer.
    """

    def __init__(self, on_idle: Callable[[], None] | None = None) -> None:
        self.on_idle = on_idle
        self.awake = 0

    def waking(self) -> None:
        self.awake += 1

    def sleeping(self) -> None:
        self.awake -= 1
        if self.awake == 0 and self.on_idle is not None:
            self.on_idle()

    def leaving(self) -> None:
        """A task that was awake ends (cancelled, or failed and to be restarted): no ``on_idle`` for it."""
        self.awake -= 1
