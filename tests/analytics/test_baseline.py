"""ISO 50001 baseline regression: known coefficients, ASHRAE G14 statistics, verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridpilot.analytics.baseline import (
    BaselineFit,
    ashrae_limits,
    backward_elimination,
    cv_rmse_pct,
    fit_baseline,
    nmbe_pct,
)
from gridpilot.core.errors import ValidationFailed


def synthetic(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """Energy = 50 + 2.5 x production + 8 x HDD + noise(sd 5) [kWh per hour]."""
    rng = np.random.default_rng(seed)
    production = rng.uniform(20, 120, n)
    hdd = rng.uniform(0, 1.0, n)
    energy = 50 + 2.5 * production + 8.0 * hdd + rng.normal(0, 5, n)
    index = pd.date_range("2026-01-05", periods=n, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "energy_kwh": energy,
            "production_count": production,
            "hdd": hdd,
            "noise": rng.normal(0, 1, n),
        },
        index=index,
    )


def verdict(fit: BaselineFit, check: str) -> bool | None:
    return next(v.passed for v in fit.verdicts if v.check == check)


def test_recovers_known_coefficients_and_passes_every_check():
    fit = fit_baseline(
        synthetic(), energy="energy_kwh", drivers=["production_count", "hdd"], granularity="hour"
    )
    for name, true in [("intercept", 50.0), ("production_count", 2.5), ("hdd", 8.0)]:
        c = fit.coefficient(name)
        assert abs(c.estimate - true) < 3 * c.std_error, (name, c)
    assert fit.coefficient("production_count").p_value < 1e-10
    assert fit.n == 2000 and fit.p == 3 and fit.dropped == 0
    assert fit.r2 > 0.95 and fit.adj_r2 <= fit.r2
    assert abs(fit.rmse - 5.0) < 0.3  # the noise's standard deviation
    assert abs(fit.nmbe_pct) < 1e-9  # OLS with intercept: residuals sum to zero
    assert fit.valid
    assert all(v.passed for v in fit.verdicts)


def test_a_random_driver_fails_r2_and_p_value():
    fit = fit_baseline(synthetic(), energy="energy_kwh", drivers=["noise"], granularity="hour")
    assert fit.r2 < 0.01
    assert verdict(fit, "r2") is False
    assert verdict(fit, "p_value:noise") is False
    assert not fit.valid


def test_backward_elimination_drops_the_random_driver():
    kept = backward_elimination(
        synthetic(),
        energy="energy_kwh",
        drivers=["production_count", "noise", "hdd"],
        granularity="hour",
    )
    assert kept == ["production_count", "hdd"]


def test_ashrae_statistics_against_hand_computed_values():
    actual = np.array([10.0, 12.0, 14.0, 16.0])
    # residuals -1, 1, -1, 1: SSE 4, n - p = 2, mean 13 -> CV = 100 sqrt(2) / 13
    assert cv_rmse_pct(actual, np.array([11.0, 11.0, 15.0, 15.0]), 2) == pytest.approx(
        10.87867, 1e-5
    )
    assert nmbe_pct(actual, np.array([11.0, 11.0, 15.0, 15.0]), 2) == pytest.approx(0.0)
    # residuals all +1: NMBE = 100 x 4 / (2 x 13)
    assert nmbe_pct(actual, np.array([9.0, 11.0, 13.0, 15.0]), 2) == pytest.approx(15.384615, 1e-6)
    assert ashrae_limits("month") == (15.0, 5.0)
    assert ashrae_limits("hour") == (30.0, 10.0)
    assert ashrae_limits("day") == (30.0, 10.0)


def test_fit_statistics_match_the_definitions():
    frame = synthetic(200)
    fit = fit_baseline(frame, energy="energy_kwh", drivers=["production_count"], granularity="day")
    predicted = fit.predict(frame).to_numpy()
    actual = frame["energy_kwh"].to_numpy()
    sse = float(np.sum((actual - predicted) ** 2))
    assert fit.cv_rmse_pct == pytest.approx(100 * np.sqrt(sse / (200 - 2)) / actual.mean())
    assert fit.r2 == pytest.approx(1 - sse / np.sum((actual - actual.mean()) ** 2))


def test_observation_rule_applies_only_where_the_granularity_allows():
    daily = synthetic(90)
    fit = fit_baseline(daily, energy="energy_kwh", drivers=["production_count"], granularity="day")
    assert verdict(fit, "observations") is None  # 90 days hold only 90 daily buckets
    hourly = synthetic(1200)
    hourly.iloc[:300, 0] = np.nan  # 900 complete rows of 1200 possible
    fit = fit_baseline(hourly, energy="energy_kwh", drivers=["hdd"], granularity="hour")
    assert fit.n == 900 and fit.dropped == 300
    assert verdict(fit, "observations") is False


def test_monthly_model_is_judged_by_the_monthly_limits():
    rng = np.random.default_rng(1)
    hdd = rng.uniform(0, 400, 24)
    frame = pd.DataFrame({"energy_kwh": 1000 + 3 * hdd + rng.normal(0, 40, 24), "hdd": hdd})
    fit = fit_baseline(frame, energy="energy_kwh", drivers=["hdd"], granularity="month")
    cv = next(v for v in fit.verdicts if v.check == "cv_rmse")
    assert cv.threshold == "<= 15.0 %" and cv.passed is (fit.cv_rmse_pct <= 15.0)


@pytest.mark.parametrize(
    ("drivers", "message"),
    [(["constant"], "constant or collinear"), (["missing"], "columns missing")],
)
def test_unidentifiable_models_are_rejected(drivers, message):
    frame = synthetic(100).assign(constant=1.0)
    with pytest.raises(ValidationFailed, match=message):
        fit_baseline(frame, energy="energy_kwh", drivers=drivers, granularity="day")


def test_too_few_observations_are_rejected():
    with pytest.raises(ValidationFailed, match="complete observations"):
        fit_baseline(synthetic(3), energy="energy_kwh", drivers=["hdd"], granularity="day")


def test_fit_round_trips_through_its_stored_form():
    fit = fit_baseline(synthetic(300), energy="energy_kwh", drivers=["hdd"], granularity="hour")
    again = BaselineFit.from_dict(fit.to_dict())
    assert again == fit
    assert fit.to_dict()["valid"] == fit.valid


def test_a_perfect_fit_has_json_safe_statistics():
    frame = pd.DataFrame({"energy_kwh": [12.0, 14.0, 16.0, 18.0], "x": [1.0, 2.0, 3.0, 4.0]})
    fit = fit_baseline(frame, energy="energy_kwh", drivers=["x"], granularity="day")
    assert fit.coefficient("x").estimate == pytest.approx(2.0)
    values = [fit.r2, fit.adj_r2, fit.cv_rmse_pct, fit.nmbe_pct, fit.rmse]
    values += [v for c in fit.coefficients for v in (c.std_error, c.t_value, c.p_value)]
    assert all(np.isfinite(values))
