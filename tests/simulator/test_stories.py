"""Each shipped story, replayed through the gateway's own detector bank, raises what it promises.

No processes here: models sampled at their devices' poll intervals go straight into ``DetectorBank``
(``tests/simulator/replay.py``). The end-to-end test (``tests/e2e/test_demo.py``) checks that the real
processes, buses and uplinks keep the same promise.
"""

from __future__ import annotations

import pytest

from protocols.records import LEVEL_BY_NAME
from simulator import scenario as scenarios
from simulator.demo.outcome import Forecasts, failure_at_s
from tests.simulator.replay import Replay, replay

QUIET_RULES = {"comm", "fault"}  # a faulted device may say it is gone; nothing else


@pytest.fixture(scope="module", params=scenarios.scenario_names())
def story(request: pytest.FixtureRequest) -> tuple[str, Replay]:
    return request.param, replay(request.param)


def raised_levels(levels: list[int]) -> list[int]:
    """The increasing run of levels an alarm reached, ignoring later de-escalations and clears."""
    out: list[int] = []
    for level in levels:
        if level > (out[-1] if out else 0):
            out.append(level)
    return out


def test_every_expected_alarm_passes_its_levels_in_order(story: tuple[str, Replay]) -> None:
    name, r = story
    for exp in scenarios.load(name).scenario.expect:
        want = [int(LEVEL_BY_NAME[level]) for level in exp.levels]
        got = raised_levels(r.levels(exp.channel, exp.rule))
        assert got[: len(want)] == want, f"{name}: {exp.channel} {exp.rule}: {got} (want {want})"


def test_quiet_devices_raise_nothing(story: tuple[str, Replay]) -> None:
    name, r = story
    quiet = set(scenarios.load(name).scenario.quiet)
    noisy = [e for e in r.events if e.channel.split("/")[1] in quiet and e.rule not in QUIET_RULES]
    assert not noisy, f"{name}: {[(e.channel, e.rule, e.level) for e in noisy]}"


def test_the_slope_forecast_converges_on_the_failure_time() -> None:
    loaded = scenarios.load("mine_slope")
    truth = failure_at_s(loaded.scenario, "gnss-e2-crest")
    assert truth == 3.5 * 3600
    r = replay("mine_slope")
    made = [(r.story_s(e.ts_ms), r.story_s(e.forecast.failure_ts_ms))
            for e in r.of("gnss-e2-crest/horizontal_mm", "slope") if e.forecast is not None]  # fmt: skip
    forecasts = Forecasts(truth, made)
    assert forecasts.converged, made
    assert all(abs(f - truth) < 300 for _, f in made[-2:]), made  # in this replay: within 5 minutes


def test_the_same_seed_replays_the_same_events() -> None:
    a, b = replay("tank_farm", seed=5), replay("tank_farm", seed=5)
    assert [(e.channel, e.rule, e.level, e.ts_ms, e.value) for e in a.events] == [
        (e.channel, e.rule, e.level, e.ts_ms, e.value) for e in b.events
    ]
