"""Reporting period: deviation, CUSUM, savings, EnPI, SEC; degree-days."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from gridpilot.analytics.baseline import BaselineFit, Coefficient, lag1_autocorrelation
from gridpilot.analytics.baseline_report import cusum, report
from gridpilot.analytics.degree_days import degree_days_daily, degree_days_hourly
from gridpilot.core.errors import ValidationFailed


def handmade_fit() -> BaselineFit:
    """E = 10 + 2 x production."""
    return BaselineFit(
        energy="energy_kwh",
        drivers=["production_count"],
        granularity="day",
        coefficients=[
            Coefficient("intercept", 10.0, 1.0, 10.0, 0.0),
            Coefficient("production_count", 2.0, 0.1, 20.0, 0.0),
        ],
        n=100,
        p=2,
        r2=0.9,
        adj_r2=0.9,
        cv_rmse_pct=5.0,
        nmbe_pct=0.0,
        rmse=1.0,
        mean_energy=14.0,
        dropped=0,
    )


def test_report_against_hand_computed_values():
    index = pd.date_range("2026-03-02", periods=4, freq="D", tz="UTC")
    frame = pd.DataFrame(
        {"energy_kwh": [13.0, 12.0, 19.0, float("nan")], "production_count": [1.0, 2.0, 3.0, 4.0]},
        index=index,
    )
    result = report(handmade_fit(), frame, production="production_count")
    # predicted 12, 14, 16; deviation +1, -2, +3; CUSUM 1, -1, 2; the NaN day is skipped
    assert [r.predicted for r in result.rows] == [12.0, 14.0, 16.0]
    assert [r.deviation for r in result.rows] == [1.0, -2.0, 3.0]
    assert [r.cusum for r in result.rows] == [1.0, -1.0, 2.0]
    assert (result.n, result.skipped) == (3, 1)
    assert result.actual_kwh == 44.0 and result.predicted_kwh == 42.0
    assert result.deviation_kwh == 2.0 and result.savings_kwh == -2.0
    assert result.savings_pct == pytest.approx(-100 * 2 / 42)
    assert result.enpi == pytest.approx(44 / 42)
    assert result.sec_kwh_per_unit == pytest.approx(44 / 6)
    # residuals 1, -2, 3 with n - p = 1: CV = 100 sqrt(14) / (44/3)
    assert result.cv_rmse_pct == pytest.approx(100 * math.sqrt(14) / (44 / 3))
    assert result.nmbe_pct == pytest.approx(100 * 2 / (1 * 44 / 3))


def test_cusum_ignores_missing_deviations():
    assert list(cusum(pd.Series([1.0, float("nan"), -3.0, 0.5]))) == [1.0, 1.0, -2.0, -1.5]


def test_degree_days_mean_daily_method():
    temps = pd.Series([5.5, 15.5, 20.0, float("nan")])
    assert list(degree_days_daily(temps, 15.5, kind="hdd").iloc[:3]) == [10.0, 0.0, 0.0]
    assert list(degree_days_daily(temps, 18.0, kind="cdd").iloc[:3]) == [0.0, 0.0, 2.0]
    assert math.isnan(degree_days_daily(temps, 15.5).iloc[3])


def test_degree_hours_add_up_to_degree_days():
    hourly = pd.Series([5.5] * 12 + [25.5] * 12)
    assert degree_days_hourly(hourly, 15.5, kind="hdd").sum() == pytest.approx(5.0)
    assert degree_days_hourly(hourly, 15.5, kind="cdd").sum() == pytest.approx(5.0)


def test_degree_days_reject_bad_input():
    with pytest.raises(ValidationFailed):
        degree_days_daily(pd.Series([1.0]), 15.5, kind="gdd")
    with pytest.raises(ValidationFailed):
        degree_days_daily(pd.Series([1.0]), 99.0)


def test_every_savings_figure_carries_its_g14_uncertainty_at_68_and_90_percent():
    index = pd.date_range("2026-03-02", periods=4, freq="D", tz="UTC")
    frame = pd.DataFrame(
        {"energy_kwh": [11.0, 13.0, 15.0, 17.0], "production_count": [1.0, 2.0, 3.0, 4.0]},
        index=index,
    )
    fit = handmade_fit()  # n = 100, p = 2, CV(RMSE) 5 %, rho 0
    result = report(fit, frame)
    assert result.savings_kwh == pytest.approx(4.0)  # predicted 60, actual 56
    found = {u["confidence"]: u for u in result.savings_uncertainty}
    assert sorted(found) == [0.68, 0.90]
    for confidence, figure in found.items():
        # G14 Annex B: U = t x 1.26 x CV x E_pred x sqrt((n / n') (1 + 2 / n) / m), n' = n
        t = stats.t.ppf(1 - (1 - confidence) / 2, 98)
        expected = t * 1.26 * 0.05 * 60.0 * math.sqrt((1 + 2 / 100) / 4)
        assert figure["uncertainty_kwh"] == pytest.approx(expected)
        assert figure["fraction"] == pytest.approx(expected / 4.0)
        assert figure["savings_low_kwh"] == pytest.approx(4.0 - expected)
    # 68 %: t = 1.0, U = 1.0 x 1.26 x 0.05 x 60 x 0.505 = 1.908 kWh, 48 % of the savings:
    # within G14's 50 %
    assert found[0.68]["uncertainty_kwh"] == pytest.approx(1.908, abs=1e-3)
    assert found[0.68]["meets_g14"] is True
    assert found[0.90]["meets_g14"] is None


def test_autocorrelated_residuals_widen_the_uncertainty():
    residuals = pd.Series([1.0, 1.0, 1.0, -1.0, -1.0, -1.0]).to_numpy()
    assert lag1_autocorrelation(residuals) == pytest.approx(3 / 6)
    index = pd.date_range("2026-03-02", periods=4, freq="D", tz="UTC")
    frame = pd.DataFrame({"energy_kwh": [11.0] * 4, "production_count": [1.0] * 4}, index=index)
    plain = report(handmade_fit(), frame).savings_uncertainty[0]["uncertainty_kwh"]
    fit = BaselineFit(**{**handmade_fit().__dict__, "residual_rho": 0.5})
    wide = report(fit, frame).savings_uncertainty[0]
    # n' = n (1 - rho) / (1 + rho) = n / 3: sqrt(3) wider
    assert wide["uncertainty_kwh"] == pytest.approx(plain * math.sqrt(3))
    assert wide["effective_n"] == pytest.approx(100 / 3)
