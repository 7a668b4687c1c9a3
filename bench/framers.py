"""Serial framers: throughput, and proof that the work is linear in the bytes fed.

    .venv/bin/python bench/framers.py [--mib 4]

Each framer is timed on the same stream fed in 4 KiB chunks (a busy port) and in 1-byte chunks (a slow
port read byte by byte), against a baseline measured in the same run: splitting the whole stream at once
with ``bytes.split`` (and verifying NMEA with the same ``verify``), the least work any framer can do.

Linearity: a stream with no delimiter at all (a babbling device) is fed a byte at a time at 1x, 2x and 4x
the length into a framer whose ``max_line_bytes`` is large (64 KiB), so a framer that rescanned its
buffer per byte would show it. The time per byte should stay flat across the three lengths.

Figures are wall-clock on a shared machine: compare the columns of one run, not runs with each other.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from protocols.framing import NEED_DATA, LineFramer
from protocols.lineproto import LineDecoder
from protocols.nmea import NmeaFramer, build_sentence, format_gga, verify
from protocols.profile import LinePoint, LineSettings

RESULTS = Path(__file__).resolve().parent / "results" / "framers.json"


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def chunks_of(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def line_framer(chunks: list[bytes], max_line_bytes: int = 256) -> int:
    framer = LineFramer(b"\r\n", max_line_bytes)
    n = 0
    for chunk in chunks:
        framer.feed(chunk)
        while framer.next_line() is not NEED_DATA:
            n += 1
    return n


def nmea_framer(chunks: list[bytes]) -> int:
    framer = NmeaFramer()
    n = 0
    for chunk in chunks:
        framer.feed(chunk)
        while framer.next_sentence() is not NEED_DATA:
            n += 1
    return n


def line_decoder(chunks: list[bytes], decoder: LineDecoder) -> int:
    n = 0
    for chunk in chunks:
        decoder.feed(chunk)
        while decoder.next_values() is not NEED_DATA:
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=float, default=2.0, help="stream size for the throughput rows")
    args = ap.parse_args()
    size = int(args.mib * 2**20)

    gga = build_sentence(
        "GN", "GGA",
        format_gga(utc_time=None, latitude_deg=31.84535, longitude_deg=117.19879, fix_quality=4,
                   satellites=24, hdop=0.7, altitude_m=45.937, geoid_separation_m=-3.45),
    )  # fmt: skip
    nmea_stream = gga * (size // len(gga))
    weather = b"T=21.4 RH=55 P=1013.2\r\n"
    line_stream = weather * (size // len(weather))
    settings = LineSettings(pattern=r"T=(?P<t>\S+) RH=(?P<rh>\S+) P=(?P<p>\S+)")
    points = [LinePoint(name="t"), LinePoint(name="rh"), LinePoint(name="p", scale=0.1)]

    rows: list[dict[str, object]] = []

    def row(name: str, stream: bytes, fn: Callable[[], object], baseline_s: float | None) -> None:
        seconds = best_of(3, fn)
        rows.append(
            {
                "case": name,
                "mib": round(len(stream) / 2**20, 2),
                "seconds": round(seconds, 4),
                "mib_per_s": round(len(stream) / 2**20 / seconds, 2),
                "x_baseline": None if baseline_s is None else round(seconds / baseline_s, 1),
            }
        )

    split_s = best_of(3, lambda: line_stream.split(b"\r\n"))
    row("baseline: bytes.split, whole stream", line_stream, lambda: line_stream.split(b"\r\n"), None)
    big, small = chunks_of(line_stream, 4096), chunks_of(line_stream[: size // 16], 1)
    row("LineFramer, 4 KiB chunks", line_stream, lambda: line_framer(big), split_s)
    row("LineFramer, 1-byte chunks (1/16 of the stream)", line_stream[: size // 16],
        lambda: line_framer(small), split_s / 16)  # fmt: skip
    row("LineDecoder, 4 KiB chunks", line_stream, lambda: line_decoder(big, LineDecoder(settings, points)),
        split_s)  # fmt: skip

    def verify_all() -> int:
        return sum(verify(s)[1] is not None for s in nmea_stream.split(b"\r\n") if s)

    verify_s = best_of(3, verify_all)
    row("baseline: split + verify, whole stream", nmea_stream, verify_all, None)
    nmea_big, nmea_small = chunks_of(nmea_stream, 4096), chunks_of(nmea_stream[: size // 16], 1)
    row("NmeaFramer, 4 KiB chunks", nmea_stream, lambda: nmea_framer(nmea_big), verify_s)
    row("NmeaFramer, 1-byte chunks (1/16 of the stream)", nmea_stream[: size // 16],
        lambda: nmea_framer(nmea_small), verify_s / 16)  # fmt: skip

    linear = []
    for factor in (1, 2, 4):
        babble = chunks_of(b"x" * (100_000 * factor), 1)
        seconds = best_of(3, partial(line_framer, babble, max_line_bytes=65_536))
        linear.append({"bytes": 100_000 * factor, "seconds": round(seconds, 4),
                       "ns_per_byte": round(seconds / (100_000 * factor) * 1e9, 1)})  # fmt: skip

    print(f"{'case':<50} {'MiB':>6} {'s':>8} {'MiB/s':>8} {'x baseline':>10}")
    for r in rows:
        xb = "" if r["x_baseline"] is None else f"{r['x_baseline']:>10}"
        print(f"{r['case']:<50} {r['mib']:>6} {r['seconds']:>8} {r['mib_per_s']:>8} {xb:>10}")
    print("\nno delimiter, 1-byte feeds, max_line_bytes 64 KiB (flat ns/byte = linear work):")
    print(f"{'bytes':>10} {'s':>8} {'ns/byte':>8}")
    for lin in linear:
        print(f"{lin['bytes']:>10} {lin['seconds']:>8} {lin['ns_per_byte']:>8}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"throughput": rows, "linearity": linear}, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
