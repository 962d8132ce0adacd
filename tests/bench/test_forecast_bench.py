"""The forecast benchmark's peer and scoring do not rot (no accuracy or timing asserted here:
the figures are bench/README.md's)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from forecast import blocks_of, score  # noqa: E402  (bench/ is scripts)
from forecast_data import temperature_forecast  # noqa: E402
from forecast_peer import mstl_ets_forecast  # noqa: E402


def test_the_peer_continues_a_series_of_two_seasons_and_a_level():
    """MSTL + ETS on hourly data (periods 24 and 168): a daily wave, a weekend step and a
    constant level are forecast to within a few percent of their amplitude a week ahead."""
    t = np.arange(4 * 168 + 168)
    y = 100 + 10 * np.sin(2 * np.pi * t / 24) + 8 * ((t % 168) >= 120)
    forecast = mstl_ets_forecast(y[: 4 * 168], 168, (24, 168))
    assert np.abs(forecast - y[4 * 168 :]).max() < 1.5


def test_blocks_cover_every_step_of_the_horizon_once():
    blocks = blocks_of(672)
    steps = [s for name, a, b in blocks if name != "1..H" for s in range(a, b + 1)]
    assert steps == list(range(1, 673))
    assert [name for name, _, _ in blocks_of(96)][-2:] == ["49-96", "1..H"]


def test_a_block_is_scored_on_its_own_steps():
    actual = np.full(96, 100.0)
    forecast = actual.copy()
    forecast[4:12] = 110.0  # wrong by 10 % on steps 5-12 only
    scores = score(actual, forecast, 96)
    assert scores["1-4"] == 0.0 and scores["5-12"] == 10.0 and scores["13-48"] == 0.0


def test_the_weather_forecast_knows_the_past_and_errs_more_a_week_out():
    truth = np.full(2000 + 672, 15.0)
    out = temperature_forecast(truth, 2000, seed=1)
    assert (out[:2000] == 15.0).all()
    errors = [temperature_forecast(truth, 2000, seed=s)[2000:] - 15.0 for s in range(40)]
    spread = np.std(errors, axis=0)
    assert spread[576:].mean() > 3 * spread[:96].mean()
