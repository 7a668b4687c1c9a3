"""The detector bank: every channel's anomaly detector and warning rules, stepped block by block.

``step(block)`` runs two numba passes over the block (``anomalykernel.anomaly_step`` for the scores, then
``rulekernel.rules_step`` for the rules, which read the scores), then turns the kernel's transitions into
``Event`` records and replays them through the site's combined rules. Results do not depend on how samples
are split into blocks: every kernel walks its samples one by one in block order.

``state()`` captures everything needed to continue after a restart (rule levels and pending delays, ring
buffers, learned detectors, combined levels) together with a fingerprint of the layout it belongs to;
``restore()`` refuses a state whose layout differs, naming the first difference.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import astuple, dataclass

import numpy as np
import numpy.typing as npt

from edge.detect import rulekernel as rk
from edge.detect.anomaly import DEFAULT_ANOMALY, AnomalyConfig
from edge.detect.anomalykernel import anomaly_step
from edge.detect.combined import COMBINED_DEVICE, COMBINED_POINT, Joint, resolve, watchers
from edge.detect.fired import fired
from edge.detect.messages import describe_combined, phrase, say_fired
from edge.detect.tables import build_tables
from protocols.config import BoundSite, Channel
from protocols.quality import NO_VALUE, Quality
from protocols.records import (
    Event,
    EventKind,
    Forecast,
    ReadingBlock,
    channel_key,
    event_kind,
    split_channel_key,
)
from protocols.site import CombinedRule

STATE_VERSION = 1
NO_VALUE_MASK = np.uint32(int(NO_VALUE))
OUT_OF_RANGE = np.uint32(int(Quality.OUT_OF_RANGE))
NOT_AVAILABLE = np.uint32(int(Quality.NOT_AVAILABLE))


KERNELS = {"anomaly_step": anomaly_step, "rules_step": rk.rules_step}  # what ``step`` calls


@dataclass(frozen=True, slots=True)
class WarmUp:
    """What ``DetectorBank.warm_up`` did."""

    seconds: float
    compiled: tuple[str, ...]  # kernels numba compiled now: its cache did not have them (or was stale)
    cache_dir: str  # where numba keeps them: NUMBA_CACHE_DIR, or __pycache__ beside the kernels' source


def _cache_misses(kernel: object) -> int:
    stats = getattr(kernel, "stats", None)  # None under NUMBA_DISABLE_JIT=1: plain Python functions
    return 0 if stats is None else sum(stats.cache_misses.values())


def numba_cache_dir() -> str:
    stats = getattr(anomaly_step, "stats", None)
    return "(no JIT: NUMBA_DISABLE_JIT=1)" if stats is None else str(stats.cache_path)


class StateMismatchError(ValueError):
    """A saved state belongs to another channel or rule layout (or another detector version)."""


@dataclass(frozen=True, slots=True)
class StepResult:
    scores: npt.NDArray[np.float64]  # one anomaly score per sample of the block, in [0, 1]
    events: list[Event]  # in the order they happened


@dataclass(frozen=True, slots=True)
class OpenAlarm:
    channel: str
    rule: str
    level: int
    since_ts_ms: int  # when the alarm last changed level
    value: float  # the measured quantity at that change
    forecast: Forecast | None = None


_KIND_NAMES = {(p, q): event_kind(p, q).name.lower() for p in range(5) for q in range(5) if p != q}


def _forecast(ts_ms: float, r2: float, points: float) -> Forecast | None:
    if math.isnan(ts_ms) or points <= 0:
        return None
    return Forecast(round(ts_ms), float(r2), int(points))


class DetectorBank:
    """Anomaly scores and rule transitions for a gateway's channels (indexes as in ``BoundSite.channels``)."""

    def __init__(
        self,
        channels: Sequence[Channel],
        combined: Sequence[CombinedRule] = (),
        anomaly: AnomalyConfig = DEFAULT_ANOMALY,
    ) -> None:
        self.channels = tuple(channels)
        self.anomaly = anomaly
        self.tables = build_tables(self.channels)
        self.joints: tuple[Joint, ...] = resolve(combined, self.channels, self.tables.refs)
        self._phrases = [phrase(ref.rule, self.channels[ref.channel]) for ref in self.tables.refs]
        self._watchers = watchers(self.joints, len(self.tables.refs))
        gateway = split_channel_key(self.channels[0].key)[0] if self.channels else "gateway"
        self._joint_key = channel_key(gateway, COMBINED_DEVICE, COMBINED_POINT)
        self._cfg = anomaly.vector()
        self._ev_int = np.zeros((0, 4), dtype=np.int64)
        self._ev_float = np.zeros((0, 4), dtype=np.float64)
        self._reset()
        self._fingerprint = self._layout_fingerprint()

    @classmethod
    def from_site(cls, site: BoundSite, anomaly: AnomalyConfig = DEFAULT_ANOMALY) -> DetectorBank:
        return cls(site.channels, site.site.combined_rules, anomaly)

    @classmethod
    def from_channels(
        cls,
        channels: Sequence[Channel],
        combined: Sequence[CombinedRule] = (),
        anomaly: AnomalyConfig = DEFAULT_ANOMALY,
    ) -> DetectorBank:
        return cls(channels, combined, anomaly)

    def _reset(self) -> None:
        self.rule_state = self.tables.initial_state()
        self.ring = self.tables.initial_ring()
        self.chan_state = np.zeros((len(self.channels), rk.CH_WIDTH), dtype=np.float64)
        self.chan_state[:, rk.CH_LAST_TS] = -np.inf
        self.det = self.anomaly.initial_state(len(self.channels))
        self.joint_levels = np.zeros(len(self.joints), dtype=np.float64)
        self._counts = {"steps": 0, "samples": 0, "events": 0} | {k.name.lower(): 0 for k in EventKind}

    # ------------------------------------------------------------------ stepping

    def step(self, block: ReadingBlock) -> StepResult:
        """Scores and events of a block. A reading the device marked not available (``NOT_AVAILABLE``:
        warming up, not measured) is missing, not a fault: every rule skips it as if it had not come."""
        missing = (block.quality & NOT_AVAILABLE) != 0
        if not missing.any():
            return self._step(block)
        present = ~missing
        result = self._step(
            ReadingBlock(
                block.channel[present], block.ts_ms[present], block.value[present], block.quality[present]
            )
        )
        scores = np.zeros(len(block), dtype=np.float64)
        scores[present] = result.scores
        return StepResult(scores, result.events)

    def _step(self, block: ReadingBlock) -> StepResult:
        n = len(block)
        scores = np.empty(n, dtype=np.float64)
        # Acquisition's blocks carry their read plan's read-only channel array, and numba types a read-only
        # array apart: both kernels would compile a second time at the first real step (minutes on a Pi,
        # on the event loop, after READY), not at the warm-up. A small copy keeps to one signature.
        channel = block.channel if block.channel.flags.writeable else block.channel.copy()
        bad = anomaly_step(
            channel, block.ts_ms, block.value, block.quality, NO_VALUE_MASK, self._cfg, self.det, scores
        )
        if bad >= 0:
            last = len(self.channels) - 1
            raise ValueError(
                f"block.channel[{bad}] = {block.channel[bad]} is not a channel index (0..{last})"
            )
        cap = n * self.tables.max_rules_per_channel
        if cap > len(self._ev_int):
            self._ev_int = np.zeros((cap, 4), dtype=np.int64)
            self._ev_float = np.zeros((cap, 4), dtype=np.float64)
        before = self.rule_state[:, rk.S_LEVEL].copy() if self.joints else None
        t = self.tables
        n_ev = rk.rules_step(
            channel, block.ts_ms, block.value, block.quality, scores, NO_VALUE_MASK, OUT_OF_RANGE,
            t.chan_ptr, t.chan_rules, t.rule_info, t.params, self.rule_state, self.ring, self.chan_state,
            self._ev_int, self._ev_float,
        )  # fmt: skip
        self._counts["steps"] += 1
        self._counts["samples"] += n
        events = self._events(block, n_ev, before) if n_ev else []
        return StepResult(scores, events)

    def _events(self, block: ReadingBlock, n_ev: int, levels: npt.NDArray[np.float64] | None) -> list[Event]:
        out: list[Event] = []
        rows = self._ev_int[:n_ev]
        ts_ms_of = block.ts_ms[rows[:, rk.EV_SAMPLE]].tolist()
        for (_, r, level, previous), (value, fc_ts, fc_r2, fc_points), ts_ms in zip(
            rows.tolist(), self._ev_float[:n_ev].tolist(), ts_ms_of, strict=True
        ):
            ref = self.tables.refs[r]
            forecast = _forecast(fc_ts, fc_r2, fc_points)
            f = fired(ref.rule, self.channels[ref.channel].unit, level, previous, value,
                      reference_velocity=self._reference_velocity(r))  # fmt: skip
            message = say_fired(self._phrases[r], f, level, previous, value=value, forecast=forecast)
            key = self.channels[ref.channel].key
            out.append(
                Event(key, ts_ms, ref.name, level, previous, value, message, forecast, rule_kind=f.rule_kind,
                      criterion=f.criterion, unit=f.unit, threshold=f.threshold, direction=f.direction)
            )  # fmt: skip
            if levels is not None:
                levels[r] = level
                out += self._joint_events(r, levels, ts_ms, value)
        for ev in out:
            self._counts[_KIND_NAMES.get((ev.previous_level, ev.level)) or ev.kind.name.lower()] += 1
        self._counts["events"] += len(out)
        return out

    def _reference_velocity(self, r: int) -> float:
        """A slope rule's steady-creep velocity: as configured, or as learned so far (NaN: not yet)."""
        given = float(self.tables.params[r, rk.P_VREF])
        return given if not math.isnan(given) else float(self.rule_state[r, rk.S_VREF])

    def _joint_events(self, r: int, levels: npt.NDArray[np.float64], ts_ms: int, value: float) -> list[Event]:
        out = []
        for j in self._watchers[r]:
            joint = self.joints[j]
            level = joint.level_for(levels)
            previous = int(self.joint_levels[j])
            if level != previous:
                self.joint_levels[j] = level
                message = describe_combined(joint.name, joint.message, level, previous)
                out.append(
                    Event(self._joint_key, ts_ms, joint.name, level, previous, value, message,
                          rule_kind="combined", criterion="all_conditions",
                          direction="rising" if level > previous else "falling")
                )  # fmt: skip
        return out

    def warm_up(self) -> WarmUp:
        """Compile both kernels, or load them from numba's cache; what it took and which it compiled."""
        misses = [_cache_misses(kernel) for kernel in KERNELS.values()]
        t0 = time.perf_counter()
        probe = DetectorBank(self.channels[:1] or (), (), self.anomaly) if self.channels else None
        if probe is not None:
            probe.step(ReadingBlock.of([0], [0], [0.0], [0]))
        seconds = time.perf_counter() - t0
        compiled = tuple(
            name
            for (name, kernel), before in zip(KERNELS.items(), misses, strict=True)
            if _cache_misses(kernel) > before
        )
        return WarmUp(seconds, compiled, numba_cache_dir())

    # ------------------------------------------------------------------ status

    def open_alarms(self) -> list[OpenAlarm]:
        out = []
        for r in np.nonzero(self.rule_state[:, rk.S_LEVEL] > 0)[0]:
            ref = self.tables.refs[r]
            row = self.rule_state[r]
            forecast = _forecast(row[rk.S_FC_TS], row[rk.S_FC_R2], row[rk.S_FC_POINTS])
            out.append(
                OpenAlarm(
                    self.channels[ref.channel].key, ref.name, int(row[rk.S_LEVEL]),
                    int(row[rk.S_CHANGED_TS]), float(row[rk.S_CHANGED_VALUE]), forecast,
                )
            )  # fmt: skip
        for j in np.nonzero(self.joint_levels > 0)[0]:
            out.append(OpenAlarm(self._joint_key, self.joints[j].name, int(self.joint_levels[j]), 0, np.nan))
        return out

    def statistics(self) -> dict[str, int]:
        return self._counts | {
            "channels": len(self.channels),
            "rules": len(self.tables.refs),
            "combined_rules": len(self.joints),
            "late_samples": int(self.chan_state[:, rk.CH_LATE].sum()),
            "open_alarms": int((self.rule_state[:, rk.S_LEVEL] > 0).sum() + (self.joint_levels > 0).sum()),
        }

    # ------------------------------------------------------------------ persistence

    def _layout(self) -> dict[str, object]:
        return {
            "version": STATE_VERSION,
            "channels": [c.key for c in self.channels],
            "rules": [[ref.channel, ref.rule.model_dump(mode="json")] for ref in self.tables.refs],
            "combined": [[j.name, j.level, list(j.conditions)] for j in self.joints],
            "anomaly": list(astuple(self.anomaly)),
        }

    def _layout_fingerprint(self) -> str:
        text = json.dumps(self._layout(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def state(self) -> bytes:
        """Everything needed to continue after a restart, as bytes (a numpy .npz archive)."""
        buf = io.BytesIO()
        layout = json.dumps(self._layout(), sort_keys=True).encode()
        np.savez(
            buf,
            fingerprint=np.frombuffer(self._fingerprint.encode(), dtype=np.uint8),
            layout=np.frombuffer(layout, dtype=np.uint8),
            rule_state=self.rule_state, ring=self.ring, chan_state=self.chan_state, det=self.det,
            joint_levels=self.joint_levels,
            counts=np.array([self._counts[k] for k in sorted(self._counts)], dtype=np.int64),
        )  # fmt: skip
        return buf.getvalue()

    def restore(self, state: bytes) -> None:
        """Continue from ``state()``; StateMismatchError if it belongs to another layout."""
        try:
            with np.load(io.BytesIO(state), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError) as e:
            raise StateMismatchError(f"not a detector state: {e}") from None
        fingerprint = bytes(arrays.get("fingerprint", np.zeros(0, np.uint8))).decode(errors="replace")
        if fingerprint != self._fingerprint:
            raise StateMismatchError(self._difference(bytes(arrays.get("layout", np.zeros(0, np.uint8)))))
        self.rule_state, self.ring = arrays["rule_state"], arrays["ring"]
        self.chan_state, self.det = arrays["chan_state"], arrays["det"]
        self.joint_levels = arrays["joint_levels"]
        self._counts = dict(zip(sorted(self._counts), (int(v) for v in arrays["counts"]), strict=True))

    def _difference(self, saved_text: bytes) -> str:
        try:
            saved = json.loads(saved_text)
        except ValueError:
            return "the saved detector state has no readable layout"
        mine = self._layout()
        for key in ("version", "channels", "rules", "combined", "anomaly"):
            if saved.get(key) != mine[key]:
                if key == "channels":
                    a, b = saved.get(key, []), mine[key]
                    assert isinstance(b, list)
                    diff = next((i for i in range(max(len(a), len(b))) if a[i : i + 1] != b[i : i + 1]), 0)
                    return (
                        f"the saved detector state is for another channel layout ({len(a)} channels, "
                        f"this site has {len(b)}; first difference at channel {diff}: "
                        f"{a[diff] if diff < len(a) else None!r} vs {b[diff] if diff < len(b) else None!r})"
                    )
                return f"the saved detector state differs in its {key}; refusing to restore it"
        return "the saved detector state belongs to another layout"
