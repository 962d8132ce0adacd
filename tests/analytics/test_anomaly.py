"""Anomaly detectors: residual z-score severities, Isolation Forest, Mann-Kendall trend test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridpilot.analytics.anomaly import isolation_findings, residual_zscores, severity_of_z
from gridpilot.analytics.anomaly_trend import mann_kendall, trend_severity
from gridpilot.core.errors import ValidationFailed

HOURS = pd.date_range("2026-01-05", periods=24 * 14, freq="h", tz="UTC")


def test_zscore_flags_injected_spikes_with_their_severity():
    rng = np.random.default_rng(3)
    predicted = pd.Series(100.0, index=HOURS)
    noise = np.clip(rng.normal(0, 0.5, len(HOURS)), -1.5, 1.5)  # below 2 sigma everywhere
    actual = predicted + noise
    actual.iloc[10] = 100 + 2.5  # warning
    actual.iloc[50] = 100 + 4.0  # critical
    actual.iloc[90] = 100 - 3.2  # critical, below the baseline
    _, findings = residual_zscores(actual, predicted, sigma=1.0)
    by_time = {f.ts: f for f in findings}
    assert set(by_time) == {HOURS[10], HOURS[50], HOURS[90]}
    assert by_time[HOURS[10]].severity == "warning"
    assert by_time[HOURS[50]].severity == "critical"
    assert by_time[HOURS[90]].severity == "critical"
    assert by_time[HOURS[90]].detail["z"] == pytest.approx(-3.2)


def test_severity_thresholds_are_two_and_three_sigma():
    assert [severity_of_z(z) for z in (1.99, 2.0, -2.5, 2.99, 3.0, -7)] == [
        None, "warning", "warning", "warning", "critical", "critical",
    ]  # fmt: skip
    with pytest.raises(ValidationFailed):
        residual_zscores(pd.Series([1.0]), pd.Series([1.0]), sigma=0.0)


def compressor(n: int, seed: int) -> pd.DataFrame:
    """Power, pressure and flow of a compressor following a daily load cycle."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=n, freq="15min", tz="UTC")
    load = 0.5 + 0.4 * np.sin(np.arange(n) / 96 * 2 * np.pi)
    return pd.DataFrame(
        {
            "power_kw": 20 + 50 * load + rng.normal(0, 1.5, n),
            "flow_m3h": 100 + 400 * load + rng.normal(0, 10, n),
            "pressure_bar": 7.2 - 0.3 * load + rng.normal(0, 0.03, n),
        },
        index=index,
    )


def test_isolation_forest_finds_injected_multi_metric_faults():
    data = compressor(2000, seed=11)
    rng = np.random.default_rng(5)
    faults = np.sort(rng.choice(np.arange(50, 1950), 15, replace=False))
    # power up by a third of its range while flow and pressure look normal: no single metric
    # leaves its usual range, the combination does
    data.iloc[faults, 0] += 25
    data.iloc[faults, 2] -= 0.15
    findings = isolation_findings(data, contamination=0.01)
    flagged = {f.ts for f in findings}
    injected = set(data.index[faults])
    assert len(flagged & injected) >= 12  # recall >= 80 %
    assert len(flagged - injected) <= 10  # at most 0.5 % false alarms
    assert {f.severity for f in findings} <= {"warning", "critical"}


def test_isolation_forest_is_quiet_on_clean_data():
    findings = isolation_findings(compressor(2000, seed=12), contamination=0.01)
    assert len(findings) <= 20  # at most the contamination share


def test_isolation_forest_needs_two_metrics_and_enough_rows():
    with pytest.raises(ValidationFailed, match="two metrics"):
        isolation_findings(compressor(200, 1)[["power_kw"]])
    with pytest.raises(ValidationFailed, match="rows"):
        isolation_findings(compressor(10, 1))


def pressure(leak_bar_per_day: float, seed: int) -> pd.Series:
    """Hourly pressure with a daily cycle, autocorrelated noise and an optional leak."""
    rng = np.random.default_rng(seed)
    n = len(HOURS)
    noise = np.zeros(n)
    for k in range(1, n):
        noise[k] = 0.5 * noise[k - 1] + rng.normal(0, 0.03)
    hours = np.arange(n)
    values = 7.0 + 0.15 * np.sin(hours / 24 * 2 * np.pi) + noise
    return pd.Series(values - leak_bar_per_day * hours / 24, index=HOURS)


def test_trend_test_detects_a_slow_pressure_loss():
    result = mann_kendall(pressure(0.03, seed=4))  # 0.42 bar lost over 14 days
    assert result.p_value < 0.001
    assert result.slope_per_day == pytest.approx(-0.03, abs=0.005)
    assert result.change == pytest.approx(-0.03 * 335 / 24, abs=0.07)
    assert trend_severity(result, min_change=0.14) == "critical"
    assert trend_severity(result, direction="increasing") is None


@pytest.mark.parametrize("seed", range(5))
def test_trend_test_leaves_a_stationary_series_alone(seed):
    result = mann_kendall(pressure(0.0, seed=seed))
    assert abs(result.change) < 0.14
    assert trend_severity(result, min_change=0.14) is None


def test_trend_test_accounts_for_the_daily_cycle():
    series = pressure(0.0, seed=1)
    cycle_only = pd.Series(7.0 + 0.3 * np.sin(np.arange(len(HOURS)) / 24 * 2 * np.pi), HOURS)
    assert mann_kendall(cycle_only).p_value > 0.5
    assert mann_kendall(series).variance_factor >= 1.0
    with pytest.raises(ValidationFailed, match="at least"):
        mann_kendall(series.iloc[:5])
