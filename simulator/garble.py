"""Garbled serial output: what a loose connector or a motor starting next to the cable does to a line.

``Garbler.garble(data, t_s)`` damages one message in one of four ways, chosen by deterministic noise
(``simulator.noise``) from the seed, the device and the instant:

- flip one bit of one byte (a checksum or pattern mismatch);
- cut a piece out of the middle (a sentence without its end, the next one's start glued on);
- put a burst of noise bytes in front (garbage between frames);
- replace a few characters with ``?`` (framing errors as a UART reports them).

A line protocol has no checksum: a flipped digit or a cut would pass as a wrong value (21.3 degC read as
1.3), which a real sensor line also does, but which would raise false alarms in a story whose point is a
different one. ``checksummed=False`` keeps to the last two ways, which no line pattern accepts.
"""

from __future__ import annotations

import math

from simulator.noise import stream_id, uniform

NOISE_BURST = bytes(range(0x80, 0x90)) + b"\x00\xff~}|"


class Garbler:
    def __init__(self, seed: int, device_id: str, *, checksummed: bool = True) -> None:
        self._stream = stream_id(seed, f"{device_id}/garble")
        self._ways = (0, 1, 2, 3) if checksummed else (2, 3)
        self.active = False
        self._count = 0

    def _pick(self, n: int, salt: int) -> int:
        tick = self._count * 8 + salt
        return min(n - 1, math.floor(uniform(self._stream, tick) * n))

    def garble(self, data: bytes, t_s: float) -> bytes:
        """``data`` damaged one way (see the module docstring); never longer than twice its length."""
        self._count = self._count + 1 + int(t_s) % 7
        if len(data) < 4:
            return data[::-1]
        how = self._ways[self._pick(len(self._ways), 0)]
        i = self._pick(len(data) - 2, 1) + 1
        if how == 0:
            return data[:i] + bytes([data[i] ^ (1 << self._pick(7, 2))]) + data[i + 1 :]
        if how == 1:
            cut = 1 + self._pick(max(1, len(data) // 3), 3)
            return data[:i] + data[i + cut :]
        if how == 2:
            burst = NOISE_BURST[: 3 + self._pick(len(NOISE_BURST) - 3, 4)]
            return burst + data
        out = bytearray(data)
        for salt in range(3):
            out[1 + self._pick(len(data) - 2, 5 + salt)] = ord("?")
        return bytes(out)
