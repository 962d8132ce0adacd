"""Reporting period against an energy baseline: deviation, CUSUM, savings and EnPI.

Per period (ISO 50006:2014, ISO 50015:2014; IPMVP "avoided energy use"):

    predicted  = the baseline model at the reporting period's driver values     [kWh]
    deviation  = actual - predicted (positive: more energy than expected)        [kWh]
    CUSUM      = running sum of deviation (a falling CUSUM means savings)        [kWh]

Over the whole reporting period:

    savings      = sum(predicted) - sum(actual)   (normalised to the reporting conditions)  [kWh]
    savings_pct  = 100 * savings / sum(predicted)                                           [%]
    EnPI         = sum(actual) / sum(predicted)   (regression-based ratio EnPI, ISO 50006:
                   1.0 = as the baseline, < 1 improvement)                                  [-]
    SEC          = sum(actual) / sum(production) when a production driver exists      [kWh/unit]

Only periods where the actual energy and every driver are known take part. Every savings
figure carries its ASHRAE Guideline 14 uncertainty at 68 % and 90 % confidence
(``savings_uncertainty``: Annex B fractional savings uncertainty, with the baseline residuals'
lag-1 autocorrelation; G14 asks for a fractional uncertainty under 50 % at 68 %).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gridpilot.analytics.baseline import BaselineFit, cv_rmse_pct, nmbe_pct
from gridpilot.analytics.savings_uncertainty import savings_uncertainty

#: Confidence levels reported with every savings figure (ASHRAE G14: 68 %, and 90 %).
SAVINGS_CONFIDENCES = (0.68, 0.90)
#: G14's limit on the fractional savings uncertainty at 68 % confidence.
G14_MAX_FRACTION = 0.5


@dataclass(frozen=True)
class ReportRow:
    ts: pd.Timestamp
    actual: float
    predicted: float
    deviation: float
    cusum: float


@dataclass(frozen=True)
class BaselineReport:
    """Totals [kWh], EnPI [-], and the per-period rows of a reporting period."""

    n: int
    skipped: int  # periods without actual energy or a driver value
    actual_kwh: float
    predicted_kwh: float
    deviation_kwh: float
    savings_kwh: float
    savings_pct: float | None
    enpi: float | None
    sec_kwh_per_unit: float | None
    cv_rmse_pct: float | None
    nmbe_pct: float | None
    rows: list[ReportRow]
    savings_uncertainty: list[dict[str, Any]] = field(default_factory=list)


def cusum(deviation: pd.Series) -> pd.Series:
    """Cumulative sum of deviations (actual - predicted) [kWh]; NaN deviations add nothing."""
    return deviation.fillna(0.0).cumsum()


def report(
    fit: BaselineFit, frame: pd.DataFrame, *, production: str | None = None
) -> BaselineReport:
    """Compare ``frame[fit.energy]`` with the baseline's prediction from ``frame``'s drivers.

    ``production`` names a driver column holding production counts for the SEC figure.
    """
    predicted = fit.predict(frame)
    actual = frame[fit.energy].astype("float64") if fit.energy in frame else None
    if actual is None:
        actual = pd.Series(np.nan, index=frame.index)
    usable = actual.notna() & predicted.notna()
    actual, predicted = actual[usable], predicted[usable]
    deviation = actual - predicted
    running = cusum(deviation)
    total_actual = float(actual.sum())
    total_predicted = float(predicted.sum())
    n = int(usable.sum())
    sec = None
    if production is not None and production in frame and n:
        units = float(frame.loc[usable, production].sum())
        sec = total_actual / units if units > 0 else None
    statistics = _fit_statistics(actual, predicted, fit.p)
    return BaselineReport(
        n=n,
        skipped=int(len(frame) - n),
        actual_kwh=total_actual,
        predicted_kwh=total_predicted,
        deviation_kwh=total_actual - total_predicted,
        savings_kwh=total_predicted - total_actual,
        savings_pct=(
            100.0 * (total_predicted - total_actual) / total_predicted if total_predicted else None
        ),
        enpi=total_actual / total_predicted if n and total_predicted else None,
        sec_kwh_per_unit=sec,
        cv_rmse_pct=statistics[0],
        nmbe_pct=statistics[1],
        rows=[
            ReportRow(ts, float(a), float(p), float(d), float(c))
            for ts, a, p, d, c in zip(
                actual.index, actual, predicted, deviation, running, strict=True
            )
        ],
        savings_uncertainty=uncertainty_figures(
            fit, total_predicted - total_actual, total_predicted, n
        ),
    )


def uncertainty_figures(
    fit: BaselineFit, savings_kwh: float, predicted_kwh: float, m_reporting: int
) -> list[dict[str, Any]]:
    """The savings' uncertainty at each of ``SAVINGS_CONFIDENCES`` (empty when undefined)."""
    rho = min(max(fit.residual_rho, 0.0), 0.99)  # negative rho would claim more than n points
    out = []
    for confidence in SAVINGS_CONFIDENCES:
        found = savings_uncertainty(
            savings_kwh=savings_kwh,
            predicted_kwh=predicted_kwh,
            cv_rmse_pct=fit.cv_rmse_pct,
            n_baseline=fit.n,
            n_params=fit.p,
            m_reporting=m_reporting,
            confidence=confidence,
            rho=rho,
        )
        if found is None:
            continue
        out.append(
            {
                "confidence": confidence,
                "uncertainty_kwh": found.uncertainty_kwh,
                "fraction": found.fraction,
                "savings_low_kwh": savings_kwh - found.uncertainty_kwh,
                "savings_high_kwh": savings_kwh + found.uncertainty_kwh,
                "t_value": found.t_value,
                "effective_n": found.effective_n,
                "rho": rho,
                "meets_g14": (
                    None
                    if confidence != 0.68 or found.fraction is None
                    else found.fraction < G14_MAX_FRACTION
                ),
            }
        )
    return out


def _fit_statistics(
    actual: pd.Series, predicted: pd.Series, n_params: int
) -> tuple[float | None, float | None]:
    """CV(RMSE) and NMBE [%] of the model on this period, None when undefined."""
    if len(actual) <= n_params or float(actual.mean()) == 0.0:
        return None, None
    y, yhat = actual.to_numpy(), predicted.to_numpy()
    return cv_rmse_pct(y, yhat, n_params), nmbe_pct(y, yhat, n_params)
