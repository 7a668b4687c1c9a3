"""Is a device answering? Offline after N consecutive failures, retried at a jittered backoff; faulty
after N consecutive exception responses.

A failure is a request that got no usable answer after its retries: a timeout, a broken frame, a lost
connection or port. A Modbus exception is an answer (the device is alive), and so is any good frame.

After ``offline_after_failures`` consecutive failures the device is offline: ``failure`` returns the
``comm`` event (level 2, yellow) and logs one warning. While offline the bus polls it only when
``retry_due``: every ``offline_retry_s`` with +-10 % jitter, so devices that died together do not retry
together. The first good answer returns the clearing event (level 0) and logs one info line. Everything in
between is debug. Times are the clock's monotonic seconds (simulated when the clock fast-forwards).

A device that answers every read with an exception (4 device failure, 11 gateway target failed to respond)
is alive but gives nothing: ``ExceptionWatch`` raises the ``exception`` event (level 2, on the same
``_device`` channel) after as many exception answers in a row as make a device offline, naming the codes,
and clears it at the first good answer. One read that a device always refuses (one bad address) does not:
the device's other reads answer in between.
"""

from __future__ import annotations

import logging
import math
import random

from protocols.quality import exception_text
from protocols.records import Event, Level

log = logging.getLogger(__name__)
RULE = "comm"
EXCEPTION_RULE = "exception"
OFFLINE_LEVEL = int(Level.YELLOW)
JITTER = 0.1
WHY_PLURAL = {
    "timeout": "timeouts",
    "bad_frame": "broken answers",
    "disconnected": "failures (no connection)",
    "port_missing": "failures (port missing)",
    "port_lost": "failures (port lost)",
    "silence": "silent periods (no values)",
}


class DeviceHealth:
    def __init__(
        self,
        device_id: str,
        event_channel: str,
        *,
        offline_after_failures: int,
        offline_retry_s: float,
        rng: random.Random | None = None,
    ) -> None:
        self.device_id = device_id
        self.event_channel = event_channel
        self.offline_after_failures = offline_after_failures
        self.offline_retry_s = offline_retry_s
        self.online = True
        self.consecutive_failures = 0
        self.times_offline = 0
        self.next_retry_s = 0.0
        self._why: dict[str, int] = {}
        self._rng = rng or random.Random()

    def retry_due(self, now_s: float) -> bool:
        return self.online or now_s >= self.next_retry_s

    def success(self, ts_ms: int) -> Event | None:
        """A usable answer arrived; returns the clearing event if the device was offline."""
        self.consecutive_failures = 0
        self._why.clear()
        if self.online:
            return None
        self.online = True
        log.info("device %s is answering again", self.device_id)
        return Event(
            self.event_channel,
            ts_ms,
            RULE,
            level=0,
            previous_level=OFFLINE_LEVEL,
            value=math.nan,
            message="device answering again",
            rule_kind=RULE,
            criterion="offline",
            direction="falling",
        )

    def failure(self, now_s: float, ts_ms: int, why: str) -> Event | None:
        """A request failed (``why``: timeout, bad_frame, disconnected); returns the offline event, once."""
        self.consecutive_failures += 1
        self._why[why] = self._why.get(why, 0) + 1
        if not self.online:
            self.next_retry_s = now_s + self._backoff_s()
            log.debug("device %s still offline (%s); next retry in %.1f s", self.device_id, why,
                      self.next_retry_s - now_s)  # fmt: skip
            return None
        if self.consecutive_failures < self.offline_after_failures:
            log.debug("device %s: %s (%d in a row)", self.device_id, why, self.consecutive_failures)
            return None
        self.online = False
        self.times_offline += 1
        self.next_retry_s = now_s + self._backoff_s()
        message = f"device offline: {self.consecutive_failures} consecutive {self._describe()}"
        log.warning("%s: %s; retrying every %.0f s", self.device_id, message, self.offline_retry_s)
        return Event(
            self.event_channel,
            ts_ms,
            RULE,
            level=OFFLINE_LEVEL,
            previous_level=0,
            value=math.nan,
            message=message,
            rule_kind=RULE,
            criterion="offline",
            direction="rising",
        )

    def snapshot(self) -> dict[str, object]:
        return {
            "online": self.online,
            "consecutive_failures": self.consecutive_failures,
            "times_offline": self.times_offline,
        }

    def _backoff_s(self) -> float:
        return self.offline_retry_s * self._rng.uniform(1 - JITTER, 1 + JITTER)

    def _describe(self) -> str:
        if len(self._why) == 1:
            (why,) = self._why
            return WHY_PLURAL.get(why, f"failures ({why})")
        parts = ", ".join(f"{n} {why}" for why, n in sorted(self._why.items()))
        return f"failed requests ({parts})"


class ExceptionWatch:
    """Exception responses in a row from one device; a fault event after ``after`` of them (see above)."""

    def __init__(self, device_id: str, event_channel: str, *, after: int) -> None:
        self.device_id = device_id
        self.event_channel = event_channel
        self.after = after
        self.faulty = False
        self.consecutive = 0
        self._codes: dict[int, int] = {}

    def exception(self, ts_ms: int, code: int) -> Event | None:
        """An exception response; returns the fault event, once, when the run reaches ``after``."""
        self.consecutive += 1
        self._codes[code] = self._codes.get(code, 0) + 1
        if self.faulty or self.consecutive < self.after:
            return None
        self.faulty = True
        codes = ", ".join(
            f"{exception_text(c)}{f' x{n}' if len(self._codes) > 1 else ''}"
            for c, n in sorted(self._codes.items())
        )
        message = f"device fault: {self.consecutive} consecutive exception responses, {codes}"
        log.warning("%s: %s", self.device_id, message)
        return Event(self.event_channel, ts_ms, EXCEPTION_RULE, level=OFFLINE_LEVEL, previous_level=0,
                     value=math.nan, message=message, rule_kind=EXCEPTION_RULE, criterion="exceptions",
                     direction="rising")  # fmt: skip

    def answered(self, ts_ms: int) -> Event | None:
        """A good answer; returns the clearing event if the device was faulty."""
        self.consecutive = 0
        self._codes.clear()
        if not self.faulty:
            return None
        self.faulty = False
        log.info("device %s answers without exceptions again", self.device_id)
        return Event(self.event_channel, ts_ms, EXCEPTION_RULE, level=0, previous_level=OFFLINE_LEVEL,
                     value=math.nan, message="device answering without exceptions again",
                     rule_kind=EXCEPTION_RULE, criterion="exceptions", direction="falling")  # fmt: skip

    def snapshot(self) -> dict[str, object]:
        return {"faulty": self.faulty, "consecutive_exceptions": self.consecutive}
